package worker

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/sundial-dev/sundial/internal/testsync"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// HTTP/2 client connections idle in the pool after integration tests.
		goleak.IgnoreTopFunction("golang.org/x/net/http2.(*clientConnReadLoop).run"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
	)
}

type testBundle struct {
	svc  *fakeService
	w    *Worker
	stop func() // cancels Run and waits for it
}

// setup returns a worker on a fake service; start runs it until cleanup.
func setup(t *testing.T, opts Options) *testBundle {
	t.Helper()
	svc := newFakeService()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.PollWait == 0 {
		opts.PollWait = time.Second
	}
	return &testBundle{svc: svc, w: newWorker(svc, "ns", "q", opts)}
}

func (b *testBundle) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.w.Run(ctx) }()
	var stopped atomic.Bool
	b.stop = func() {
		if stopped.Swap(true) {
			return
		}
		cancel()
		if err := testsync.Recv(t, done, "Run to return"); err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(b.stop)
}

type greetIn struct {
	Name string `json:"name"`
}
type greetOut struct {
	Greeting string `json:"greeting"`
}

func TestRegisteredShapesDecodeInputAndEncodeResult(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	var ranNoInput atomic.Bool
	b.w.RegisterWorkflow("full", func(_ context.Context, in greetIn) (greetOut, error) {
		return greetOut{Greeting: "hello " + in.Name}, nil
	})
	b.w.RegisterWorkflow("noinput", func(context.Context) error { ranNoInput.Store(true); return nil })
	b.w.RegisterWorkflow("inonly", func(_ context.Context, n int) error {
		if n != 42 {
			return errors.New("wrong input")
		}
		return nil
	})
	b.w.RegisterWorkflow("outonly", func(context.Context) ([]string, error) { return []string{"a", "b"}, nil })
	RegisterFunc(b.w, "typed", func(_ context.Context, in *greetIn) (map[string]int, error) {
		if in != nil {
			return nil, errors.New("missing input should leave the zero value")
		}
		return map[string]int{"x": 1}, nil
	})
	b.start(t)

	cases := []struct {
		token, typ string
		input      any
		want       string
	}{
		{"t1", "full", greetIn{Name: "ada"}, `{"greeting":"hello ada"}`},
		{"t2", "noinput", nil, ""},
		{"t3", "inonly", 42, ""},
		{"t4", "outonly", nil, `["a","b"]`},
		{"t5", "typed", nil, `{"x":1}`},
	}
	for _, c := range cases {
		b.svc.push(t, c.token, c.typ, c.input, 0)
	}
	got := map[string]string{}
	for range cases {
		req := testsync.Recv(t, b.svc.completed, "a completion")
		got[req.GetTaskToken()] = ""
		if req.GetResult() != nil {
			raw, _ := json.Marshal(req.GetResult().AsInterface())
			got[req.GetTaskToken()] = string(raw)
		}
	}
	expectNone(t, b.svc.failed, "failure")
	for _, c := range cases {
		if got[c.token] != c.want {
			t.Errorf("%s (%s): result %q, want %q", c.token, c.typ, got[c.token], c.want)
		}
	}
	if !ranNoInput.Load() {
		t.Error("the no-input workflow did not run")
	}
}

func TestRegisterRejectsBadShapes(t *testing.T) {
	t.Parallel()
	cases := map[string]any{
		"not a function": 42,
		"nil":            nil,
		"no context":     func(int) error { return nil },
		"no error":       func(context.Context) int { return 0 },
		//lint:ignore ST1008 a deliberately wrong shape
		"error not last":      func(context.Context) (error, int) { return nil, 0 },
		"too many inputs":     func(context.Context, int, int) error { return nil },
		"too many outputs":    func(context.Context) (int, int, error) { return 0, 0, nil },
		"variadic":            func(context.Context, ...int) error { return nil },
		"context not first":   func(int, context.Context) error { return nil },
		"typed nil function":  (func(context.Context) error)(nil),
		"concrete error type": func(context.Context) *ApplicationError { return nil },
	}
	for name, fn := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newWorker(newFakeService(), "ns", "q", Options{})
			defer func() {
				if recover() == nil {
					t.Errorf("RegisterWorkflow(%T) did not panic", fn)
				}
			}()
			w.RegisterWorkflow("wf", fn)
		})
	}
	t.Run("duplicate", func(t *testing.T) {
		t.Parallel()
		w := newWorker(newFakeService(), "ns", "q", Options{})
		w.RegisterWorkflow("wf", func(context.Context) error { return nil })
		defer func() {
			if recover() == nil {
				t.Error("registering a name twice did not panic")
			}
		}()
		w.RegisterWorkflow("wf", func(context.Context) error { return nil })
	})
}

func TestFailuresCarryTypeAndRetryability(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	b.w.RegisterWorkflow("nonretryable", func(context.Context) error {
		return NewNonRetryableError("PaymentDeclined", "card refused")
	})
	b.w.RegisterWorkflow("wrapped", func(context.Context) error {
		return errors.Join(errors.New("context"), NewApplicationError("Flaky", "try again"))
	})
	b.w.RegisterWorkflow("plain", func(context.Context) error { return errors.New("boom") })
	b.w.RegisterWorkflow("badinput", func(context.Context, int) error { return nil })
	b.start(t)
	b.svc.push(t, "a", "nonretryable", nil, 0)
	b.svc.push(t, "b", "wrapped", nil, 0)
	b.svc.push(t, "c", "plain", nil, 0)
	b.svc.push(t, "d", "badinput", "not a number", 0)
	b.svc.push(t, "e", "unregistered", nil, 0)
	type want struct {
		typ          string
		nonRetryable bool
		msg          string
	}
	wants := map[string]want{
		"a": {"PaymentDeclined", true, "card refused"},
		"b": {"Flaky", false, "try again"},
		"c": {"errors.errorString", false, "boom"},
		"d": {FailureTypeInputDecode, true, "decode input"},
		"e": {FailureTypeUnknownWorkflow, false, `"unregistered" is not registered`},
	}
	for range wants {
		f := testsync.Recv(t, b.svc.failed, "a failure")
		w := wants[f.GetTaskToken()]
		if f.GetType() != w.typ || f.GetNonRetryable() != w.nonRetryable || !strings.Contains(f.GetMessage(), w.msg) {
			t.Errorf("%s: got type %q non-retryable %v message %q; want %q %v containing %q",
				f.GetTaskToken(), f.GetType(), f.GetNonRetryable(), f.GetMessage(), w.typ, w.nonRetryable, w.msg)
		}
	}
	expectNone(t, b.svc.completed, "completion")
}

func TestPanicFailsTheAttemptAndTheWorkerGoesOn(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{MaxConcurrentRuns: 1})
	b.w.RegisterWorkflow("panics", func(context.Context) error { panicInWorkflow(); return nil })
	b.w.RegisterWorkflow("fine", func(context.Context) (int, error) { return 7, nil })
	b.start(t)
	b.svc.push(t, "p", "panics", nil, 0)
	f := testsync.Recv(t, b.svc.failed, "the panic's failure")
	if f.GetType() != FailureTypePanic || f.GetNonRetryable() || !strings.Contains(f.GetMessage(), "deliberate") {
		t.Errorf("failure = %v", f)
	}
	if !strings.Contains(f.GetStackTrace(), "panicInWorkflow") {
		t.Errorf("stack trace does not name the panicking function:\n%s", f.GetStackTrace())
	}
	b.svc.push(t, "f", "fine", nil, 0)
	if c := testsync.Recv(t, b.svc.completed, "a completion after the panic"); c.GetResult().GetNumberValue() != 7 {
		t.Errorf("result = %v, want 7", c.GetResult())
	}
}

func panicInWorkflow() { panic("deliberate") }

func TestHeartbeatCancelRequestCancelsTheWorkflow(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	b.svc.hbCancel["c"] = true
	b.w.RegisterWorkflow("waits", func(ctx context.Context) error {
		<-ctx.Done()
		if !errors.Is(context.Cause(ctx), ErrCancelRequested) {
			return errors.New("wrong cause: " + context.Cause(ctx).Error())
		}
		return ctx.Err()
	})
	b.start(t)
	b.svc.push(t, "c", "waits", nil, 30*time.Millisecond)
	f := testsync.Recv(t, b.svc.failed, "the cancelled attempt's failure")
	if f.GetType() != FailureTypeCanceled || !f.GetNonRetryable() {
		t.Errorf("failure = %v, want a non-retryable %s", f, FailureTypeCanceled)
	}
}

func TestHeartbeatRejectedMeansRunClosed(t *testing.T) {
	t.Parallel()
	for _, code := range []connect.Code{connect.CodeNotFound, connect.CodeFailedPrecondition} {
		t.Run(code.String(), func(t *testing.T) {
			t.Parallel()
			b := setup(t, Options{})
			b.svc.hbErr["x"] = connect.NewError(code, errors.New("run terminated"))
			causes := make(chan error, 1)
			b.w.RegisterWorkflow("waits", func(ctx context.Context) error {
				<-ctx.Done()
				causes <- context.Cause(ctx)
				return ctx.Err()
			})
			b.start(t)
			b.svc.push(t, "x", "waits", nil, 30*time.Millisecond)
			if cause := testsync.Recv(t, causes, "the workflow's context to end"); !errors.Is(cause, ErrRunClosed) {
				t.Errorf("cause = %v, want ErrRunClosed", cause)
			}
			b.stop()
			expectNone(t, b.svc.failed, "failure report for a closed run")
			expectNone(t, b.svc.completed, "completion for a closed run")
		})
	}
}

func TestHeartbeatsFollowTheTaskTimeoutAndInfoIsSet(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	infos := make(chan Info, 1)
	release := make(chan struct{})
	b.w.RegisterWorkflow("slow", func(ctx context.Context) error {
		infos <- GetInfo(ctx)
		<-release
		return nil
	})
	b.start(t)
	b.svc.push(t, "h", "slow", nil, 60*time.Millisecond)
	info := testsync.Recv(t, infos, "the workflow to start")
	if info.WorkflowID != "wf-h" || info.RunID != "run-h" || info.Attempt != 1 || info.TaskQueue != "q" {
		t.Errorf("info = %+v", info)
	}
	for range 3 {
		if tok := testsync.Recv(t, b.svc.beat, "a heartbeat"); tok != "h" {
			t.Errorf("heartbeat for %q", tok)
		}
	}
	close(release)
	testsync.Recv(t, b.svc.completed, "the completion")
}

func TestConcurrencyIsBoundedBySlots(t *testing.T) {
	t.Parallel()
	const slots = 3
	b := setup(t, Options{MaxConcurrentRuns: slots, Pollers: 2})
	var running, peak atomic.Int32
	started := make(chan struct{}, 20)
	release := make(chan struct{})
	b.w.RegisterWorkflow("block", func(context.Context) error {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		started <- struct{}{}
		<-release
		running.Add(-1)
		return nil
	})
	b.start(t)
	for i := range 10 {
		b.svc.push(t, string(rune('a'+i)), "block", nil, 0)
	}
	for range slots {
		testsync.Recv(t, started, "a run to start")
	}
	expectNone(t, started, "run beyond the slot count")
	close(release)
	for range 10 {
		testsync.Recv(t, b.svc.completed, "a completion")
	}
	if p := peak.Load(); p > slots {
		t.Errorf("peak concurrency %d > %d slots", p, slots)
	}
	b.svc.mu.Lock()
	defer b.svc.mu.Unlock()
	if b.svc.maxAsked > slots {
		t.Errorf("a poll asked for %d tasks with only %d slots", b.svc.maxAsked, slots)
	}
}

func TestDrainFinishesInFlightRunsWithinGrace(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{GracePeriod: 10 * time.Second})
	started := make(chan struct{})
	release := make(chan struct{})
	b.w.RegisterWorkflow("slow", func(ctx context.Context) (string, error) {
		close(started)
		<-release
		return "done", ctx.Err() // ctx must still be live during the grace period
	})
	b.start(t)
	b.svc.push(t, "s", "slow", nil, 0)
	testsync.Recv(t, started, "the run to start")
	stopped := make(chan struct{})
	go func() { b.stop(); close(stopped) }()
	expectNone(t, stopped, "Run returning with a run in flight")
	close(release)
	c := testsync.Recv(t, b.svc.completed, "the in-flight run's completion")
	if c.GetResult().GetStringValue() != "done" {
		t.Errorf("result = %v", c.GetResult())
	}
	testsync.Recv(t, stopped, "Run to return")
}

func TestDrainAbandonsRunsPastGrace(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{GracePeriod: 50 * time.Millisecond})
	started := make(chan struct{})
	causes := make(chan error, 1)
	b.w.RegisterWorkflow("stuck", func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		causes <- context.Cause(ctx)
		return ctx.Err()
	})
	b.start(t)
	b.svc.push(t, "s", "stuck", nil, 0)
	testsync.Recv(t, started, "the run to start")
	b.stop()
	if cause := testsync.Recv(t, causes, "the workflow's context to end"); !errors.Is(cause, ErrWorkerShutdown) {
		t.Errorf("cause = %v, want ErrWorkerShutdown", cause)
	}
	expectNone(t, b.svc.failed, "failure report for an abandoned run")
	expectNone(t, b.svc.completed, "completion for an abandoned run")
}

func TestRunRefusesBadSetups(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if err := newWorker(newFakeService(), "ns", "q", Options{}).Run(ctx); err == nil || !strings.Contains(err.Error(), "no workflow registered") {
		t.Errorf("Run without workflows: %v", err)
	}
	w := newWorker(newFakeService(), "ns", "q", Options{MaxConcurrentRuns: -1})
	w.RegisterWorkflow("wf", func(context.Context) error { return nil })
	if err := w.Run(ctx); err == nil || !strings.Contains(err.Error(), "MaxConcurrentRuns") {
		t.Errorf("Run with bad options: %v", err)
	}
}

func TestReportRetriesWhileTheServerIsUnavailable(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	b.svc.completeErrs = []error{
		connect.NewError(connect.CodeUnavailable, errors.New("redis down")),
		connect.NewError(connect.CodeUnavailable, errors.New("redis still down")),
	}
	b.w.RegisterWorkflow("ok", func(context.Context) (string, error) { return "yes", nil })
	b.start(t)
	b.svc.push(t, "r", "ok", nil, 0)
	if c := testsync.Recv(t, b.svc.completed, "the completion after retries"); c.GetResult().GetStringValue() != "yes" {
		t.Errorf("result = %v", c.GetResult())
	}
	b.svc.mu.Lock()
	defer b.svc.mu.Unlock()
	if len(b.svc.completeErrs) != 0 {
		t.Errorf("%d injected errors left unconsumed", len(b.svc.completeErrs))
	}
}

func TestStaleAttemptIsNotRetried(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	b.svc.completeErrs = []error{connect.NewError(connect.CodeFailedPrecondition, errors.New("attempt 1 is no longer current"))}
	b.w.RegisterWorkflow("ok", func(context.Context) error { return nil })
	b.start(t)
	b.svc.push(t, "s1", "ok", nil, 0)
	b.svc.push(t, "s2", "ok", nil, 0)
	// The rejected completion is dropped, not retried: the one completion
	// that arrives is the second task's.
	if c := testsync.Recv(t, b.svc.completed, "a completion"); c.GetTaskToken() != "s2" && c.GetTaskToken() != "s1" {
		t.Errorf("completion for %q", c.GetTaskToken())
	}
	b.stop()
	expectNone(t, b.svc.completed, "a retried stale completion")
}
