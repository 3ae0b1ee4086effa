package server

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/structpb"

	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/internal/gen/sundial/v1/sundialv1connect"
)

// TestReportTasksAppliesEachItem: one ReportTasks call completes and fails
// runs as CompleteTask and FailTask would, and answers each item on its
// own: a stale attempt, an unknown token and a result that is not JSON are
// rejected without failing the rest. Over Connect and over gRPC.
func TestReportTasksAppliesEachItem(t *testing.T) {
	t.Parallel()
	rb := setupRuns(t, nil)
	for _, proto := range []struct {
		name   string
		worker sundialv1connect.WorkerServiceClient
	}{{"connect", rb.worker}, {"grpc", rb.grpcWorker}} {
		t.Run(proto.name, func(t *testing.T) {
			ctx := context.Background()
			wf := func(i int) string { return fmt.Sprintf("rep-%s-%d", proto.name, i) }
			for i := range 4 {
				rb.start(t, &pb.StartWorkflowRequest{WorkflowId: wf(i), TaskQueue: "rep-" + proto.name})
			}
			tasks := rb.poll(t, "rep-"+proto.name, 4, time.Second)
			if len(tasks) != 4 {
				t.Fatalf("polled %d tasks, want 4", len(tasks))
			}
			byWF := map[string]*pb.Task{}
			for _, tk := range tasks {
				byWF[tk.GetWorkflowId()] = tk
			}
			// Task 3's attempt is made stale: it is completed first, alone.
			if err := rb.complete(t, byWF[wf(3)].GetTaskToken(), structpb.NewStringValue("first")); err != nil {
				t.Fatal(err)
			}
			res, err := proto.worker.ReportTasks(ctx, connect.NewRequest(&pb.ReportTasksRequest{
				Completions: []*pb.CompleteTaskRequest{
					{TaskToken: byWF[wf(0)].GetTaskToken(), Result: structpb.NewStringValue("zero")},
					{TaskToken: byWF[wf(3)].GetTaskToken(), Result: structpb.NewStringValue("again")},
					{TaskToken: "not-a-token"},
					{TaskToken: byWF[wf(1)].GetTaskToken(), Result: structpb.NewNumberValue(math.NaN())},
				},
				Failures: []*pb.FailTaskRequest{
					{TaskToken: byWF[wf(2)].GetTaskToken(), Message: "boom", Type: "Boom"},
				},
			}))
			if err != nil {
				t.Fatalf("ReportTasks: %v", err)
			}
			wantCodes := func(what string, got []*pb.TaskReportResult, want ...connect.Code) {
				t.Helper()
				if len(got) != len(want) {
					t.Fatalf("%s: %d results, want %d", what, len(got), len(want))
				}
				for i, r := range got {
					if connect.Code(r.GetCode()) != want[i] {
						t.Errorf("%s[%d]: code %s (%q), want %s", what, i, connect.Code(r.GetCode()), r.GetMessage(), want[i])
					}
					if (r.GetCode() == 0) != (r.GetMessage() == "") {
						t.Errorf("%s[%d]: code %d with message %q", what, i, r.GetCode(), r.GetMessage())
					}
				}
			}
			wantCodes("completions", res.Msg.GetCompletions(), 0, connect.CodeFailedPrecondition, connect.CodeInvalidArgument, connect.CodeInvalidArgument)
			wantCodes("failures", res.Msg.GetFailures(), 0)

			if r := rb.describe(t, wf(0), ""); r.GetStatus() != pb.WorkflowStatus_WORKFLOW_STATUS_COMPLETED || r.GetResult().GetStringValue() != "zero" {
				t.Errorf("run 0: %s, result %v; want COMPLETED with \"zero\"", r.GetStatus(), r.GetResult())
			}
			if r := rb.describe(t, wf(3), ""); r.GetResult().GetStringValue() != "first" {
				t.Errorf("run 3: result %v; the stale completion must not overwrite \"first\"", r.GetResult())
			}
			if r := rb.describe(t, wf(1), ""); r.GetStatus() != pb.WorkflowStatus_WORKFLOW_STATUS_RUNNING {
				t.Errorf("run 1: %s; a rejected completion must leave it RUNNING", r.GetStatus())
			}
			if r := rb.describe(t, wf(2), ""); r.GetStatus() != pb.WorkflowStatus_WORKFLOW_STATUS_FAILED || r.GetFailure().GetMessage() != "boom" {
				t.Errorf("run 2: %s, failure %v; want FAILED with \"boom\"", r.GetStatus(), r.GetFailure())
			}
			// A failure for an attempt that is no longer current is rejected too.
			res, err = proto.worker.ReportTasks(ctx, connect.NewRequest(&pb.ReportTasksRequest{
				Failures: []*pb.FailTaskRequest{{TaskToken: byWF[wf(0)].GetTaskToken(), Message: "late"}},
			}))
			if err != nil {
				t.Fatalf("ReportTasks: %v", err)
			}
			wantCodes("late failure", res.Msg.GetFailures(), connect.CodeFailedPrecondition)
		})
	}
}

// TestReportTasksRejectsOversizedBatch: more than maxReportTasks items is
// InvalidArgument for the whole call.
func TestReportTasksRejectsOversizedBatch(t *testing.T) {
	t.Parallel()
	rb := setupRuns(t, nil)
	req := &pb.ReportTasksRequest{}
	for range maxReportTasks + 1 {
		req.Completions = append(req.Completions, &pb.CompleteTaskRequest{TaskToken: "x"})
	}
	_, err := rb.worker.ReportTasks(context.Background(), connect.NewRequest(req))
	wantCode(t, err, connect.CodeInvalidArgument)
}
