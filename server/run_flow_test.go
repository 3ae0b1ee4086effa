package server

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"

	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
)

func TestRunStartPollComplete(t *testing.T) {
	t.Parallel()
	forEachRunsBackend(t, func(t *testing.T, rb *runsBundle) {
		in, _ := structpb.NewValue(map[string]any{"n": 1.0})
		rid := rb.start(t, &pb.StartWorkflowRequest{WorkflowId: "wf-1", Input: in})
		if got := rb.describe(t, "wf-1", "").Status; got != pb.WorkflowStatus_WORKFLOW_STATUS_PENDING {
			t.Fatalf("status after start = %s, want PENDING", got)
		}
		tasks := rb.poll(t, "", 5, time.Second)
		if len(tasks) != 1 {
			t.Fatalf("got %d tasks, want 1", len(tasks))
		}
		task := tasks[0]
		if task.RunId != rid || task.Attempt != 1 || task.WorkflowType != "Echo" || task.Input.GetStructValue().Fields["n"].GetNumberValue() != 1 {
			t.Fatalf("task = %v", task)
		}
		if got := rb.describe(t, "wf-1", rid).Status; got != pb.WorkflowStatus_WORKFLOW_STATUS_RUNNING {
			t.Fatalf("status after poll = %s, want RUNNING", got)
		}
		hb, err := rb.worker.HeartbeatTask(context.Background(), connect.NewRequest(&pb.HeartbeatTaskRequest{TaskToken: task.TaskToken}))
		if err != nil || hb.Msg.CancelRequested {
			t.Fatalf("HeartbeatTask = %v, %v", hb, err)
		}
		out, _ := structpb.NewValue("done")
		if err := rb.complete(t, task.TaskToken, out); err != nil {
			t.Fatalf("CompleteTask: %v", err)
		}
		res, err := rb.grpcWorkflow.GetWorkflowResult(context.Background(), connect.NewRequest(&pb.GetWorkflowResultRequest{Namespace: rb.ns, WorkflowId: "wf-1", Wait: durationpb.New(time.Second)}))
		if err != nil {
			t.Fatalf("GetWorkflowResult: %v", err)
		}
		if !res.Msg.Closed || res.Msg.Run.Status != pb.WorkflowStatus_WORKFLOW_STATUS_COMPLETED || res.Msg.Run.Result.GetStringValue() != "done" {
			t.Fatalf("result = %v", res.Msg)
		}
		if n := len(res.Msg.Run.Attempts); n != 1 || res.Msg.Run.Attempts[0].EndTime == nil || res.Msg.Run.Attempts[0].WorkerIdentity != "test-worker" {
			t.Fatalf("attempts = %v", res.Msg.Run.Attempts)
		}
		wantCode(t, rb.complete(t, task.TaskToken, out), connect.CodeFailedPrecondition)
	})
}
