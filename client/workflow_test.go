package client_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sundial-dev/sundial/client"
	"github.com/sundial-dev/sundial/internal/testredis"
	"github.com/sundial-dev/sundial/internal/testserver"
	"github.com/sundial-dev/sundial/internal/testsync"
	"github.com/sundial-dev/sundial/schedule"
	"github.com/sundial-dev/sundial/server"
	"github.com/sundial-dev/sundial/worker"
)

// wfBundle is a real server on a test Redis, a client in the test's own
// namespace, and a worker on a fresh task queue.
type wfBundle struct {
	c     *client.Client
	w     *worker.Worker
	queue string
}

func setupWorkflows(t *testing.T) *wfBundle {
	t.Helper()
	ts := testserver.Start(t, testserver.Options{PollInterval: 10 * time.Millisecond})
	c, err := client.NewLazy(client.Options{Address: ts.URL, Namespace: ts.Namespace, Identity: "workflow-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	queue := "q-" + testredis.RandomID()
	quiet := slog.New(slog.DiscardHandler)
	w := worker.New(c, queue, worker.Options{Logger: quiet, GracePeriod: time.Second, Identity: "test-worker"})
	return &wfBundle{c: c, w: w, queue: queue}
}

// run starts the worker until the test ends.
func (b *wfBundle) run(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker Run: %v", err)
		}
	})
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

type order struct {
	Item string `json:"item"`
	Qty  int    `json:"qty"`
}

type receipt struct {
	Total int `json:"total"`
}

func TestExecuteWorkflowAndGetResult(t *testing.T) {
	t.Parallel()
	b := setupWorkflows(t)
	b.w.RegisterWorkflow("Order", func(_ context.Context, o order) (receipt, error) {
		return receipt{Total: 3 * o.Qty}, nil
	})
	b.run(t)
	ctx := testCtx(t)
	run, err := b.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "order-1", TaskQueue: b.queue, Memo: map[string]any{"k": "v"}}, "Order", order{Item: "tea", Qty: 4})
	if err != nil {
		t.Fatal(err)
	}
	if run.GetID() != "order-1" || run.GetRunID() == "" {
		t.Fatalf("run = %q/%q", run.GetID(), run.GetRunID())
	}
	var r receipt
	if err := run.Get(ctx, &r); err != nil {
		t.Fatal(err)
	}
	if r.Total != 12 {
		t.Errorf("total = %d, want 12", r.Total)
	}
	// A handle made without a network call sees the same run.
	var again receipt
	if err := b.c.GetWorkflow("order-1", "").Get(ctx, &again); err != nil || again != r {
		t.Errorf("GetWorkflow(latest).Get = %v, %v", again, err)
	}
	d, err := b.c.DescribeWorkflow(ctx, "order-1", run.GetRunID())
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != client.WorkflowStatusCompleted || d.WorkflowType != "Order" || d.TaskQueue != b.queue || d.Attempt != 1 {
		t.Errorf("description = %+v", d)
	}
	if string(d.Input) != `{"item":"tea","qty":4}` || string(d.Result) != `{"total":12}` || string(d.Memo["k"]) != `"v"` {
		t.Errorf("input %s result %s memo %v", d.Input, d.Result, d.Memo)
	}
	if d.Origin.ClientIdentity != "workflow-test" || len(d.Attempts) != 1 || d.Attempts[0].WorkerIdentity != "test-worker" {
		t.Errorf("origin %+v attempts %+v", d.Origin, d.Attempts)
	}
	if d.CreateTime.IsZero() || d.CloseTime.Before(d.CreateTime) {
		t.Errorf("create %v close %v", d.CreateTime, d.CloseTime)
	}
}

func TestExecuteWorkflowGeneratesIDAndRejectsOpenDuplicate(t *testing.T) {
	t.Parallel()
	b := setupWorkflows(t) // no worker: runs stay open
	ctx := testCtx(t)
	run, err := b.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: b.queue}, "Any", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.GetID()) != 26 {
		t.Errorf("generated id %q is not a ULID", run.GetID())
	}
	_, err = b.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: run.GetID(), TaskQueue: b.queue}, "Any", nil)
	if !errors.Is(err, client.ErrWorkflowAlreadyStarted) || !errors.Is(err, client.ErrAlreadyExists) {
		t.Errorf("second start: %v, want ErrWorkflowAlreadyStarted", err)
	}
	d, err := b.c.DescribeWorkflow(ctx, run.GetID(), "")
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != client.WorkflowStatusPending || d.RunID != run.GetRunID() {
		t.Errorf("status %s run %s", d.Status, d.RunID)
	}
}

func TestExecuteWorkflowRejectsBadInput(t *testing.T) {
	t.Parallel()
	b := setupWorkflows(t)
	ctx := testCtx(t)
	cases := []struct {
		name  string
		opts  client.StartWorkflowOptions
		typ   string
		field string
	}{
		{"empty type", client.StartWorkflowOptions{TaskQueue: b.queue}, "", "workflow_type"},
		{"bad queue", client.StartWorkflowOptions{TaskQueue: "no spaces"}, "T", "task_queue"},
		{"negative delay", client.StartWorkflowOptions{TaskQueue: b.queue, StartDelay: -time.Second}, "T", "start_delay"},
		{"delay and cron", client.StartWorkflowOptions{TaskQueue: b.queue, StartDelay: time.Second, CronSchedule: "* * * * *"}, "T", "cron_schedule"},
		{"max interval below initial", client.StartWorkflowOptions{TaskQueue: b.queue,
			RetryPolicy: &schedule.RetryPolicy{InitialInterval: time.Minute, MaximumInterval: time.Second}}, "T", "retry_policy"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := b.c.ExecuteWorkflow(ctx, c.opts, c.typ, nil)
			if !errors.Is(err, client.ErrInvalidArgument) {
				t.Fatalf("err = %v, want ErrInvalidArgument", err)
			}
			var ce *client.Error
			if !errors.As(err, &ce) || !strings.Contains(ce.Field+" "+ce.Message, c.field) {
				t.Errorf("err = %v does not name field %s", err, c.field)
			}
		})
	}
	if _, err := b.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: b.queue}, "T", func() {}); err == nil {
		t.Error("input that is not JSON was accepted")
	}
}

func TestFailedRunReturnsWorkflowFailedError(t *testing.T) {
	t.Parallel()
	b := setupWorkflows(t)
	b.w.RegisterWorkflow("Declined", func(context.Context) error {
		return worker.NewNonRetryableError("PaymentDeclined", "card refused")
	})
	b.run(t)
	ctx := testCtx(t)
	run, err := b.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: b.queue,
		RetryPolicy: &schedule.RetryPolicy{InitialInterval: 10 * time.Millisecond, MaximumAttempts: 5}}, "Declined", nil)
	if err != nil {
		t.Fatal(err)
	}
	err = run.Get(ctx, nil)
	var wfe *client.WorkflowFailedError
	if !errors.As(err, &wfe) {
		t.Fatalf("Get = %v, want *WorkflowFailedError", err)
	}
	if wfe.Status != client.WorkflowStatusFailed || wfe.Failure == nil || wfe.Failure.Type != "PaymentDeclined" || !wfe.Failure.NonRetryable {
		t.Errorf("error = %+v failure %+v", wfe, wfe.Failure)
	}
	d, err := b.c.DescribeWorkflow(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Attempts) != 1 {
		t.Errorf("a non-retryable error was retried: %d attempts", len(d.Attempts))
	}
}

func TestRetryableFailureIsRetried(t *testing.T) {
	t.Parallel()
	b := setupWorkflows(t)
	var calls atomic.Int32
	b.w.RegisterWorkflow("Flaky", func(ctx context.Context) (int, error) {
		if calls.Add(1) == 1 {
			panic("first attempt blows up")
		}
		return worker.GetInfo(ctx).Attempt, nil
	})
	b.run(t)
	ctx := testCtx(t)
	run, err := b.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: b.queue,
		RetryPolicy: &schedule.RetryPolicy{InitialInterval: 10 * time.Millisecond, MaximumAttempts: 3}}, "Flaky", nil)
	if err != nil {
		t.Fatal(err)
	}
	var attempt int
	if err := run.Get(ctx, &attempt); err != nil {
		t.Fatal(err)
	}
	if attempt != 2 {
		t.Errorf("succeeded on attempt %d, want 2", attempt)
	}
	d, err := b.c.DescribeWorkflow(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Attempts) != 2 || d.Attempts[0].Failure == nil || d.Attempts[0].Failure.Type != worker.FailureTypePanic ||
		!strings.Contains(d.Attempts[0].Failure.StackTrace, "workflow_test.go") {
		t.Errorf("attempts = %+v", d.Attempts)
	}
}

func TestCancelStopsTheWorkflowCooperatively(t *testing.T) {
	t.Parallel()
	b := setupWorkflows(t)
	started := make(chan struct{}, 1)
	causes := make(chan error, 1)
	b.w.RegisterWorkflow("Waits", func(ctx context.Context) error {
		started <- struct{}{}
		<-ctx.Done()
		causes <- context.Cause(ctx)
		return ctx.Err()
	})
	b.run(t)
	ctx := testCtx(t)
	run, err := b.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: b.queue, HeartbeatTimeout: 300 * time.Millisecond}, "Waits", nil)
	if err != nil {
		t.Fatal(err)
	}
	testsync.Recv(t, started, "the run to start")
	if err := b.c.CancelWorkflow(ctx, run.GetID(), run.GetRunID(), "user asked"); err != nil {
		t.Fatal(err)
	}
	if cause := testsync.Recv(t, causes, "the workflow's context to end"); !errors.Is(cause, worker.ErrCancelRequested) {
		t.Errorf("cause = %v", cause)
	}
	var wfe *client.WorkflowFailedError
	if err := run.Get(ctx, nil); !errors.As(err, &wfe) || wfe.Status != client.WorkflowStatusCanceled {
		t.Errorf("Get = %v, want a CANCELED run", err)
	}
}

func TestTerminateClosesAtOnceAndCancelsTheWorker(t *testing.T) {
	t.Parallel()
	b := setupWorkflows(t)
	started := make(chan struct{}, 1)
	causes := make(chan error, 1)
	b.w.RegisterWorkflow("Waits", func(ctx context.Context) error {
		started <- struct{}{}
		<-ctx.Done()
		causes <- context.Cause(ctx)
		return nil // a late "success" the server must reject
	})
	b.run(t)
	ctx := testCtx(t)
	run, err := b.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: b.queue, HeartbeatTimeout: 300 * time.Millisecond}, "Waits", nil)
	if err != nil {
		t.Fatal(err)
	}
	testsync.Recv(t, started, "the run to start")
	if err := b.c.TerminateWorkflow(ctx, run.GetID(), "", "stop now"); err != nil {
		t.Fatal(err)
	}
	var wfe *client.WorkflowFailedError
	if err := run.Get(ctx, nil); !errors.As(err, &wfe) || wfe.Status != client.WorkflowStatusTerminated {
		t.Errorf("Get = %v, want a TERMINATED run", err)
	}
	if cause := testsync.Recv(t, causes, "the workflow's context to end"); !errors.Is(cause, worker.ErrRunClosed) {
		t.Errorf("cause = %v, want ErrRunClosed", cause)
	}
	if err := b.c.TerminateWorkflow(ctx, run.GetID(), run.GetRunID(), "again"); !errors.Is(err, client.ErrFailedPrecondition) && !errors.Is(err, client.ErrNotFound) {
		t.Errorf("terminating a closed run: %v", err)
	}
	d, err := b.c.DescribeWorkflow(ctx, run.GetID(), run.GetRunID())
	if err != nil || d.Status != client.WorkflowStatusTerminated {
		t.Errorf("after the late completion: %+v, %v", d, err)
	}
}

func TestMissingRunIsNotFound(t *testing.T) {
	t.Parallel()
	b := setupWorkflows(t)
	ctx := testCtx(t)
	if _, err := b.c.DescribeWorkflow(ctx, "nope", ""); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("Describe: %v", err)
	}
	if err := b.c.GetWorkflow("nope", "").Get(ctx, nil); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("Get: %v", err)
	}
	if err := b.c.CancelWorkflow(ctx, "nope", "", ""); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("Cancel: %v", err)
	}
}

func TestStartDelayKeepsTheRunScheduled(t *testing.T) {
	t.Parallel()
	b := setupWorkflows(t)
	ctx := testCtx(t)
	run, err := b.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: b.queue, StartDelay: time.Hour}, "Later", nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := b.c.DescribeWorkflow(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != client.WorkflowStatusScheduled || d.ScheduledTime.Sub(d.CreateTime) < 59*time.Minute {
		t.Errorf("status %s, scheduled %v, created %v", d.Status, d.ScheduledTime, d.CreateTime)
	}
}

func TestListWorkflowsPagesAndFilters(t *testing.T) {
	t.Parallel()
	b := setupWorkflows(t)
	ctx := testCtx(t)
	want := map[string]bool{}
	for range 5 {
		run, err := b.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: b.queue}, "Listed", nil)
		if err != nil {
			t.Fatal(err)
		}
		want[run.GetID()] = true
	}
	if _, err := b.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: b.queue}, "Other", nil); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for d, err := range b.c.ListWorkflows(ctx, client.ListWorkflowsOptions{WorkflowType: "Listed", PageSize: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		if d.WorkflowType != "Listed" || got[d.WorkflowID] {
			t.Errorf("unexpected or repeated run %s (%s)", d.WorkflowID, d.WorkflowType)
		}
		got[d.WorkflowID] = true
	}
	if len(got) != len(want) {
		t.Errorf("listed %d runs, want %d", len(got), len(want))
	}
	n := 0
	for _, err := range b.c.ListWorkflows(ctx, client.ListWorkflowsOptions{Status: client.WorkflowStatusCompleted}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 0 {
		t.Errorf("%d completed runs listed, want 0", n)
	}
	// Stopping early does not fetch further pages.
	for range b.c.ListWorkflows(ctx, client.ListWorkflowsOptions{PageSize: 1}) {
		break
	}
}

// loseFirstStart passes every request to h, but answers the first
// StartWorkflow with 503 after h has handled it: a start whose response is
// lost on the way back.
type loseFirstStart struct {
	h    http.Handler
	lost atomic.Bool
}

func (l *loseFirstStart) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/StartWorkflow") || l.lost.Swap(true) {
		l.h.ServeHTTP(w, r)
		return
	}
	l.h.ServeHTTP(httptest.NewRecorder(), r)
	http.Error(w, "proxy lost the response", http.StatusServiceUnavailable)
}

func TestStartWhoseResponseIsLostIsRetriedOnce(t *testing.T) {
	t.Parallel()
	rb := testredis.New(t)
	srv, err := server.New(server.Config{Redis: rb.Client, KeyPrefix: rb.Prefix, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	lossy := &loseFirstStart{h: srv.Handler()}
	ts := httptest.NewServer(lossy)
	t.Cleanup(ts.Close)
	// HTTP/1.1, so that every call goes through the lossy handler.
	c, err := client.NewLazy(client.Options{Address: ts.URL, Namespace: rb.Namespace, HTTPClient: &http.Client{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx := testCtx(t)
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "lossy", TaskQueue: "q"}, "T", nil)
	if err != nil {
		t.Fatalf("start after a lost response: %v", err)
	}
	if !lossy.lost.Load() {
		t.Fatal("the first response was not dropped")
	}
	d, err := c.DescribeWorkflow(ctx, "lossy", "")
	if err != nil {
		t.Fatal(err)
	}
	if d.RunID != run.GetRunID() {
		t.Errorf("retried start returned run %s, the latest run is %s", run.GetRunID(), d.RunID)
	}
	n := 0
	for _, err := range c.ListWorkflows(ctx, client.ListWorkflowsOptions{WorkflowType: "T"}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 {
		t.Errorf("%d runs after a retried start, want 1", n)
	}
}
