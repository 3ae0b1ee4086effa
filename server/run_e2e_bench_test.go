package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/sundial-dev/sundial/client"
	"github.com/sundial-dev/sundial/internal/testredis"
	"github.com/sundial-dev/sundial/worker"
)

// BenchmarkRunEndToEnd measures no-op runs through the whole product in
// one process: the Go client starts them (4 goroutines), a worker (the
// worker package, 50 concurrent runs) executes them, and the benchmark
// ends when every run has completed on the server. It reports runs/s.
func BenchmarkRunEndToEnd(b *testing.B) {
	rb := testredis.New(b)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := New(Config{Redis: rb.Client, KeyPrefix: rb.Prefix, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var bg sync.WaitGroup
	bg.Go(func() { _ = srv.Run(ctx) })
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	c, err := client.Dial(ctx, client.Options{Address: hs.URL, Namespace: rb.Namespace})
	if err != nil {
		b.Fatal(err)
	}
	w := worker.New(c, "e2e", worker.Options{MaxConcurrentRuns: 50, Pollers: 4, Logger: quiet})
	worker.RegisterFunc(w, "Noop", func(context.Context, struct{}) (struct{}, error) {
		return struct{}{}, nil
	})
	wctx, stopWorker := context.WithCancel(ctx)
	bg.Go(func() { _ = w.Run(wctx) })
	defer func() { stopWorker(); cancel(); bg.Wait() }()

	runsCh := make(chan client.WorkflowRun, b.N)
	b.ResetTimer()
	start := time.Now()
	var starters sync.WaitGroup
	per := (b.N + 3) / 4
	for s := range 4 {
		starters.Go(func() {
			for i := s * per; i < min(b.N, (s+1)*per); i++ {
				run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("e2e-%d", i), TaskQueue: "e2e"}, "Noop", struct{}{})
				if err != nil {
					b.Error(err)
					return
				}
				runsCh <- run
			}
		})
	}
	starters.Wait()
	close(runsCh)
	for run := range runsCh {
		if err := run.Get(ctx, nil); err != nil {
			b.Fatalf("run %s: %v", run.GetID(), err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "runs/s")
}
