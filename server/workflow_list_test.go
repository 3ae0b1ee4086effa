package server

import (
	"context"
	"fmt"
	"testing"
	"time"

	"connectrpc.com/connect"

	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
)

func TestWorkflowList(t *testing.T) {
	t.Parallel()
	forEachRunsBackend(t, func(t *testing.T, rb *runsBundle) {
		ctx := context.Background()
		var ids []string // in start order
		for i := range 9 {
			typ := "A"
			if i%3 == 0 {
				typ = "B"
			}
			wf := fmt.Sprintf("l-%d", i)
			rb.start(t, &pb.StartWorkflowRequest{WorkflowId: wf, WorkflowType: typ})
			ids = append(ids, wf)
			rb.clock.Advance(time.Millisecond)
		}
		if _, err := rb.rc.starter().Start(ctx, runsStartReq(rb.ns, "from-schedule")); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, "from-schedule")
		// Page through everything, newest first.
		var got []string
		token := ""
		for page := 0; ; page++ {
			res, err := rb.workflow.ListWorkflows(ctx, connect.NewRequest(&pb.ListWorkflowsRequest{Namespace: rb.ns, PageSize: 4, PageToken: token}))
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res.Msg.Runs {
				got = append(got, r.WorkflowId)
			}
			token = res.Msg.NextPageToken
			if token == "" {
				break
			}
			if page > 5 {
				t.Fatal("pagination does not end")
			}
		}
		if len(got) != len(ids) {
			t.Fatalf("listed %v, want %d runs", got, len(ids))
		}
		for i := range ids {
			if got[i] != ids[len(ids)-1-i] {
				t.Fatalf("listed %v, want newest first", got)
			}
		}
		count := func(req *pb.ListWorkflowsRequest) int {
			t.Helper()
			req.Namespace = rb.ns
			res, err := rb.grpcWorkflow.ListWorkflows(ctx, connect.NewRequest(req))
			if err != nil {
				t.Fatal(err)
			}
			return len(res.Msg.Runs)
		}
		if n := count(&pb.ListWorkflowsRequest{WorkflowType: "B"}); n != 3 {
			t.Errorf("type B: %d runs, want 3", n)
		}
		if n := count(&pb.ListWorkflowsRequest{ScheduleId: "sched-1"}); n != 1 {
			t.Errorf("schedule: %d runs, want 1", n)
		}
		task := rb.poll(t, "", 1, time.Second)[0]
		if err := rb.complete(t, task.TaskToken, nil); err != nil {
			t.Fatal(err)
		}
		if n := count(&pb.ListWorkflowsRequest{Status: pb.WorkflowStatus_WORKFLOW_STATUS_COMPLETED}); n != 1 {
			t.Errorf("completed: %d runs, want 1", n)
		}
		wantA := 6
		if task.WorkflowType == "A" {
			wantA--
		}
		if n := count(&pb.ListWorkflowsRequest{Status: pb.WorkflowStatus_WORKFLOW_STATUS_PENDING, WorkflowType: "A"}); n != wantA {
			t.Errorf("pending A: %d runs, want %d", n, wantA)
		}
		if n := count(&pb.ListWorkflowsRequest{TaskQueue: "other"}); n != 0 {
			t.Errorf("queue other: %d runs, want 0", n)
		}
		_, err := rb.workflow.ListWorkflows(ctx, connect.NewRequest(&pb.ListWorkflowsRequest{Namespace: rb.ns, PageToken: "!!"}))
		wantCode(t, err, connect.CodeInvalidArgument)
	})
}
