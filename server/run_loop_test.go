package server

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/sundial-dev/sundial/internal/clock"
	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/internal/gen/sundial/v1/sundialv1connect"
	"github.com/sundial-dev/sundial/internal/testredis"
)

// TestRunLoopDrivesDelayedStart runs the real loops: once the fake clock
// passes a delayed start, the loop promotes the run and a waiting long
// poll receives it, without a test calling tick.
func TestRunLoopDrivesDelayedStart(t *testing.T) {
	t.Parallel()
	b := testredis.New(t)
	fc := clock.NewFake(runsEpoch)
	srv, err := New(Config{Redis: b.Client, KeyPrefix: b.Prefix, Clock: fc, Partitions: 2, PollInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	loopDone := make(chan error, 1)
	go func() { loopDone <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-loopDone; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	wf := sundialv1connect.NewWorkflowServiceClient(hs.Client(), hs.URL)
	wk := sundialv1connect.NewWorkerServiceClient(hs.Client(), hs.URL)

	if _, err := wf.StartWorkflow(ctx, connect.NewRequest(&pb.StartWorkflowRequest{
		Namespace: b.Namespace, WorkflowId: "loop", WorkflowType: "T", TaskQueue: "q", StartDelay: durationpb.New(time.Minute),
	})); err != nil {
		t.Fatal(err)
	}
	fc.Advance(time.Minute)
	res, err := wk.PollTasks(ctx, connect.NewRequest(&pb.PollTasksRequest{Namespace: b.Namespace, TaskQueue: "q", Wait: durationpb.New(30 * time.Second)}))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Msg.Tasks) != 1 || res.Msg.Tasks[0].WorkflowId != "loop" {
		t.Fatalf("poll = %v, want the delayed run", res.Msg.Tasks)
	}
}
