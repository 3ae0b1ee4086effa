package schedstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sundial-dev/sundial/internal/errs"
	"github.com/sundial-dev/sundial/internal/testredis"
	"github.com/sundial-dev/sundial/schedule"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type testBundle struct {
	store *Store
	ns    string
	rdb   redis.UniversalClient
}

func setup(t testing.TB, be testredis.Backend) *testBundle {
	t.Helper()
	rb := be.New(t)
	return &testBundle{store: New(rb.Client, rb.Prefix, 4), ns: rb.Namespace, rdb: rb.Client}
}

func forEachBackend(t *testing.T, fn func(t *testing.T, b *testBundle)) {
	t.Helper()
	for _, be := range testredis.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, setup(t, be))
		})
	}
}

func (b *testBundle) create(t testing.TB, id string, next time.Time) {
	t.Helper()
	def := Def{Action: schedule.Action{WorkflowType: "wf", TaskQueue: "q"}, Spec: schedule.Spec{CronExpressions: []string{"@every 1m"}}}
	if _, err := b.store.Create(context.Background(), b.ns, id, "", Mutation{Def: &def, State: &schedule.State{}, Next: next, Due: next, Now: t0}); err != nil {
		t.Fatal(err)
	}
}

func TestKeysShareOneSlotPerSchedule(t *testing.T) {
	t.Parallel()
	k := keys{prefix: "p", partitions: 16}
	for _, id := range []string{"a", "b:c", "x{y}"} {
		ks := k.all("ns", id)
		tag := ks[0][strings.Index(ks[0], "{") : strings.Index(ks[0], "}")+1]
		for _, key := range ks {
			if !strings.HasPrefix(key, "p:"+tag+":") {
				t.Fatalf("key %q does not start with the hash tag %q", key, tag)
			}
		}
	}
}

func TestStoreClaimAndRecover(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *testBundle) {
		ctx := context.Background()
		b.create(t, "s", t0.Add(time.Minute))
		p := b.store.k.partition(b.ns, "s")
		if c, _ := b.store.Claim(ctx, p, t0, t0.Add(59*time.Second), time.Minute, 10); len(c) != 0 {
			t.Fatalf("claimed %v before it was due within the horizon", c)
		}
		// Claimed ahead: due within the horizon, 300 ms before its time.
		now := t0.Add(time.Minute - 300*time.Millisecond)
		c, err := b.store.Claim(ctx, p, now, t0.Add(time.Minute), 30*time.Second, 10)
		if err != nil || len(c) != 1 || c[0].ID != "s" || c[0].Namespace != b.ns {
			t.Fatalf("claim = %v, %v", c, err)
		}
		// The lease runs from now, not from the horizon: a far horizon does
		// not take the claim over early.
		if c, _ := b.store.Claim(ctx, p, t0.Add(80*time.Second), t0.Add(time.Hour), 30*time.Second, 10); len(c) != 0 {
			t.Fatalf("claimed %v twice within the lease", c)
		}
		at := t0.Add(91 * time.Second)
		if c, _ := b.store.Claim(ctx, p, at, at, 30*time.Second, 10); len(c) != 1 {
			t.Fatalf("an expired claim was not recovered: %v", c)
		}
	})
}

// A claimer that looks ahead learns when to claim next, and a claim it
// hands back unused is due again at once, not after its lease.
func TestStoreEarliestDueAndRelease(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *testBundle) {
		ctx := context.Background()
		due := t0.Add(time.Minute)
		b.create(t, "r", due)
		if at, ok, err := b.store.EarliestDue(ctx, 300*time.Millisecond); err != nil || !ok || !at.Equal(due.Add(-300*time.Millisecond)) {
			t.Fatalf("EarliestDue = %v %v %v, want 300ms before %v", at, ok, err, due)
		}
		p := b.store.k.partition(b.ns, "r")
		now := due.Add(-200 * time.Millisecond)
		c, err := b.store.Claim(ctx, p, now, due, 30*time.Second, 10)
		if err != nil || len(c) != 1 {
			t.Fatalf("claim = %v, %v", c, err)
		}
		// Only the in-flight deadline is left, and it is not moved ahead.
		if at, ok, _ := b.store.EarliestDue(ctx, 300*time.Millisecond); !ok || !at.Equal(now.Add(30*time.Second)) {
			t.Fatalf("EarliestDue = %v, want the claim's deadline", at)
		}
		if err := b.store.Release(ctx, c, []time.Time{due}); err != nil {
			t.Fatal(err)
		}
		if c, _ := b.store.Claim(ctx, p, due, due, 30*time.Second, 10); len(c) != 1 {
			t.Fatalf("a released claim was not due again: %v", c)
		}
		// The claim taken again is released once: a second release finds it
		// no longer in flight and changes nothing.
		if err := b.store.Release(ctx, c, []time.Time{due}); err != nil {
			t.Fatal(err)
		}
		if err := b.store.Release(ctx, c, []time.Time{due}); err != nil {
			t.Fatal(err)
		}
		if n, _ := b.store.DueCount(ctx, p); n != 1 {
			t.Fatalf("due entries = %d, want 1", n)
		}
	})
}

func TestStoreCommitGuards(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *testBundle) {
		ctx := context.Background()
		b.create(t, "s", t0.Add(time.Minute))
		rec, err := b.store.Get(ctx, b.ns, "s")
		if err != nil {
			t.Fatal(err)
		}
		c := Commit{Claimed: true, ExpectGeneration: rec.Generation, ExpectNext: rec.Next, Next: t0.Add(2 * time.Minute), Due: t0.Add(2 * time.Minute),
			Inc: map[string]int64{CountActions: 1}, Executions: []Execution{{ID: "x1", ScheduleID: "s", Nominal: rec.Next, Outcome: OutcomeStarted}}}
		if res, err := b.store.Commit(ctx, b.ns, "s", c); err != nil || res != CommitOK {
			t.Fatalf("commit = %v, %v", res, err)
		}
		if res, _ := b.store.Commit(ctx, b.ns, "s", c); res != CommitStale {
			t.Fatalf("second commit of one fire = %v, want stale", res)
		}
		rec, _ = b.store.Get(ctx, b.ns, "s")
		if rec.Counts.Actions != 1 || !rec.Next.Equal(t0.Add(2*time.Minute)) {
			t.Fatalf("after commits: %+v", rec)
		}
		// An update between claim and commit wins the next time.
		c.ExpectNext, c.ExpectGeneration = rec.Next, rec.Generation
		if _, err := b.store.Replace(ctx, b.ns, "s", "", Mutation{SetNext: true, Next: t0.Add(time.Hour), Due: t0.Add(time.Hour), Now: t0}); err != nil {
			t.Fatal(err)
		}
		c.Executions[0].ID = "x2"
		if res, _ := b.store.Commit(ctx, b.ns, "s", c); res != CommitMoved {
			t.Fatalf("commit after update = %v, want moved", res)
		}
		rec, _ = b.store.Get(ctx, b.ns, "s")
		if !rec.Next.Equal(t0.Add(time.Hour)) || rec.Counts.Actions != 2 {
			t.Fatalf("after moved commit: next %v actions %d", rec.Next, rec.Counts.Actions)
		}
		if _, err := b.store.Replace(ctx, b.ns, "s", "stale", Mutation{Now: t0}); !errors.Is(err, errs.ErrConflict) {
			t.Fatalf("stale token: %v", err)
		}
		if err := b.store.Delete(ctx, b.ns, "s"); err != nil {
			t.Fatal(err)
		}
		if res, _ := b.store.Commit(ctx, b.ns, "s", c); res != CommitGone {
			t.Fatalf("commit after delete = %v", res)
		}
	})
}

func TestStoreExecutionsPaging(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *testBundle) {
		ctx := context.Background()
		const per = ExecutionsPerSchedule // with 3 schedules, more than execFetch per source, so merging must respect truncated sources
		for s := range 3 {
			id := fmt.Sprintf("s%d", s)
			b.create(t, id, t0)
			for chunk := 0; chunk < per; chunk += 50 {
				var ex []Execution
				for i := chunk; i < chunk+50; i++ {
					ex = append(ex, Execution{ID: fmt.Sprintf("%s-%04d", id, i), ScheduleID: id, Nominal: t0.Add(time.Duration(i*3+s) * time.Second), Outcome: Outcome(1 + i%3)})
				}
				if _, err := b.store.Commit(ctx, b.ns, id, Commit{Executions: ex}); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, asc := range []bool{true, false} {
			var got []Execution
			cur := ""
			for range 1000 {
				page, next, err := b.store.Executions(ctx, ExecQuery{Namespace: b.ns, Ascending: asc, Limit: 97, Cursor: cur})
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, page...)
				if cur = next; cur == "" {
					break
				}
			}
			if len(got) != 3*per {
				t.Fatalf("asc=%v: %d records, want %d", asc, len(got), 3*per)
			}
			for i := 1; i < len(got); i++ {
				a, c := got[i-1].Nominal, got[i].Nominal
				if (asc && !a.Before(c)) || (!asc && !a.After(c)) {
					t.Fatalf("asc=%v: out of order at %d: %v then %v", asc, i, a, c)
				}
			}
		}
		from, to := t0.Unix(), t0.Add(299*time.Second).Unix()
		page, _, err := b.store.Executions(ctx, ExecQuery{Namespace: b.ns, ScheduleID: "s1", Outcomes: []Outcome{OutcomeStarted}, From: &from, To: &to, Limit: 1000})
		if err != nil || len(page) != 34 {
			t.Fatalf("filtered: %d records, %v", len(page), err)
		}
	})
}

func BenchmarkStoreCreate(b *testing.B) {
	tb := setup(b, testredis.Backend{Name: "redis", New: testredis.Real})
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		tb.create(b, fmt.Sprintf("s%d", i), t0.Add(time.Minute))
	}
}

// BenchmarkStoreFire is the scheduler's hot path per fire without the run
// store: claim, read and commit, each batched per partition as the
// scheduler does.
func BenchmarkStoreFire(b *testing.B) {
	tb := setup(b, testredis.Backend{Name: "redis", New: testredis.Real})
	ctx := context.Background()
	const n = 1000
	for i := range n {
		tb.create(b, fmt.Sprintf("s%d", i), t0)
	}
	now := t0
	b.ResetTimer()
	fires := 0
	for b.Loop() {
		now = now.Add(time.Minute)
		for p := range tb.store.Partitions() {
			cs, err := tb.store.Claim(ctx, p, now, now, time.Minute, 256)
			if err != nil {
				b.Fatal(err)
			}
			recs, err := tb.store.GetMany(ctx, cs)
			if err != nil {
				b.Fatal(err)
			}
			batch := make([]Pending, len(cs))
			for i, c := range cs {
				r := recs[i]
				batch[i] = Pending{Namespace: c.Namespace, ID: c.ID, Commit: Commit{Claimed: true, ExpectGeneration: r.Generation, ExpectNext: r.Next,
					Next: r.Next.Add(time.Minute), Due: r.Next.Add(time.Minute), Inc: map[string]int64{CountActions: 1},
					Executions: []Execution{{ID: fmt.Sprint(fires), ScheduleID: c.ID, Nominal: r.Next, Actual: now, Outcome: OutcomeStarted}},
					Recent:     []Action{{Nominal: r.Next, Actual: now, WorkflowID: c.ID, RunID: "r"}}}}
				fires++
			}
			if err := tb.store.CommitMany(ctx, batch); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(fires)/b.Elapsed().Seconds(), "fires/s")
}

// TestStoreReplaceManyAnswersEachReplacement: a batch of replacements, in
// one round trip, applies the good ones and answers a stale token or a
// missing schedule for each of those alone, changing nothing of them,
// also when Redis has forgotten its scripts (restarted, SCRIPT FLUSH).
func TestStoreReplaceManyAnswersEachReplacement(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *testBundle) {
		ctx := context.Background()
		b.create(t, "a", t0.Add(time.Minute))
		b.create(t, "b", t0.Add(time.Minute))
		if err := b.rdb.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		paused := &schedule.State{Paused: true, Note: "batch"}
		res := b.store.ReplaceMany(ctx, []Replacement{
			{Namespace: b.ns, ID: "a", Mutation: Mutation{State: paused, Now: t0}},
			{Namespace: b.ns, ID: "b", Token: "stale", Mutation: Mutation{State: paused, Now: t0}},
			{Namespace: b.ns, ID: "missing", Mutation: Mutation{State: paused, Now: t0}},
		})
		if len(res) != 3 || res[0].Err != nil || res[0].Version == "" {
			t.Fatalf("results %+v, want the first applied", res)
		}
		if !errors.Is(res[1].Err, errs.ErrConflict) || !errors.Is(res[2].Err, errs.ErrNotFound) {
			t.Fatalf("results %+v, want a conflict then not found", res)
		}
		for id, want := range map[string]bool{"a": true, "b": false} {
			rec, err := b.store.Get(ctx, b.ns, id)
			if err != nil {
				t.Fatal(err)
			}
			if rec.State.Paused != want {
				t.Fatalf("%s paused %v, want %v", id, rec.State.Paused, want)
			}
		}
	})
}
