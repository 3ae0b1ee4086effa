// Package backoff is the doubling, capped retry delay that the client and
// the worker share.
package backoff

import (
	"context"
	"time"
)

// Backoff hands out retry delays: initial, then doubling up to max.
type Backoff struct{ initial, max, cur time.Duration }

// New returns a Backoff starting at initial and capped at max.
func New(initial, max time.Duration) *Backoff {
	return &Backoff{initial: initial, max: max, cur: initial}
}

// Next returns the delay to wait now and doubles the following one.
func (b *Backoff) Next() time.Duration {
	d := b.cur
	b.cur = min(2*b.cur, b.max)
	return d
}

// Reset starts again from the initial delay, after a success.
func (b *Backoff) Reset() { b.cur = b.initial }

// Sleep waits for d, or until ctx ends; it reports whether d passed.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
