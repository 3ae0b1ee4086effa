package server

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
)

// TestCancelledPollPutsClaimedTasksBack: a PollTasks whose caller went
// away after it claimed tasks puts them straight back on the queue, with
// their attempts forgotten, instead of leaving them leased until their
// heartbeat timeout.
func TestCancelledPollPutsClaimedTasksBack(t *testing.T) {
	t.Parallel()
	forEachRunsBackend(t, func(t *testing.T, rb *runsBundle) {
		ids := []string{"rel-1", "rel-2"}
		for _, id := range ids {
			rb.start(t, &pb.StartWorkflowRequest{WorkflowId: id, TaskQueue: "rel"})
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		rb.rc.pollClaimed = cancel // the caller goes away right after the claim
		h := &workerHandler{c: rb.rc}
		_, err := h.PollTasks(ctx, connect.NewRequest(&pb.PollTasksRequest{
			Namespace: rb.ns, TaskQueue: "rel", MaxTasks: 10, Wait: durationpb.New(time.Second), Identity: "gone",
		}))
		wantCode(t, err, connect.CodeCanceled)
		rb.rc.pollClaimed = nil

		for _, id := range ids {
			r := rb.describe(t, id, "")
			if r.GetStatus() != pb.WorkflowStatus_WORKFLOW_STATUS_PENDING || r.GetAttempt() != 0 || len(r.GetAttempts()) != 0 {
				t.Errorf("%s after the cancelled poll: %s, attempt %d, %d attempts recorded; want PENDING with none",
					id, r.GetStatus(), r.GetAttempt(), len(r.GetAttempts()))
			}
		}
		tasks := rb.poll(t, "rel", 10, 0)
		if len(tasks) != len(ids) {
			t.Fatalf("the next poll got %d tasks, want %d", len(tasks), len(ids))
		}
		for _, tk := range tasks {
			if tk.GetAttempt() != 1 {
				t.Errorf("%s delivered as attempt %d, want 1", tk.GetWorkflowId(), tk.GetAttempt())
			}
			if err := rb.complete(t, tk.GetTaskToken(), nil); err != nil {
				t.Errorf("complete %s: %v", tk.GetWorkflowId(), err)
			}
		}
	})
}
