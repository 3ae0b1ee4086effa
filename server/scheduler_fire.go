package server

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/sundial-dev/sundial/internal/clock"
	"github.com/sundial-dev/sundial/internal/errs"
	"github.com/sundial-dev/sundial/internal/runs"
	"github.com/sundial-dev/sundial/internal/schedstore"
	"github.com/sundial-dev/sundial/schedule"
)

// workflowID returns the deterministic workflow id of a fire:
// "<base>-<nominal RFC 3339 UTC, seconds>".
func workflowID(rec *schedstore.Record, nominal time.Time) string {
	base := rec.Def.Action.WorkflowID
	if base == "" {
		base = rec.ID
	}
	return fireWorkflowID(base, nominal)
}

// inFlightWorkflowID returns the workflow id of a claimed fire that an update
// overtook: it keeps the base the claimer used, so a run the claimer started
// before dying is found even if the update changed the base.
func inFlightWorkflowID(rec *schedstore.Record) string {
	if rec.InFlightBase == "" {
		return workflowID(rec, rec.InFlight)
	}
	return fireWorkflowID(rec.InFlightBase, rec.InFlight)
}

// fireWorkflowID is "<base>-<nominal time, RFC 3339 UTC, seconds>".
func fireWorkflowID(base string, nominal time.Time) string {
	return base + "-" + nominal.UTC().Truncate(time.Second).Format(time.RFC3339)
}

// manualWorkflowID returns a manual trigger's workflow id: the fire's id
// plus a per-schedule sequence number, so that two triggers in one second
// both start (and never collide with a scheduled fire).
func manualWorkflowID(rec *schedstore.Record, nominal time.Time, seq int64) string {
	return workflowID(rec, nominal) + "-manual-" + strconv.FormatInt(seq, 10)
}

// firer is one schedule's in-memory view while the scheduler or a handler
// acts on it: the open runs and buffer as read from Redis plus the changes
// made so far, which one Commit writes at the end. It lives for one call.
type firer struct {
	starter runs.Starter
	rec     *schedstore.Record
	policy  schedule.Policy
	now     time.Time
	// clock stamps enqueue times (an action's actual time is when its
	// start returned).
	clock clock.Clock
	store *schedstore.Store

	// prep is the run written ahead for this claim's fire (nil: none).
	prep *preparedRun

	loaded    bool
	running   map[string]string
	stored    []schedstore.Buffered // buffered in Redis, not yet popped
	storedRaw []string
	pushed    []schedstore.Buffered // buffered during this call

	c       schedstore.Commit
	started int64 // scheduled starts, for remaining actions
}

func newFirer(st *schedstore.Store, starter runs.Starter, clk clock.Clock, rec *schedstore.Record) *firer {
	return &firer{
		starter: starter, rec: rec, policy: rec.Def.Policy.WithDefaults(), now: clk.Now(), clock: clk,
		store: st,
		c:     schedstore.Commit{Inc: map[string]int64{}},
	}
}

// ensure loads the open runs and buffer once, dropping runs that the run
// store says are closed (a Closed event may race with the start's commit).
func (f *firer) ensure(ctx context.Context) error {
	if f.loaded {
		return nil
	}
	open, err := f.store.Open(ctx, f.rec.Namespace, f.rec.ID)
	if err != nil {
		return err
	}
	f.running, f.stored, f.storedRaw, f.loaded = open.Running, open.Buffer, open.BufferRaw, true
	if len(f.running) == 0 {
		return nil
	}
	refs := make([]runs.RunRef, 0, len(f.running))
	for wf, run := range f.running {
		refs = append(refs, runs.RunRef{WorkflowID: wf, RunID: run})
	}
	sts, err := f.starter.Statuses(ctx, f.rec.Namespace, refs)
	if err != nil {
		return fmt.Errorf("status of the open runs: %w", err)
	}
	for i, st := range sts {
		if st == runs.StatusUnspecified || st.Closed() { // gone, or closed
			f.forget(refs[i].WorkflowID)
		}
	}
	return nil
}

func (f *firer) forget(wf string) {
	delete(f.running, wf)
	f.c.DelRunning = append(f.c.DelRunning, wf)
	delete(f.c.AddRunning, wf)
}

func (f *firer) record(e schedstore.Execution) schedstore.Execution {
	e.ID = ulid.Make().String()
	e.ScheduleID = f.rec.ID
	if e.Actual.IsZero() {
		e.Actual = f.now
	}
	f.c.Executions = append(f.c.Executions, e)
	switch e.Outcome {
	case schedstore.OutcomeMissed:
		f.c.Inc[schedstore.CountMissed]++
	case schedstore.OutcomeSkippedOverlap:
		f.c.Inc[schedstore.CountOverlapSkip]++
	case schedstore.OutcomeBufferDropped:
		f.c.Inc[schedstore.CountBufferDropped]++
	}
	return e
}

// miss records a nominal time that was not run.
func (f *firer) miss(nominal time.Time, reason string) {
	f.record(schedstore.Execution{Nominal: nominal, Outcome: schedstore.OutcomeMissed, Reason: reason, Trigger: int(runs.TriggerScheduled)})
}

// fire applies the overlap policy to one fire and starts, buffers, skips or
// drops it. It returns the execution record.
func (f *firer) fire(ctx context.Context, nominal time.Time, wf string, trig runs.Trigger, overlap schedule.OverlapPolicy) (schedstore.Execution, error) {
	if overlap == schedule.OverlapUnspecified {
		overlap = f.policy.Overlap
	}
	if overlap == schedule.OverlapAllowAll && !f.loaded {
		// Open runs do not matter: skip reading them (the hot path of
		// ALLOW_ALL schedules is one read, one start and one commit).
		return f.start(ctx, nominal, wf, trig)
	}
	if err := f.ensure(ctx); err != nil {
		return schedstore.Execution{}, err
	}
	if len(f.running) == 0 && !f.rec.State.Paused {
		if err := f.drain(ctx); err != nil {
			return schedstore.Execution{}, err
		}
	}
	if len(f.running) > 0 {
		entry := schedstore.Buffered{Nominal: nominal, WorkflowID: wf, Trigger: int(trig)}
		base := schedstore.Execution{Nominal: nominal, WorkflowID: wf, Trigger: int(trig)}
		switch overlap {
		case schedule.OverlapSkip:
			base.Outcome, base.Reason = schedstore.OutcomeSkippedOverlap, "a run of this schedule is still open"
			return f.record(base), nil
		case schedule.OverlapBufferOne:
			if len(f.stored)+len(f.pushed) > 0 {
				base.Outcome, base.Reason = schedstore.OutcomeBufferDropped, "the buffer (one fire) is full"
				return f.record(base), nil
			}
			f.push(entry)
			base.Outcome, base.Reason = schedstore.OutcomeBuffered, "waiting for the open run to close"
			return f.record(base), nil
		case schedule.OverlapBufferAll:
			f.push(entry)
			base.Outcome, base.Reason = schedstore.OutcomeBuffered, "waiting for the open runs to close"
			return f.record(base), nil
		case schedule.OverlapCancelOther:
			for w, r := range f.running {
				err := f.starter.Cancel(ctx, f.rec.Namespace, w, r, "canceled by schedule "+f.rec.ID+" (overlap policy CANCEL_OTHER)")
				if gone(err) {
					// It closed since ensure looked: nothing to wait for.
					f.forget(w)
					continue
				}
				if err != nil {
					return schedstore.Execution{}, fmt.Errorf("cancel %s: %w", w, err)
				}
			}
			if len(f.running) == 0 {
				return f.start(ctx, nominal, wf, trig)
			}
			f.push(entry)
			base.Outcome, base.Reason = schedstore.OutcomeBuffered, "cancel requested for the open run; starts when it closes"
			return f.record(base), nil
		case schedule.OverlapTerminateOther:
			for w, r := range f.running {
				if err := f.starter.Terminate(ctx, f.rec.Namespace, w, r, "terminated by schedule "+f.rec.ID+" (overlap policy TERMINATE_OTHER)"); err != nil && !gone(err) {
					return schedstore.Execution{}, fmt.Errorf("terminate %s: %w", w, err)
				}
				f.forget(w)
			}
		}
	}
	return f.start(ctx, nominal, wf, trig)
}

// gone reports whether a Cancel or Terminate error means that the run is
// already closed or unknown: the caller wanted it gone, so that is success.
func gone(err error) bool {
	return errors.Is(err, runs.ErrNotFound) || errors.Is(err, runs.ErrAlreadyClosed)
}

func (f *firer) push(b schedstore.Buffered) {
	f.pushed = append(f.pushed, b)
	f.c.PushBuffer = append(f.c.PushBuffer, b)
}

// drain starts the buffer's head while no run is open.
func (f *firer) drain(ctx context.Context) error {
	for len(f.running) == 0 && len(f.stored)+len(f.pushed) > 0 {
		var b schedstore.Buffered
		if len(f.stored) > 0 {
			b = f.stored[0]
			f.c.PopBuffer = append(f.c.PopBuffer, f.storedRaw[0])
			f.stored, f.storedRaw = f.stored[1:], f.storedRaw[1:]
		} else {
			b = f.pushed[0]
			f.pushed = f.pushed[1:]
			f.c.PushBuffer = f.c.PushBuffer[1:]
		}
		if _, err := f.start(ctx, b.Nominal, b.WorkflowID, runs.Trigger(b.Trigger)); err != nil {
			return err
		}
	}
	return nil
}

// fireRequest is the run that a fire of rec at nominal starts.
func fireRequest(rec *schedstore.Record, nominal time.Time, wf string, trig runs.Trigger) runs.StartRequest {
	a := rec.Def.Action
	return runs.StartRequest{
		Namespace: rec.Namespace, WorkflowID: wf, WorkflowType: a.WorkflowType, TaskQueue: a.TaskQueue,
		Input: a.Input, RunTimeout: a.RunTimeout, ExecutionTimeout: a.ExecutionTimeout, HeartbeatTimeout: a.HeartbeatTimeout,
		RetryPolicy: a.RetryPolicy, Memo: a.Memo, IfNotExists: true,
		Origin: runs.Origin{ScheduleID: rec.ID, NominalTime: nominal, Trigger: trig},
	}
}

// preparedRun is the run written ahead of a claimed fire's due time for
// workflow id wf (see runs.Preparer). used is set once a start took it;
// the rest are discarded after the fire.
type preparedRun struct {
	wf, runID string
	used      bool
}

// start starts a run, idempotently on the workflow id. An id that is taken
// by a run the schedule did not start is a FAILED record; any other error
// aborts the call so that the fire is retried.
func (f *firer) start(ctx context.Context, nominal time.Time, wf string, trig runs.Trigger) (schedstore.Execution, error) {
	req := fireRequest(f.rec, nominal, wf, trig)
	if p := f.prep; p != nil && !p.used && p.wf == wf {
		req.PreparedRunID, p.used = p.runID, true
	}
	res, err := f.starter.Start(ctx, req)
	if errors.Is(err, runs.ErrAlreadyStarted) || errors.Is(err, errs.ErrInvalidArgument) || errors.Is(err, schedule.ErrInvalidSpec) {
		// Retrying would fail the same way: record it and move on.
		return f.record(schedstore.Execution{Nominal: nominal, WorkflowID: wf, Outcome: schedstore.OutcomeFailed, Reason: err.Error(), Trigger: int(trig)}), nil
	}
	if err != nil {
		return schedstore.Execution{}, fmt.Errorf("start %s: %w", wf, err)
	}
	if f.loaded {
		// Only a loaded view is read (ensure replaces an unloaded one), so
		// the ALLOW_ALL hot path does not build a map nobody reads.
		if f.running == nil {
			f.running = map[string]string{}
		}
		f.running[wf] = res.RunID
	}
	if f.c.AddRunning == nil {
		f.c.AddRunning = map[string]string{}
	}
	f.c.AddRunning[wf] = res.RunID
	enqueued := f.clock.Now()
	f.c.Recent = append(f.c.Recent, schedstore.Action{Nominal: nominal, Actual: enqueued, WorkflowID: wf, RunID: res.RunID})
	f.c.Inc[schedstore.CountActions]++
	if trig == runs.TriggerScheduled {
		f.started++
	}
	return f.record(schedstore.Execution{Nominal: nominal, Actual: enqueued, WorkflowID: wf, RunID: res.RunID, Outcome: schedstore.OutcomeStarted, Trigger: int(trig)}), nil
}

// commit returns the changes to write outside a claim: scheduled fires
// started from the buffer count against remaining actions there too.
func (f *firer) commit() schedstore.Commit {
	c := f.c
	c.Decrement = f.started
	return c
}
