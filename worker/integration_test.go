package worker_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/sundial-dev/sundial/client"
	"github.com/sundial-dev/sundial/internal/testredis"
	"github.com/sundial-dev/sundial/internal/testserver"
	"github.com/sundial-dev/sundial/worker"
)

// serverEnv is a real server (loops running) on a test Redis, served over
// loopback HTTP, and a client in the test's namespace.
type serverEnv struct {
	url       string
	namespace string
	c         *client.Client
}

func setupServer(t *testing.T) *serverEnv {
	t.Helper()
	ts := testserver.Start(t, testserver.Options{})
	c, err := client.NewLazy(client.Options{Address: ts.URL, Namespace: ts.Namespace})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &serverEnv{url: ts.URL, namespace: ts.Namespace, c: c}
}

// runWorker runs w until the test ends.
func runWorker(t *testing.T, w *worker.Worker) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// TestHeartbeatsKeepALongRunLeased runs a workflow for several heartbeat
// timeouts: without the worker's automatic heartbeats the lease would lapse
// and the run would be redelivered as attempt 2.
func TestHeartbeatsKeepALongRunLeased(t *testing.T) {
	t.Parallel()
	env := setupServer(t)
	queue := "hb-" + testredis.RandomID()
	w := worker.New(env.c, queue, worker.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	const hbTimeout = 300 * time.Millisecond
	w.RegisterWorkflow("Long", func(ctx context.Context) (int, error) {
		// The workload: run for four heartbeat timeouts.
		t := time.NewTimer(4 * hbTimeout)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return 0, context.Cause(ctx)
		case <-t.C:
		}
		return worker.GetInfo(ctx).Attempt, nil
	})
	runWorker(t, w)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := env.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: queue, HeartbeatTimeout: hbTimeout}, "Long", nil)
	if err != nil {
		t.Fatal(err)
	}
	var attempt int
	if err := run.Get(ctx, &attempt); err != nil {
		t.Fatal(err)
	}
	d, err := env.c.DescribeWorkflow(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		t.Fatal(err)
	}
	if attempt != 1 || len(d.Attempts) != 1 {
		t.Errorf("completed by attempt %d with %d attempts recorded; the lease lapsed", attempt, len(d.Attempts))
	}
}
