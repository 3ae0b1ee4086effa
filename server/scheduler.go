package server

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/sundial-dev/sundial/internal/clock"
	"github.com/sundial-dev/sundial/internal/errs"
	"github.com/sundial-dev/sundial/internal/runs"
	"github.com/sundial-dev/sundial/internal/schedstore"
)

// Scheduler tuning. None of it is per schedule: the loop holds no state
// between passes beyond these numbers.
const (
	// claimLease is how long a claimed fire stays in flight before another
	// replica may take it over (the claimer crashed or stalled).
	claimLease = 30 * time.Second
	// claimBatch is how many fires one claim takes from a partition.
	claimBatch = 256
	// fireWorkers bounds concurrent fires in one pass.
	fireWorkers = 128
	// maxFiresPerClaim bounds the nominal times one claim processes for a
	// schedule that is behind; the rest are taken by the next claim.
	maxFiresPerClaim = 100
)

// scheduler fires due schedules. Due times live in partitioned Redis sorted
// sets; every replica claims due entries atomically (a Lua script moves them
// to an in-flight set with a deadline), acts on them and commits. A crash
// after the claim leaves the entry in flight; once its deadline passes any
// replica re-claims it and repeats the fire, and the deterministic workflow
// id with IfNotExists makes the repeated start find the first one's run.
type scheduler struct {
	store   *schedstore.Store
	starter runs.Starter
	clock   clock.Clock
	log     *slog.Logger
	poll    time.Duration
	// first is the partition this replica starts each pass at, so replicas
	// do not all contend on partition 0.
	first int
	wake  chan struct{}
}

func newScheduler(cfg *Config, st *schedstore.Store, starter runs.Starter) *scheduler {
	h := fnv.New32a()
	_, _ = h.Write([]byte(cfg.ReplicaID))
	return &scheduler{
		store: st, starter: starter, clock: cfg.Clock, log: cfg.Logger, poll: cfg.PollInterval,
		first: int(h.Sum32() % uint32(st.Partitions())), wake: make(chan struct{}, 1),
	}
}

// notify wakes the loop early when a schedule was created or changed with
// a due time sooner than the next poll; later ones are found by polling.
func (s *scheduler) notify(due time.Time) {
	if due.IsZero() || due.After(s.clock.Now().Add(s.poll)) {
		return
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run loops until ctx ends: a pass, then a wait until the earliest due time
// or the poll interval, whichever is sooner, or until notify.
func (s *scheduler) run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-s.wake:
		}
		if _, err := s.tick(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("scheduler pass failed", "err", err)
		}
		wait := s.poll
		if t, ok, err := s.store.EarliestDue(ctx); err == nil && ok {
			if d := t.Sub(s.clock.Now()); d < wait {
				wait = max(d, time.Millisecond)
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
	}
}

// tick runs one pass: it claims and processes every fire due at the
// clock's current time, all partitions at once (fireWorkers fires at a
// time in total), and returns how many claims it processed. The first
// error is returned after the pass; failed fires stay claimed and are
// retried once their lease ends.
func (s *scheduler) tick(ctx context.Context) (int, error) {
	var (
		mu     sync.Mutex
		errOut error
		total  int
		wg     sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if errOut == nil {
			errOut = err
		}
	}
	sem := make(chan struct{}, fireWorkers)
	n := s.store.Partitions()
	for i := range n {
		p := (s.first + i) % n
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := s.drainPartition(ctx, p, sem, fail)
			if err != nil {
				fail(err)
			}
			mu.Lock()
			total += got
			mu.Unlock()
		}()
	}
	wg.Wait()
	return total, errOut
}

// drainPartition claims and processes partition p's due fires until a
// claim comes back short.
func (s *scheduler) drainPartition(ctx context.Context, p int, sem chan struct{}, fail func(error)) (int, error) {
	total := 0
	for {
		now := s.clock.Now()
		claimed, err := s.store.Claim(ctx, p, now, claimLease, claimBatch)
		if err != nil {
			return total, err
		}
		recs, err := s.store.GetMany(ctx, claimed)
		if err != nil {
			return total, err
		}
		var wg sync.WaitGroup
		pending := make([]*schedstore.Pending, len(claimed))
		for i, c := range claimed {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				p, err := s.process(ctx, c, recs[i], now)
				if err != nil {
					// The claim stays in flight and is retried after its lease.
					s.log.Warn("fire failed; will retry", "namespace", c.Namespace, "schedule", c.ID, "err", err)
					fail(err)
					return
				}
				pending[i] = p
			}()
		}
		wg.Wait()
		// One round trip commits the batch; a crash before it leaves the
		// claims in flight, to be re-fired (and deduplicated) after the lease.
		batch := make([]schedstore.Pending, 0, len(pending))
		for _, p := range pending {
			if p != nil {
				batch = append(batch, *p)
			}
		}
		if err := s.store.CommitMany(ctx, batch); err != nil {
			return total, err
		}
		total += len(claimed)
		if len(claimed) < claimBatch {
			return total, nil
		}
	}
}

// process acts on one claimed schedule: every nominal time due at now (up
// to maxFiresPerClaim) is missed, coalesced, skipped, buffered or started,
// then one commit records it all and moves the due entry.
// rec is the schedule as read after the claim; nil when it was deleted.
// It returns the commit to apply.
func (s *scheduler) process(ctx context.Context, c schedstore.Claimed, rec *schedstore.Record, now time.Time) (*schedstore.Pending, error) {
	out := &schedstore.Pending{Namespace: c.Namespace, ID: c.ID, Commit: schedstore.Commit{Claimed: true}}
	if rec == nil {
		return out, nil
	}
	f := newFirer(s.store, s.starter, s.clock, rec)
	f.c.Claimed, f.c.ExpectGeneration, f.c.ExpectNext = true, rec.Generation, rec.Next
	spec, err := compileSpec(rec.Def.Spec)
	if err != nil {
		// Stored specs were valid when stored; a spec the engine no longer
		// accepts stops firing, with a record saying why.
		f.record(schedstore.Execution{Nominal: rec.Next, Outcome: schedstore.OutcomeFailed, Reason: "spec no longer compiles: " + err.Error(), Trigger: int(runs.TriggerScheduled)})
		out.Commit = f.c
		return out, nil
	}
	n := rec.Next
	active := !rec.State.Paused
	for i := 0; active && i < maxFiresPerClaim && !n.IsZero() && !dueAt(spec, rec.ID, n).After(now); i++ {
		if rec.State.LimitedActions && rec.State.RemainingActions-f.started <= 0 {
			break
		}
		next, ok := spec.Next(n)
		if !ok {
			next = time.Time{}
		}
		switch {
		case now.Sub(n) > f.policy.CatchupWindow:
			f.miss(n, fmt.Sprintf("older than the catchup window (%s)", f.policy.CatchupWindow))
		case f.policy.Coalesce && !next.IsZero() && !dueAt(spec, rec.ID, next).After(now):
			f.miss(n, "coalesced: a later fire is also due")
		default:
			if _, err := f.fire(ctx, n, workflowID(rec, n), runs.TriggerScheduled, f.policy.Overlap); err != nil {
				return nil, err
			}
		}
		n = next
	}
	f.c.Next, f.c.Decrement = n, f.started
	if !n.IsZero() {
		f.c.Due = dueAt(spec, rec.ID, n)
	}
	out.Commit = f.c
	return out, nil
}

// onClosed handles a closed run that a schedule started: it forgets the
// run, pauses the schedule when its policy says so, and starts the next
// buffered fire. It is idempotent: a repeated event finds the run forgotten
// and the buffered fire started under the same workflow id.
func (s *scheduler) onClosed(ctx context.Context, ev runs.Closed) error {
	if ev.ScheduleID == "" {
		return nil
	}
	rec, err := s.store.Get(ctx, ev.Namespace, ev.ScheduleID)
	if errors.Is(err, errs.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if rec.Def.Policy.PauseOnFailure && (ev.Status == runs.StatusFailed || ev.Status == runs.StatusTimedOut) && !rec.State.Paused {
		st := rec.State
		st.Paused = true
		st.Note = fmt.Sprintf("paused by pause_on_failure: run %s (run id %s) ended %s", ev.WorkflowID, ev.RunID, ev.Status)
		if ev.FailureMessage != "" {
			st.Note += ": " + ev.FailureMessage
		}
		if _, err := s.store.Replace(ctx, ev.Namespace, ev.ScheduleID, "", schedstore.Mutation{State: &st, Now: s.clock.Now()}); err != nil && !errors.Is(err, errs.ErrNotFound) {
			return err
		}
		rec.State = st
	}
	f := newFirer(s.store, s.starter, s.clock, rec)
	if err := f.ensure(ctx); err != nil {
		return err
	}
	if _, open := f.running[ev.WorkflowID]; open {
		f.forget(ev.WorkflowID)
	}
	if !rec.State.Paused {
		if err := f.drain(ctx); err != nil {
			return err
		}
	}
	if len(f.c.DelRunning) == 0 && len(f.c.Executions) == 0 {
		return nil
	}
	_, err = s.store.Commit(ctx, ev.Namespace, ev.ScheduleID, f.commit())
	return err
}
