package runstore

import (
	"context"
	"testing"
	"time"

	"github.com/sundial-dev/sundial/internal/runs"
)

// TestOutboxEventIsTakenOverFromADeadConsumer: a closed-run event one
// consumer read and never acknowledged (its replica died) stays pending;
// another consumer gets it only by reclaiming, and once that one
// acknowledges it, nobody gets it again.
func TestOutboxEventIsTakenOverFromADeadConsumer(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, tb *testBundle) {
		ctx := context.Background()
		const group = "g"
		req := tb.req("ob")
		req.Origin = runs.Origin{ScheduleID: "s1", NominalTime: epoch, Trigger: runs.TriggerScheduled}
		res, err := tb.store.Start(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		tasks := tb.claimAll(t, 1)
		if len(tasks) != 1 {
			t.Fatalf("claimed %d tasks, want 1", len(tasks))
		}
		if err := tb.store.Complete(ctx, refOf(tasks[0]), nil); err != nil {
			t.Fatal(err)
		}
		read := func(consumer string, reclaim time.Duration) []ClosedEvent {
			t.Helper()
			evs, err := tb.store.ReadClosed(ctx, group, consumer, 10, reclaim)
			if err != nil {
				t.Fatal(err)
			}
			return evs
		}
		if evs := read("a", 0); len(evs) != 1 || evs[0].RunID != res.RunID || evs[0].ScheduleID != "s1" {
			t.Fatalf("consumer a read %+v, want the closed run %s", evs, res.RunID)
		}
		if evs := read("b", 0); len(evs) != 0 {
			t.Fatalf("consumer b read %+v without reclaiming, want nothing (a holds it)", evs)
		}
		// The event must have been idle for the reclaim's minimum, 1 ms
		// (the least Redis takes), on the server's own clock: miniredis's
		// is set ahead; a real Redis's cannot be, so the test lets 2 ms pass.
		if m := tb.redis.Mini; m != nil {
			m.SetTime(time.Now().Add(time.Second))
		} else {
			time.Sleep(2 * time.Millisecond)
		}
		evs := read("b", time.Millisecond)
		if len(evs) != 1 || evs[0].RunID != res.RunID {
			t.Fatalf("consumer b reclaimed %+v, want the event a left", evs)
		}
		if err := tb.store.AckClosed(ctx, group, evs[0]); err != nil {
			t.Fatal(err)
		}
		for _, c := range []string{"a", "b"} {
			if evs := read(c, time.Millisecond); len(evs) != 0 {
				t.Fatalf("consumer %s read %+v after the acknowledgement, want nothing", c, evs)
			}
		}
	})
}
