package server

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"

	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/internal/runs"
)

func TestWorkflowStartRejectsBadInput(t *testing.T) {
	t.Parallel()
	rb := setupRuns(t, nil)
	valid := func() *pb.StartWorkflowRequest {
		return &pb.StartWorkflowRequest{Namespace: rb.ns, WorkflowId: "wf", WorkflowType: "T", TaskQueue: "q"}
	}
	tests := []struct {
		name  string
		edit  func(r *pb.StartWorkflowRequest)
		field string
	}{
		{"bad task queue", func(r *pb.StartWorkflowRequest) { r.TaskQueue = "no spaces" }, "task_queue"},
		{"empty task queue", func(r *pb.StartWorkflowRequest) { r.TaskQueue = "" }, "task_queue"},
		{"empty type", func(r *pb.StartWorkflowRequest) { r.WorkflowType = "" }, "workflow_type"},
		{"bad workflow id", func(r *pb.StartWorkflowRequest) { r.WorkflowId = "a|b" }, "workflow_id"},
		{"negative delay", func(r *pb.StartWorkflowRequest) { r.StartDelay = durationpb.New(-time.Second) }, "start_delay"},
		{"delay with cron", func(r *pb.StartWorkflowRequest) {
			r.StartDelay, r.CronSchedule = durationpb.New(time.Second), "*/5 * * * *"
		}, "start_delay"},
		{"bad cron", func(r *pb.StartWorkflowRequest) { r.CronSchedule = "61 * * * *" }, "cron_schedule"},
		{"max interval below initial", func(r *pb.StartWorkflowRequest) {
			r.RetryPolicy = &pb.RetryPolicy{InitialInterval: durationpb.New(10 * time.Second), MaximumInterval: durationpb.New(time.Second)}
		}, "retry_policy.maximum_interval"},
		{"coefficient below one", func(r *pb.StartWorkflowRequest) {
			r.RetryPolicy = &pb.RetryPolicy{BackoffCoefficient: 0.5}
		}, "retry_policy.backoff_coefficient"},
		{"input not JSON", func(r *pb.StartWorkflowRequest) { r.Input = structpb.NewNumberValue(math.NaN()) }, "input"},
		{"negative run timeout", func(r *pb.StartWorkflowRequest) { r.RunTimeout = durationpb.New(-time.Second) }, "run_timeout"},
		{"unknown reuse policy", func(r *pb.StartWorkflowRequest) { r.IdReusePolicy = 99 }, "id_reuse_policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := valid()
			tt.edit(req)
			for name, cl := range map[string]interface {
				StartWorkflow(context.Context, *connect.Request[pb.StartWorkflowRequest]) (*connect.Response[pb.StartWorkflowResponse], error)
			}{"connect": rb.workflow, "grpc": rb.grpcWorkflow} {
				_, err := cl.StartWorkflow(context.Background(), connect.NewRequest(req))
				wantCode(t, err, connect.CodeInvalidArgument)
				if !strings.Contains(err.Error(), tt.field+":") {
					t.Errorf("%s: error %q does not name field %s", name, err, tt.field)
				}
			}
		})
	}
}

func TestWorkflowStartIDReuse(t *testing.T) {
	t.Parallel()
	forEachRunsBackend(t, func(t *testing.T, rb *runsBundle) {
		ctx := context.Background()
		first := rb.start(t, &pb.StartWorkflowRequest{WorkflowId: "wf", RequestId: "req-1"})
		// A retried start with the same request id returns the same run.
		if again := rb.start(t, &pb.StartWorkflowRequest{WorkflowId: "wf", RequestId: "req-1"}); again != first {
			t.Fatalf("retried start got run %s, want %s", again, first)
		}
		_, err := rb.workflow.StartWorkflow(ctx, connect.NewRequest(&pb.StartWorkflowRequest{Namespace: rb.ns, WorkflowId: "wf", WorkflowType: "T", TaskQueue: "q1"}))
		wantCode(t, err, connect.CodeAlreadyExists)

		// TERMINATE_IF_RUNNING replaces the open run.
		second := rb.start(t, &pb.StartWorkflowRequest{WorkflowId: "wf", IdReusePolicy: pb.IdReusePolicy_ID_REUSE_POLICY_TERMINATE_IF_RUNNING})
		if second == first {
			t.Fatal("TERMINATE_IF_RUNNING returned the old run")
		}
		if st := rb.describe(t, "wf", first).Status; st != pb.WorkflowStatus_WORKFLOW_STATUS_TERMINATED {
			t.Fatalf("old run status = %s, want TERMINATED", st)
		}
		if got := rb.describe(t, "wf", "").RunId; got != second {
			t.Fatalf("latest run = %s, want %s", got, second)
		}
		// Close it successfully; FAILED_ONLY and REJECT_DUPLICATE refuse, ALLOW_DUPLICATE starts.
		tasks := rb.poll(t, "", 10, time.Second)
		if len(tasks) != 1 || tasks[0].RunId != second {
			t.Fatalf("polled %v, want only run %s (the terminated one must not be delivered)", tasks, second)
		}
		if err := rb.complete(t, tasks[0].TaskToken, nil); err != nil {
			t.Fatal(err)
		}
		for _, p := range []pb.IdReusePolicy{pb.IdReusePolicy_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY, pb.IdReusePolicy_ID_REUSE_POLICY_REJECT_DUPLICATE} {
			_, err := rb.workflow.StartWorkflow(ctx, connect.NewRequest(&pb.StartWorkflowRequest{Namespace: rb.ns, WorkflowId: "wf", WorkflowType: "T", TaskQueue: "q1", IdReusePolicy: p}))
			wantCode(t, err, connect.CodeAlreadyExists)
		}
		third := rb.start(t, &pb.StartWorkflowRequest{WorkflowId: "wf"})
		if third == second {
			t.Fatal("ALLOW_DUPLICATE returned the closed run")
		}
	})
}

func TestWorkflowStarterIfNotExists(t *testing.T) {
	t.Parallel()
	forEachRunsBackend(t, func(t *testing.T, rb *runsBundle) {
		ctx := context.Background()
		st := rb.rc.starter()
		req := runsStartReq(rb.ns, "sched-wf")
		a, err := st.Start(ctx, req)
		if err != nil || a.Existing {
			t.Fatalf("first Start = %+v, %v", a, err)
		}
		b, err := st.Start(ctx, req)
		if err != nil || !b.Existing || b.RunID != a.RunID {
			t.Fatalf("second Start = %+v, %v; want existing %s", b, err, a.RunID)
		}
		bad := req
		bad.TaskQueue = "bad queue"
		if _, err := st.Start(ctx, bad); connect.CodeOf(toConnect(err)) != connect.CodeInvalidArgument {
			t.Fatalf("Start with a bad queue: %v, want InvalidArgument", err)
		}
		sts, err := st.Statuses(ctx, rb.ns, []runs.RunRef{{WorkflowID: "sched-wf", RunID: a.RunID}, {WorkflowID: "sched-wf", RunID: "no-such-run"}})
		if err != nil || len(sts) != 2 || sts[0].String() != "PENDING" || sts[1] != runs.StatusUnspecified {
			t.Fatalf("Statuses = %v, %v; want [PENDING UNSPECIFIED]", sts, err)
		}
	})
}

// TestWorkflowStartBatch: each item of a StartWorkflows call gets what
// StartWorkflow would have given it, and a bad item starts nothing.
func TestWorkflowStartBatch(t *testing.T) {
	t.Parallel()
	forEachRunsBackend(t, func(t *testing.T, rb *runsBundle) {
		ctx := context.Background()
		item := func(wf string) *pb.StartWorkflowRequest {
			return &pb.StartWorkflowRequest{Namespace: rb.ns, WorkflowId: wf, WorkflowType: "T", TaskQueue: "q1"}
		}
		open := rb.start(t, &pb.StartWorkflowRequest{WorkflowId: "open"})
		bad := item("bad")
		bad.StartDelay = durationpb.New(-time.Second)
		res, err := rb.workflow.StartWorkflows(ctx, connect.NewRequest(&pb.StartWorkflowsRequest{
			Requests: []*pb.StartWorkflowRequest{item("a"), bad, item("open"), item("b")},
		}))
		if err != nil {
			t.Fatal(err)
		}
		got := res.Msg.GetResults()
		if len(got) != 4 {
			t.Fatalf("%d results, want 4", len(got))
		}
		for _, i := range []int{0, 3} {
			if got[i].GetCode() != 0 || got[i].GetRunId() == "" {
				t.Errorf("item %d = %v, want a started run", i, got[i])
			} else if d := rb.describe(t, []string{"a", "", "", "b"}[i], got[i].GetRunId()); d.Status != pb.WorkflowStatus_WORKFLOW_STATUS_PENDING {
				t.Errorf("item %d: run status %s, want PENDING", i, d.Status)
			}
		}
		if c := connect.Code(got[1].GetCode()); c != connect.CodeInvalidArgument || !strings.Contains(got[1].GetMessage(), "start_delay:") {
			t.Errorf("bad item = %v, want InvalidArgument naming start_delay", got[1])
		}
		_, err = rb.workflow.DescribeWorkflow(ctx, connect.NewRequest(&pb.DescribeWorkflowRequest{Namespace: rb.ns, WorkflowId: "bad"}))
		wantCode(t, err, connect.CodeNotFound)
		if c := connect.Code(got[2].GetCode()); c != connect.CodeAlreadyExists || !strings.Contains(got[2].GetMessage(), open) {
			t.Errorf("duplicate item = %v, want AlreadyExists naming run %s", got[2], open)
		}

		for _, n := range []int{0, maxStartBatch + 1} {
			reqs := make([]*pb.StartWorkflowRequest, n)
			for i := range reqs {
				reqs[i] = item(fmt.Sprintf("over-%d", i))
			}
			_, err := rb.workflow.StartWorkflows(ctx, connect.NewRequest(&pb.StartWorkflowsRequest{Requests: reqs}))
			wantCode(t, err, connect.CodeInvalidArgument)
			if !strings.Contains(err.Error(), "requests:") {
				t.Errorf("%d starts: error %q does not name requests", n, err)
			}
		}
		_, err = rb.workflow.DescribeWorkflow(ctx, connect.NewRequest(&pb.DescribeWorkflowRequest{Namespace: rb.ns, WorkflowId: "over-0"}))
		wantCode(t, err, connect.CodeNotFound)
	})
}
