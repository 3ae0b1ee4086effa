package server

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/internal/testredis"
)

// TestScheduleRunLoopUsesTheWallClock runs the production loop (run) with
// the real clock and waits, with a deadline, for a fire two seconds away.
func TestScheduleRunLoopUsesTheWallClock(t *testing.T) {
	t.Parallel()
	rb := testredis.New(t)
	st := newFakeStarter()
	started := make(chan string, 1)
	st.failBefore = func(wf string) error {
		select {
		case started <- wf:
		default:
		}
		return nil
	}
	cfg := Config{Redis: rb.Client, KeyPrefix: rb.Prefix, Partitions: 4, PollInterval: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}.WithDefaults()
	comp, err := newSchedulesComponent(&cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Truncate(time.Second).Add(2 * time.Second)
	_, err = comp.handler.CreateSchedule(context.Background(), connect.NewRequest(&pb.CreateScheduleRequest{Namespace: rb.Namespace, ScheduleId: "wall",
		Schedule: &pb.Schedule{Spec: &pb.ScheduleSpec{At: []*timestamppb.Timestamp{timestamppb.New(at)}}, Action: &pb.StartWorkflowAction{WorkflowType: "wf", TaskQueue: "q"}}}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- comp.run(ctx) }()
	select {
	case wf := <-started:
		if want := "wall-" + at.Format(time.RFC3339); wf != want {
			t.Fatalf("started %s, want %s", wf, want)
		}
		if time.Now().Before(at) {
			t.Fatal("fired before its time")
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the loop did not fire within 15s")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}
