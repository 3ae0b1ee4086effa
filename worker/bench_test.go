package worker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/sundial-dev/sundial/internal/convert"
	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
)

// BenchmarkWorkerNoop measures the worker's own cost per run (poll batch,
// goroutine, heartbeat setup, JSON, report) against a fake service that
// answers at once.
func BenchmarkWorkerNoop(b *testing.B) {
	svc := newFakeService()
	svc.completed = make(chan *pb.CompleteTaskRequest, 1024)
	w := newWorker(svc, "ns", "q", Options{MaxConcurrentRuns: 64, PollWait: time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	w.RegisterWorkflow("noop", func(_ context.Context, in struct{ N int }) (int, error) { return in.N, nil })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		for i := range b.N {
			svc.tasks <- benchTask(i)
		}
	}()
	for range b.N {
		<-svc.completed
	}
	b.StopTimer()
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

func benchTask(i int) *pb.Task {
	t := &pb.Task{TaskToken: fmt.Sprint(i), WorkflowId: "wf", RunId: "run", WorkflowType: "noop", Attempt: 1}
	t.Input, _ = convert.JSONValue([]byte(`{"N":1}`))
	return t
}
