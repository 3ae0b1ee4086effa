package runstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sundial-dev/sundial/internal/runs"
)

// timerClaimLease is how long a claimed timer entry stays hidden from other
// replicas before it fires again (if its handler never finished).
const timerClaimLease = 30 * time.Second

// ClaimDue claims up to limit due timer entries from every partition in
// one pipelined round trip (through the store's pipeliner, which also
// re-sends a script Redis no longer knows). Each claimed entry must be
// passed to Fire; on an error, the entries it returns were claimed all
// the same.
func (s *Store) ClaimDue(ctx context.Context, limit int) ([]Timer, error) {
	now := ms(s.clock.Now())
	calls := make([]*scriptCall, s.k.partitions)
	for p := range calls {
		calls[p] = newCall(claimTimersScript, []string{s.k.timers(p)}, []any{now, limit, timerClaimLease.Milliseconds()})
	}
	s.pipe.do(ctx, calls...)
	var out []Timer
	var firstErr error
	for p, c := range calls {
		ms, err := c.cmd.StringSlice()
		if err != nil && !errors.Is(err, redis.Nil) {
			if firstErr == nil {
				firstErr = fmt.Errorf("claim due timers: %w", err)
			}
			continue
		}
		for _, m := range ms {
			if t, ok := parseTimer(p, m); ok {
				out = append(out, t)
			} else {
				s.rdb.ZRem(ctx, s.k.timers(p), m)
			}
		}
	}
	return out, firstErr
}

func isNoScript(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT")
}

// Fire performs what a claimed timer entry is due for.
func (s *Store) Fire(ctx context.Context, t Timer) error {
	ref := TaskRef{Namespace: t.Namespace, WorkflowID: t.WorkflowID, RunID: t.RunID, Attempt: t.Attempt}
	p := t.Partition
	switch t.Kind {
	case "start":
		return s.pipe.run(ctx, promoteScript, []string{s.k.run(p, t.Namespace, t.WorkflowID, t.RunID), s.k.timers(p)},
			s.argv(p, s.clock.Now(), t.Attempt, t.Member)...).Err()
	case "xto":
		f := &Failure{Message: "execution timeout exceeded", Type: "ExecutionTimeout", NonRetryable: true}
		err := s.closeOpen(ctx, t.Namespace, t.WorkflowID, t.RunID, runs.StatusTimedOut, f, "close", t.Member)
		return ignoreGone(err)
	case "lease":
		return s.fireLease(ctx, t, ref)
	case "rto":
		r, err := s.Get(ctx, t.Namespace, t.WorkflowID, t.RunID)
		if err != nil {
			return s.dropTimer(ctx, t, err)
		}
		f := &Failure{Message: fmt.Sprintf("attempt %d exceeded its run timeout of %s", t.Attempt, r.RunTimeout), Type: "RunTimeout"}
		d := decideRetry(r.RetryPolicy, r.ExecutionDeadline, t.Attempt, f, s.clock.Now())
		_, err = s.failAttempt(ctx, ref, f, d, runs.StatusTimedOut, t.Member, false)
		return ignoreGone(err)
	case "cron":
		return s.fireCron(ctx, t)
	case "gc":
		return s.pipe.run(ctx, gcScript, []string{s.k.run(p, t.Namespace, t.WorkflowID, t.RunID), s.k.workflow(p, t.Namespace, t.WorkflowID), s.k.timers(p)},
			s.argv(p, s.clock.Now(), t.Namespace, t.WorkflowID, t.RunID, t.Member)...).Err()
	}
	return s.rdb.ZRem(ctx, s.k.timers(p), t.Member).Err()
}

// fireLease handles a lapsed lease: the attempt failed with a heartbeat
// timeout and the run goes straight back on its queue as a new attempt,
// unless the retry policy's maximum attempts is reached (then TIMED_OUT)
// or a cancel was requested (then CANCELED). A heartbeat that extended the
// lease after the entry was claimed wins.
func (s *Store) fireLease(ctx context.Context, t Timer, ref TaskRef) error {
	r, err := s.Get(ctx, t.Namespace, t.WorkflowID, t.RunID)
	if err != nil {
		return s.dropTimer(ctx, t, err)
	}
	f := &Failure{Message: fmt.Sprintf("attempt %d sent no heartbeat within its heartbeat timeout of %s", t.Attempt, r.HeartbeatTimeout), Type: "HeartbeatTimeout"}
	d := retryDecision{retry: true}
	if p := r.RetryPolicy; p != nil && p.MaximumAttempts > 0 && t.Attempt >= p.MaximumAttempts {
		d = retryDecision{}
	}
	_, err = s.failAttempt(ctx, ref, f, d, runs.StatusTimedOut, t.Member, true)
	return ignoreGone(err)
}

// fireCron starts the next run of a cron chain at the next matching time
// after the previous run closed, unless the workflow id was started again
// meanwhile.
func (s *Store) fireCron(ctx context.Context, t Timer) error {
	prev, err := s.Get(ctx, t.Namespace, t.WorkflowID, t.RunID)
	if err != nil {
		return s.dropTimer(ctx, t, err)
	}
	if s.next == nil || prev.CronSchedule == "" || prev.Status == runs.StatusTerminated {
		return s.rdb.ZRem(ctx, s.k.timers(t.Partition), t.Member).Err()
	}
	after := prev.CloseTime
	if after.IsZero() {
		after = s.clock.Now()
	}
	next, err := s.next(prev.CronSchedule, after)
	if err != nil {
		return s.dropTimer(ctx, t, err)
	}
	req := runs.StartRequest{
		Namespace: prev.Namespace, WorkflowID: prev.WorkflowID, WorkflowType: prev.WorkflowType, TaskQueue: prev.TaskQueue,
		Input: prev.Input, CronSchedule: prev.CronSchedule, RunTimeout: prev.RunTimeout, ExecutionTimeout: prev.ExecutionTimeout,
		HeartbeatTimeout: prev.HeartbeatTimeout, RetryPolicy: prev.RetryPolicy, Memo: prev.Memo,
		Origin: runs.Origin{ScheduleID: prev.Origin.ScheduleID, ClientIdentity: prev.Origin.ClientIdentity, PreviousRunID: prev.RunID, Trigger: prev.Origin.Trigger},
	}
	_, err = s.start(ctx, req, s.clock.Now(), next, prev.RunID, t.Member)
	if errors.Is(err, errChainSuperseded) {
		return nil
	}
	return err
}

// dropTimer removes a timer whose run is gone; other errors are returned
// and the entry fires again after its claim lease.
func (s *Store) dropTimer(ctx context.Context, t Timer, err error) error {
	if errors.Is(err, runs.ErrNotFound) {
		return s.rdb.ZRem(ctx, s.k.timers(t.Partition), t.Member).Err()
	}
	return err
}

// ignoreGone treats a transition that no longer applies (the run closed or
// moved on) as done: the script already removed the timer entry.
func ignoreGone(err error) error {
	if err == nil || errors.Is(err, runs.ErrNotFound) || isFailedPrecondition(err) {
		return nil
	}
	return err
}
