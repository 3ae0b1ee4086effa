package backoff

import (
	"context"
	"testing"
	"time"
)

func TestDelaysDoubleUpToMaxAndReset(t *testing.T) {
	t.Parallel()
	b := New(10*time.Millisecond, 50*time.Millisecond)
	var got []time.Duration
	for range 5 {
		got = append(got, b.Next())
	}
	want := []time.Duration{10, 20, 40, 50, 50}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("delays %v, want %v ms", got, want)
		}
	}
	b.Reset()
	if d := b.Next(); d != 10*time.Millisecond {
		t.Errorf("after Reset, Next = %s, want 10ms", d)
	}
}

func TestSleepStopsWithTheContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if Sleep(ctx, time.Hour) {
		t.Error("Sleep reported the full delay with an ended context")
	}
	if !Sleep(context.Background(), 0) {
		t.Error("Sleep(0) did not report the delay passed")
	}
}
