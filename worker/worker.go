// Package worker runs registered workflow functions for the runs of one task
// queue. A Worker long-polls the server (never Redis) through WorkerService,
// runs each task in its own goroutine, heartbeats while it runs, and reports
// the result or the failure:
//
//	w := worker.New(c, "emails", worker.Options{MaxConcurrentRuns: 20})
//	w.RegisterWorkflow("SendWelcome", func(ctx context.Context, in Signup) (Receipt, error) { ... })
//	err := w.Run(ctx) // until ctx ends, then drains
//
// Outcomes go to the server in batches (WorkerService.ReportTasks) while
// earlier reports are on their way, so a busy worker makes one call for many
// runs; each run still gets its own answer, retried on its own.
//
// Delivery is at least once: a run whose worker dies is redelivered after its
// heartbeat timeout, so workflow functions should be idempotent.
//
// What a workflow's context tells it: context.Cause(ctx) is
// ErrCancelRequested after CancelWorkflow (return, and the run closes as
// CANCELED), ErrRunClosed once the server rejects a heartbeat (terminated,
// timed out or redelivered elsewhere: the result is discarded), and
// ErrWorkerShutdown when Run's grace period is over. The context's deadline
// is the run's timeout, when it has one. GetInfo(ctx) names the run and the
// attempt.
package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/sundial-dev/sundial/client"
	"github.com/sundial-dev/sundial/internal/backoff"
	"github.com/sundial-dev/sundial/internal/convert"
	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/internal/gen/sundial/v1/sundialv1connect"
)

// defaultHeartbeatTimeout is the server's default, used when a task carries none.
const defaultHeartbeatTimeout = 30 * time.Second

// Worker executes the workflows registered on it for one task queue.
type Worker struct {
	svc       sundialv1connect.WorkerServiceClient
	namespace string
	taskQueue string
	opts      Options
	log       *slog.Logger

	mu       sync.Mutex
	handlers map[string]handler
	running  bool

	slots   chan struct{} // one token per free run slot
	reports *reporter
}

// New returns a worker for taskQueue in c's namespace. It does not contact
// the server until Run.
func New(c *client.Client, taskQueue string, opts Options) *Worker {
	return newWorker(c.WorkerService(), c.Namespace(), taskQueue, opts)
}

func newWorker(svc sundialv1connect.WorkerServiceClient, namespace, taskQueue string, opts Options) *Worker {
	opts = opts.WithDefaults()
	return &Worker{
		svc:       svc,
		namespace: namespace,
		taskQueue: taskQueue,
		opts:      opts,
		log:       opts.Logger.With("task_queue", taskQueue, "worker", opts.Identity),
		handlers:  map[string]handler{},
		reports:   newReporter(svc, opts.ReportTimeout),
	}
}

// Run polls for tasks and runs them until ctx ends, then drains: it stops
// polling, lets in-flight runs finish for up to GracePeriod, then cancels
// the contexts of those still going (with cause ErrWorkerShutdown) and
// returns without reporting them, so the server redelivers them once their
// heartbeat timeout lapses. A worker runs once; Run returns an error for bad
// options, no registered workflow, or a second call.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.opts.validate(); err != nil {
		return fmt.Errorf("worker options: %w", err)
	}
	w.mu.Lock()
	switch {
	case w.running:
		w.mu.Unlock()
		return errors.New("worker: Run called twice")
	case len(w.handlers) == 0:
		w.mu.Unlock()
		return errors.New("worker: no workflow registered (call RegisterWorkflow before Run)")
	}
	w.running = true
	w.mu.Unlock()

	w.slots = make(chan struct{}, w.opts.MaxConcurrentRuns)
	for range w.opts.MaxConcurrentRuns {
		w.slots <- struct{}{}
	}
	// Runs outlive ctx by the grace period: their context keeps ctx's values
	// but not its cancellation.
	runsCtx, stopRuns := context.WithCancelCause(context.WithoutCancel(ctx))
	defer stopRuns(ErrWorkerShutdown)
	var inflight sync.WaitGroup
	var pollers sync.WaitGroup
	for range w.opts.Pollers {
		pollers.Go(func() { w.poll(ctx, runsCtx, &inflight) })
	}
	w.log.Info("worker started", "max_concurrent_runs", w.opts.MaxConcurrentRuns, "pollers", w.opts.Pollers)
	<-ctx.Done()
	pollers.Wait()

	drained := make(chan struct{})
	go func() { inflight.Wait(); close(drained) }()
	grace := time.NewTimer(w.opts.GracePeriod)
	defer grace.Stop()
	select {
	case <-drained:
		w.log.Info("worker stopped")
		return nil
	case <-grace.C:
	}
	w.log.Warn("grace period over; abandoning in-flight runs to redelivery", "grace_period", w.opts.GracePeriod)
	stopRuns(ErrWorkerShutdown)
	// Give cancelled workflows a moment to return so their goroutines end.
	select {
	case <-drained:
	case <-time.After(time.Second):
	}
	return nil
}

// poll is one poller: it waits for a free slot, asks for as many tasks as
// there are free slots, and starts each task it gets.
func (w *Worker) poll(ctx, runsCtx context.Context, inflight *sync.WaitGroup) {
	retry := backoff.New(100*time.Millisecond /* initial */, 5*time.Second /* max */)
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.slots:
		}
		n := 1
	more:
		for n < w.opts.MaxTasksPerPoll {
			select {
			case <-w.slots:
				n++
			default:
				break more
			}
		}
		res, err := w.svc.PollTasks(ctx, connect.NewRequest(&pb.PollTasksRequest{
			Namespace: w.namespace,
			TaskQueue: w.taskQueue,
			MaxTasks:  int32(n),
			Wait:      durationpb.New(w.opts.PollWait),
			Identity:  w.opts.Identity,
		}))
		var tasks []*pb.Task
		if err == nil {
			tasks = res.Msg.GetTasks()
		}
		for i, t := range tasks {
			if i >= n {
				// More than asked for: run them anyway rather than strand
				// them until their lease lapses.
				w.log.Warn("server returned more tasks than asked for", "asked", n, "got", len(tasks))
			}
			inflight.Add(1)
			go func() {
				defer inflight.Done()
				if i < n {
					defer func() { w.slots <- struct{}{} }()
				}
				w.execute(runsCtx, t)
			}()
		}
		for range n - min(n, len(tasks)) {
			w.slots <- struct{}{}
		}
		if err == nil {
			retry.Reset()
			continue
		}
		if ctx.Err() != nil {
			return
		}
		d := retry.Next()
		w.log.Warn("poll failed; retrying", "err", err, "retry_in", d)
		if !backoff.Sleep(ctx, d) {
			return
		}
	}
}

// taskLog is the worker's logger with the task's fields. It is built only
// where something is logged: a run that succeeds logs nothing, and
// building it for every task cost an allocation-heavy With per run.
func (w *Worker) taskLog(t *pb.Task) *slog.Logger {
	return w.log.With("workflow_id", t.GetWorkflowId(), "run_id", t.GetRunId(), "attempt", t.GetAttempt(), "workflow_type", t.GetWorkflowType())
}

// execute runs one task: heartbeats while the workflow runs, then reports.
func (w *Worker) execute(runsCtx context.Context, t *pb.Task) {
	w.mu.Lock()
	h, ok := w.handlers[t.GetWorkflowType()]
	w.mu.Unlock()
	if !ok {
		w.report(t, nil, &ApplicationError{Type: FailureTypeUnknownWorkflow,
			Message: fmt.Sprintf("workflow type %q is not registered on worker %s for task queue %s (registered: %s)",
				t.GetWorkflowType(), w.opts.Identity, w.taskQueue, strings.Join(w.registered(), ", "))}, runsCtx)
		return
	}
	info := Info{
		Namespace: t.GetNamespace(), TaskQueue: w.taskQueue, WorkflowID: t.GetWorkflowId(), RunID: t.GetRunId(),
		WorkflowType: t.GetWorkflowType(), Attempt: int(t.GetAttempt()), Deadline: convert.FromTimestamp(t.GetDeadline()),
		ScheduledTime: convert.FromTimestamp(t.GetScheduledTime()), WorkerIdentity: w.opts.Identity,
	}
	ctx, cancel := context.WithCancelCause(context.WithValue(runsCtx, infoKey{}, info))
	defer cancel(nil)
	if !info.Deadline.IsZero() {
		var stop context.CancelFunc
		ctx, stop = context.WithDeadline(ctx, info.Deadline)
		defer stop()
	}

	hbTimeout := convert.FromDuration(t.GetHeartbeatTimeout())
	if hbTimeout <= 0 {
		hbTimeout = defaultHeartbeatTimeout
	}
	// The heartbeat goroutine starts only when the run outlives its first
	// heartbeat interval: most runs are shorter, and pay for a timer only.
	hbDone := make(chan struct{})
	hbStop := make(chan struct{})
	interval := max(hbTimeout/3, 10*time.Millisecond)
	hbTimer := time.AfterFunc(interval, func() {
		defer close(hbDone)
		w.heartbeat(t, interval, cancel, hbStop)
	})

	out, err := call(ctx, h, convert.FromJSONValue(t.GetInput()))
	// Heartbeats go on while the report is retried, so the lease holds.
	w.report(t, out, err, ctx)
	close(hbStop)
	if !hbTimer.Stop() {
		<-hbDone
	}
}

// heartbeat extends the task's lease now and then every interval until
// stop closes. A cancel request cancels the workflow's context with
// ErrCancelRequested; a server that no longer knows the attempt cancels it
// with ErrRunClosed.
func (w *Worker) heartbeat(t *pb.Task, interval time.Duration, cancel context.CancelCauseFunc, stop <-chan struct{}) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for first := true; ; first = false {
		if !first {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		} else {
			select {
			case <-stop:
				return
			default:
			}
		}
		ctx, done := context.WithTimeout(context.Background(), interval)
		res, err := w.svc.HeartbeatTask(ctx, connect.NewRequest(&pb.HeartbeatTaskRequest{TaskToken: t.GetTaskToken()}))
		done()
		switch code := connect.CodeOf(err); {
		case err == nil && res.Msg.GetCancelRequested():
			cancel(ErrCancelRequested)
		case err == nil:
		case code == connect.CodeNotFound || code == connect.CodeFailedPrecondition:
			w.taskLog(t).Info("run closed on the server; cancelling the workflow", "err", err)
			cancel(ErrRunClosed)
			return
		default:
			w.taskLog(t).Warn("heartbeat failed", "err", err)
		}
	}
}

// report sends the attempt's outcome, retrying while the server is
// unavailable, for up to ReportTimeout. ctx is the workflow's context.
func (w *Worker) report(t *pb.Task, out json.RawMessage, runErr error, ctx context.Context) {
	if cause := context.Cause(ctx); ctx.Err() != nil && (errors.Is(cause, ErrRunClosed) || errors.Is(cause, ErrWorkerShutdown)) {
		w.taskLog(t).Info("not reporting the attempt", "reason", cause)
		return
	}
	// Reports go to the server in batches (ReportTasks) when many runs end
	// at once; each gets its own answer.
	send := func(rctx context.Context) error {
		if runErr == nil {
			v, err := convert.JSONValue(out)
			if err != nil {
				runErr = &ApplicationError{Type: FailureTypeResultEncode, Message: "result is not JSON", NonRetryable: true, Cause: err}
			} else {
				return w.reports.send(rctx, &pb.CompleteTaskRequest{TaskToken: t.GetTaskToken(), Result: v}, nil)
			}
		}
		f := failureOf(ctx, runErr)
		return w.reports.send(rctx, nil, &pb.FailTaskRequest{
			TaskToken: t.GetTaskToken(), Message: f.message, Type: f.typ, StackTrace: f.stack, NonRetryable: f.nonRetryable,
		})
	}
	rctx, cancel := context.WithTimeout(context.Background(), w.opts.ReportTimeout)
	defer cancel()
	retry := backoff.New(50*time.Millisecond /* initial */, 2*time.Second /* max */)
	for {
		err := send(rctx)
		switch code := connect.CodeOf(err); {
		case err == nil:
			if runErr != nil {
				w.taskLog(t).Info("attempt failed", "err", runErr)
			}
			return
		case code == connect.CodeNotFound || code == connect.CodeFailedPrecondition:
			w.taskLog(t).Info("server rejected the attempt's outcome (run closed or attempt no longer current)", "err", err)
			return
		case code == connect.CodeInvalidArgument:
			w.taskLog(t).Error("server refused the attempt's outcome", "err", err)
			return
		}
		if !backoff.Sleep(rctx, retry.Next()) {
			w.taskLog(t).Error("could not report the attempt; the server will redeliver it", "err", err)
			return
		}
	}
}

func (w *Worker) registered() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	names := make([]string, 0, len(w.handlers))
	for n := range w.handlers {
		names = append(names, n)
	}
	sort.Strings(names)
	return slices.Clip(names)
}
