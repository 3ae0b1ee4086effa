package server

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/sundial-dev/sundial/internal/runstore"
	"golang.org/x/sync/errgroup"
)

// timerBatch is how many due entries one partition hands out per claim.
const timerBatch = 100

// timerWorkers bounds the timer entries one replica fires at once.
const timerWorkers = 32

// maxTimerRounds bounds one pass, so a flood of due entries cannot starve
// the loop's other work.
const maxTimerRounds = 10

// tick is one pass of the timer loop: it claims every due timer entry
// (delayed starts, retry backoffs, run and execution timeouts, lapsed
// leases, cron chains) and fires it, writes the index entries of the runs
// started since the last flush once starts pause, then delivers closed-run events to the
// scheduler. Replicas may run it at once: claims are atomic, so each
// entry is handled by one of them. Tests call it after moving a fake clock.
func (c *runsComponent) tick(ctx context.Context) error {
	var errs []error
	for range maxTimerRounds {
		// Entries claimed before an error are fired all the same.
		due, claimErr := c.store.ClaimDue(ctx, timerBatch)
		// Entries fire concurrently, so that the run store's pipeliner
		// sends their scripts together rather than one round trip each.
		// Each script checks the run's state, as it must when two
		// replicas fire entries of one run at once.
		err := eachLimit(due, timerWorkers, func(_ int, t runstore.Timer) error {
			err := c.store.Fire(ctx, t)
			if err != nil {
				c.log.WarnContext(ctx, "timer failed; it fires again later", "timer", t.Member, "err", err)
			}
			return err
		})
		if err != nil {
			errs = append(errs, err)
		}
		if claimErr != nil {
			return errors.Join(append(errs, claimErr)...)
		}
		if len(due) < timerBatch {
			break
		}
	}
	if c.store.IndexFlushDue() {
		if err := c.store.FlushIndexesPaced(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if err := c.deliverClosed(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// closedWorkers bounds the schedules whose closed-run events one pass
// handles at once.
const closedWorkers = 16

// outboxBatch is how many closed-run events one pass reads per partition.
const outboxBatch = 100

// outboxReclaimIdle is how long an event may sit unacknowledged with
// another replica before this one takes it over.
const outboxReclaimIdle = time.Minute

// deliverClosed hands closed-run events of schedule-started runs to the
// scheduler's handler, acknowledging each after the handler accepted it;
// a failed one stays pending and is offered again on the next pass.
func (c *runsComponent) deliverClosed(ctx context.Context) error {
	h := c.onClosed
	if h == nil {
		return nil
	}
	idle := time.Duration(0)
	if now := time.Now(); now.Sub(c.lastReclaim) >= outboxReclaimIdle/2 {
		c.lastReclaim, idle = now, outboxReclaimIdle
	}
	evs, err := c.store.ReadClosed(ctx, c.outboxGroup, c.cfg.ReplicaID, outboxBatch, idle)
	if err != nil {
		return err
	}
	// The events of one schedule are handled in the order read, one at a
	// time (each may commit to the schedule); those of different schedules
	// at once, at most closedWorkers, so that a busy namespace's closes do
	// not wait for one another's round trips.
	groups := map[string][]runstore.ClosedEvent{}
	var order []string
	for _, ev := range evs {
		k := ev.Namespace + "/" + ev.ScheduleID
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], ev)
	}
	handled := make([][]runstore.ClosedEvent, len(order))
	err = eachLimit(order, closedWorkers, func(i int, k string) error {
		var errs []error
		for _, ev := range groups[k] {
			if err := h(ctx, ev.Closed); err != nil {
				errs = append(errs, err)
				continue
			}
			handled[i] = append(handled[i], ev)
		}
		return errors.Join(errs...)
	})
	// The handled events are acknowledged together; a crash before that
	// offers them again, and the handler is idempotent.
	return errors.Join(err, c.store.AckClosed(ctx, c.outboxGroup, slices.Concat(handled...)...))
}

// eachLimit calls fn for every item, at most limit at once, and returns
// every error, joined.
func eachLimit[T any](items []T, limit int, fn func(i int, item T) error) error {
	errs := make([]error, len(items))
	var g errgroup.Group
	g.SetLimit(limit)
	for i, it := range items {
		g.Go(func() error {
			errs[i] = fn(i, it)
			return nil
		})
	}
	_ = g.Wait()
	return errors.Join(errs...)
}
