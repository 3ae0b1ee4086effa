package server

import (
	"context"
	"errors"
)

// timerBatch is how many due entries one partition hands out per claim.
const timerBatch = 100

// maxTimerRounds bounds one pass, so a flood of due entries cannot starve
// the loop's other work.
const maxTimerRounds = 10

// tick is one pass of the timer loop: it claims every due timer entry
// (delayed starts, retry backoffs, run and execution timeouts, lapsed
// leases, cron chains) and fires it, then delivers closed-run events to
// the scheduler. Replicas may run it at once: claims are atomic, so each
// entry is handled by one of them. Tests call it after moving a fake clock.
func (c *runsComponent) tick(ctx context.Context) error {
	var errs []error
	for range maxTimerRounds {
		due, err := c.store.ClaimDue(ctx, timerBatch)
		if err != nil {
			return err
		}
		for _, t := range due {
			if err := c.store.Fire(ctx, t); err != nil {
				c.log.WarnContext(ctx, "timer failed; it fires again later", "timer", t.Member, "err", err)
				errs = append(errs, err)
			}
		}
		if len(due) < timerBatch {
			break
		}
	}
	if err := c.deliverClosed(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// deliverClosed is filled in with the outbox consumer.
func (c *runsComponent) deliverClosed(ctx context.Context) error { return nil }
