package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sundial-dev/sundial/internal/clock"
	"github.com/sundial-dev/sundial/internal/errs"
	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/internal/runs"
	"github.com/sundial-dev/sundial/internal/schedstore"
)

// Scheduler tuning. None of it is per schedule: the loop holds no state
// between passes beyond these numbers and the batch it claimed.
const (
	// claimLease is how long a claimed fire stays in flight before another
	// replica may take it over (the claimer crashed or stalled).
	claimLease = 30 * time.Second
	// claimBatch is how many fires one claim takes from a partition.
	claimBatch = 256
	// fireWorkers bounds concurrent fires in one replica: enough for the run
	// store to send full pipelines while a burst of fires starts.
	fireWorkers = 512
	// maxFiresPerClaim bounds the nominal times one claim processes for a
	// schedule that is behind; the rest are taken by the next claim.
	maxFiresPerClaim = 100
	// claimAhead is how far ahead of their due time the loop claims fires
	// and reads their schedules, so that at the due time only the start
	// and the commit remain.
	claimAhead = 300 * time.Millisecond
	// maxClaimedAhead bounds the fires one pass of the loop holds in
	// memory (claimed, waiting for their due time).
	maxClaimedAhead = 20000
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
	// preparer is starter when it can prepare runs (runs.Preparer), or nil.
	preparer runs.Preparer
	clock    clock.Clock
	log      *slog.Logger
	metrics  *metrics
	poll     time.Duration
	// first is the partition this replica starts each pass at, so replicas
	// do not all contend on partition 0.
	first int
	wake  chan struct{}
	// sem bounds concurrent fires over every batch in flight.
	sem chan struct{}
}

func newScheduler(cfg *Config, st *schedstore.Store, starter runs.Starter) *scheduler {
	h := fnv.New32a()
	_, _ = h.Write([]byte(cfg.ReplicaID))
	preparer, _ := starter.(runs.Preparer)
	return &scheduler{
		preparer: preparer,
		store:    st, starter: starter, clock: cfg.Clock, log: cfg.Logger, metrics: cfg.metrics, poll: cfg.PollInterval,
		first: int(h.Sum32() % uint32(st.Partitions())), wake: make(chan struct{}, 1), sem: make(chan struct{}, fireWorkers),
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

// claimedFire is a claimed schedule, read and ready to fire at due.
type claimedFire struct {
	c   schedstore.Claimed
	rec *schedstore.Record // nil when the schedule was deleted
	// spec is nil when the stored spec no longer compiles (specErr).
	spec    compiledSpec
	specErr error
	due     time.Time
	// prep is the run of the fire at rec.Next, written ahead (nil: none).
	prep *preparedRun
}

// run loops until ctx ends. Each pass claims the fires due within
// claimAhead, reads their schedules, then starts each group at its due
// time (a timer in this loop) and commits the group in the background;
// the next pass begins once the last group was handed over. Between passes
// it waits until claimAhead before the earliest due time or the poll
// interval, whichever is sooner, or until notify.
func (s *scheduler) run(ctx context.Context) error {
	var inflight sync.WaitGroup
	defer inflight.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-s.wake:
		}
		full, err := s.pass(ctx, &inflight)
		if err != nil && ctx.Err() == nil {
			s.log.Error("scheduler pass failed", "err", err)
		}
		wait := s.poll
		if full {
			wait = 0
		} else if t, ok, err := s.store.EarliestDue(ctx, claimAhead); err == nil && ok {
			if d := t.Sub(s.clock.Now()); d < wait {
				wait = max(d, 0)
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

// pass claims every fire due within claimAhead (at most maxClaimedAhead),
// then hands them, in due order, to fireBatch at their due times. It
// returns true when it stopped at maxClaimedAhead.
func (s *scheduler) pass(ctx context.Context, inflight *sync.WaitGroup) (bool, error) {
	now := s.clock.Now()
	fires, full, err := s.claimAll(ctx, now, now.Add(claimAhead))
	slices.SortFunc(fires, func(a, b claimedFire) int { return a.due.Compare(b.due) })
	prepared := false
	for len(fires) > 0 {
		if !prepared && fires[0].due.After(s.clock.Now()) {
			// The fires due already are handed over; the rest wait for
			// their time, in which their runs are prepared.
			s.prepare(ctx, fires, now)
			prepared = true
		}
		if d := fires[0].due.Sub(s.clock.Now()); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				s.release(fires)
				return false, err
			case <-t.C:
			}
		}
		now := s.clock.Now()
		n := 1
		for n < len(fires) && !fires[n].due.After(now) {
			n++
		}
		group := fires[:n:n]
		fires = fires[n:]
		inflight.Add(1)
		go func() {
			defer inflight.Done()
			if err := s.fireBatch(ctx, group); err != nil && ctx.Err() == nil {
				s.log.Error("scheduler batch failed", "err", err)
			}
		}()
	}
	return full, err
}

// release hands back fires claimed ahead that this replica, shutting
// down, will not start, so that another replica (or this one restarted)
// fires them on time. If that fails, their lease hands them over later.
func (s *scheduler) release(fires []claimedFire) {
	cs := make([]schedstore.Claimed, len(fires))
	due := make([]time.Time, len(fires))
	for i, f := range fires {
		cs[i], due[i] = f.c, f.due
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.store.Release(ctx, cs, due); err != nil {
		s.log.Warn("could not release claimed fires; they fire after their lease", "n", len(cs), "err", err)
	}
	s.discard(ctx, fires)
}

// claimAll claims the fires of every partition due by horizon, all
// partitions at once, at most maxClaimedAhead in total.
func (s *scheduler) claimAll(ctx context.Context, now, horizon time.Time) ([]claimedFire, bool, error) {
	var (
		mu     sync.Mutex
		out    []claimedFire
		errOut error
		full   bool
		wg     sync.WaitGroup
	)
	n := s.store.Partitions()
	share := max(claimBatch, maxClaimedAhead/n)
	for i := range n {
		p := (s.first + i) % n
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []claimedFire
			var err error
			for len(mine) < share {
				var got []claimedFire
				got, err = s.claimPartition(ctx, p, now, horizon)
				mine = append(mine, got...)
				if err != nil || len(got) < claimBatch {
					break
				}
			}
			mu.Lock()
			defer mu.Unlock()
			out = append(out, mine...)
			full = full || len(mine) >= share
			if err != nil && errOut == nil {
				errOut = err
			}
		}()
	}
	wg.Wait()
	return out, full, errOut
}

// claimPartition claims up to claimBatch fires of partition p due by
// horizon (and in-flight ones whose lease ended by now), reads their
// schedules and compiles their specs.
func (s *scheduler) claimPartition(ctx context.Context, p int, now, horizon time.Time) ([]claimedFire, error) {
	claimed, err := s.store.Claim(ctx, p, now, horizon, claimLease, claimBatch)
	if err != nil || len(claimed) == 0 {
		return nil, err
	}
	recs, err := s.store.GetMany(ctx, claimed)
	if err != nil {
		// The claims stay in flight and are retried after their lease.
		return nil, err
	}
	out := make([]claimedFire, len(claimed))
	for i, c := range claimed {
		f := claimedFire{c: c, rec: recs[i], due: now}
		if f.rec != nil {
			f.spec, f.specErr = compileSpec(f.rec.Def.Spec)
			if f.specErr == nil && !f.rec.Next.IsZero() {
				if d := dueAt(f.spec, f.rec.ID, f.rec.Next); d.After(now) {
					f.due = d
				}
			}
		}
		out[i] = f
	}
	return out, nil
}

// prepare writes ahead the run of each claimed fire due after now (the
// claim's time), so that at its due time the start only makes it visible
// (runs.Preparer). pass calls it once it has handed over the fires that
// were due already, so they never wait for it. The overlap decision is
// still taken at the due time: a fire that does not start its prepared
// run discards it (discard). Preparing is an optimisation, so an error
// only leaves the fires to start in full.
func (s *scheduler) prepare(ctx context.Context, fires []claimedFire, now time.Time) {
	if s.preparer == nil {
		return
	}
	var reqs []runs.StartRequest
	var at []int
	for i, f := range fires {
		rec := f.rec
		if rec == nil || f.specErr != nil || rec.State.Paused || rec.State.Exhausted() || !rec.InFlight.IsZero() || rec.Next.IsZero() || !f.due.After(now) {
			continue
		}
		reqs = append(reqs, fireRequest(rec, rec.Next, workflowID(rec, rec.Next), runs.TriggerScheduled))
		at = append(at, i)
	}
	if len(reqs) == 0 {
		return
	}
	runIDs, err := s.preparer.Prepare(ctx, reqs)
	if err != nil {
		s.log.Warn("could not prepare the runs of claimed fires; they start in full", "n", len(reqs), "err", err)
		return
	}
	for j, i := range at {
		if runIDs[j] != "" {
			fires[i].prep = &preparedRun{wf: reqs[j].WorkflowID, runID: runIDs[j]}
		}
	}
}

// discard deletes the prepared runs that the fires did not start.
func (s *scheduler) discard(ctx context.Context, fires []claimedFire) {
	if s.preparer == nil {
		return
	}
	var unused []runs.StartRequest
	for _, f := range fires {
		if f.prep != nil && !f.prep.used {
			unused = append(unused, runs.StartRequest{Namespace: f.c.Namespace, WorkflowID: f.prep.wf, PreparedRunID: f.prep.runID})
		}
	}
	if len(unused) == 0 {
		return
	}
	if err := s.preparer.Discard(ctx, unused); err != nil {
		s.log.Warn("could not discard prepared runs; they expire on their own", "n", len(unused), "err", err)
	}
}

// tick runs one pass for tests that drive the clock: it claims and
// processes every fire due at the clock's current time, all partitions at
// once, and returns how many claims it processed. The first error is
// returned after the pass; failed fires stay claimed and are retried once
// their lease ends.
func (s *scheduler) tick(ctx context.Context) (int, error) {
	var (
		mu     sync.Mutex
		errOut error
		total  int
		wg     sync.WaitGroup
	)
	n := s.store.Partitions()
	for i := range n {
		p := (s.first + i) % n
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := s.drainPartition(ctx, p)
			mu.Lock()
			defer mu.Unlock()
			total += got
			if err != nil && errOut == nil {
				errOut = err
			}
		}()
	}
	wg.Wait()
	return total, errOut
}

// drainPartition claims and processes partition p's due fires until a
// claim comes back short.
func (s *scheduler) drainPartition(ctx context.Context, p int) (int, error) {
	total := 0
	for {
		now := s.clock.Now()
		fires, err := s.claimPartition(ctx, p, now, now)
		if err != nil {
			return total, err
		}
		total += len(fires)
		if err := s.fireBatch(ctx, fires); err != nil {
			return total, err
		}
		if len(fires) < claimBatch {
			return total, nil
		}
	}
}

// fireBatch processes claimed fires concurrently (at most fireWorkers over
// the replica) and commits them in one round trip. A fire that fails stays
// claimed and is retried after its lease; the first error is returned once
// the others are committed.
func (s *scheduler) fireBatch(ctx context.Context, fires []claimedFire) error {
	if len(fires) == 0 {
		return nil
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		errOut error
	)
	defer s.discard(ctx, fires)
	pending := make([]*schedstore.Pending, len(fires))
	lags := make([][]time.Duration, len(fires))
	for i, cf := range fires {
		s.sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-s.sem; wg.Done() }()
			p, lag, err := s.process(ctx, cf, s.clock.Now())
			if err != nil {
				s.log.Warn("fire failed; will retry", "namespace", cf.c.Namespace, "schedule", cf.c.ID, "err", err)
				mu.Lock()
				errOut = cmp.Or(errOut, err)
				mu.Unlock()
				return
			}
			pending[i], lags[i] = p, lag
		}()
	}
	wg.Wait()
	// One round trip commits the batch; a crash before it leaves the
	// claims in flight, to be re-fired (and deduplicated) after the lease.
	batch := make([]schedstore.Pending, 0, len(pending))
	var soonest time.Time
	for _, p := range pending {
		if p != nil {
			batch = append(batch, *p)
			if d := p.Commit.Due; !d.IsZero() && (soonest.IsZero() || d.Before(soonest)) {
				soonest = d
			}
		}
	}
	if err := s.store.CommitMany(ctx, batch); err != nil {
		return err
	}
	for i, p := range pending {
		if p != nil {
			s.observe(p.Commit.Executions, lags[i])
		}
	}
	// A schedule that fires again soon is due before the loop's next poll.
	s.notify(soonest)
	return errOut
}

// observe records the committed outcomes of one claimed fire and the lags
// of its runs started at their due time in the metrics.
func (s *scheduler) observe(execs []schedstore.Execution, lags []time.Duration) {
	if s.metrics == nil {
		return
	}
	for _, e := range execs {
		s.metrics.fired(outcomeName(e.Outcome))
	}
	for _, d := range lags {
		s.metrics.lag(d)
	}
}

// outcomeName is an outcome's proto name without its prefix ("STARTED").
func outcomeName(o schedstore.Outcome) string {
	return strings.TrimPrefix(pb.ExecutionOutcome(o).String(), "EXECUTION_OUTCOME_")
}

// process acts on one claimed schedule: every nominal time due at now (up
// to maxFiresPerClaim) is missed, coalesced, skipped, buffered or started,
// then one commit records it all and moves the due entry.
// cf.rec is the schedule as read after the claim; nil when it was deleted.
// It returns the commit to apply and the lags of the runs it started at
// their due time.
func (s *scheduler) process(ctx context.Context, cf claimedFire, now time.Time) (*schedstore.Pending, []time.Duration, error) {
	rec, spec, c := cf.rec, cf.spec, cf.c
	out := &schedstore.Pending{Namespace: c.Namespace, ID: c.ID, Commit: schedstore.Commit{Claimed: true}}
	if rec == nil {
		return out, nil, nil
	}
	f := newFirer(s.store, s.starter, s.clock, rec)
	f.prep = cf.prep
	f.c.Claimed, f.c.ExpectGeneration, f.c.ExpectNext = true, rec.Generation, rec.Next
	if err := cf.specErr; err != nil {
		// Stored specs were valid when stored; a spec the engine no longer
		// accepts stops firing, with a record saying why.
		f.record(schedstore.Execution{Nominal: rec.Next, Outcome: schedstore.OutcomeFailed, Reason: "spec no longer compiles: " + err.Error(), Trigger: int(runs.TriggerScheduled)})
		out.Commit = f.c
		return out, nil, nil
	}
	var lags []time.Duration // of the runs started at their due time
	n := rec.Next
	active := !rec.State.Paused
	if cn := rec.InFlight; active && !cn.IsZero() && (n.IsZero() || cn.Before(n)) && !rec.State.Exhausted() {
		// An update overtook this claim after the fire's time had passed:
		// fire it now, under the current definition; if the claimer that
		// an expired lease replaced had started it, its id finds that run.
		if now.Sub(cn) > f.policy.CatchupWindow {
			f.miss(cn, fmt.Sprintf("older than the catchup window (%s)", f.policy.CatchupWindow))
		} else if _, err := f.fire(ctx, cn, inFlightWorkflowID(rec), runs.TriggerScheduled, f.policy.Overlap); err != nil {
			return nil, nil, err
		}
	}
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
			e, err := f.fire(ctx, n, workflowID(rec, n), runs.TriggerScheduled, f.policy.Overlap)
			if err != nil {
				return nil, nil, err
			}
			if e.Outcome == schedstore.OutcomeStarted {
				lags = append(lags, e.Actual.Sub(dueAt(spec, rec.ID, n)))
			}
		}
		n = next
	}
	f.c.Next, f.c.Decrement = n, f.started
	if !n.IsZero() {
		f.c.Due = dueAt(spec, rec.ID, n)
	}
	out.Commit = f.c
	return out, lags, nil
}

// onClosed handles a closed run that a schedule started: it forgets the
// run, pauses the schedule when its policy says so, and starts the next
// buffered fire. It is idempotent: a repeated event finds the run forgotten
// and the buffered fire started under the same workflow id.
func (s *scheduler) onClosed(ctx context.Context, ev runs.Closed) error {
	if ev.ScheduleID == "" {
		return nil
	}
	s.metrics.runClosed(ev.Status.String())
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
	if _, err := s.store.Commit(ctx, ev.Namespace, ev.ScheduleID, f.commit()); err != nil {
		return err
	}
	for _, e := range f.c.Executions {
		s.metrics.fired(outcomeName(e.Outcome))
	}
	return nil
}
