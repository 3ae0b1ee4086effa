// Package testsync holds the helpers tests use to wait for a signal
// instead of sleeping.
package testsync

import (
	"testing"
	"time"
)

// Timeout is how long Recv waits: long enough for a loaded CI machine,
// short enough that a hung test fails with a message rather than at the
// package timeout.
const Timeout = 20 * time.Second

// Recv receives from ch, or fails the test after Timeout naming what it
// waited for.
func Recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(Timeout):
		t.Fatalf("timed out after %s waiting for %s", Timeout, what)
		panic("unreachable")
	}
}
