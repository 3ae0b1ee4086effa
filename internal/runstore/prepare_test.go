package runstore

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/sundial-dev/sundial/internal/runs"
	"github.com/sundial-dev/sundial/schedule"
)

// fullReq is a scheduler-style start (IfNotExists) that sets every field
// a run hash can hold.
func (tb *testBundle) fullReq(wf string) runs.StartRequest {
	return runs.StartRequest{Namespace: tb.ns, WorkflowID: wf, WorkflowType: "T", TaskQueue: "q", IfNotExists: true,
		Input: json.RawMessage(`{"n":1}`), RunTimeout: time.Minute, ExecutionTimeout: time.Hour, HeartbeatTimeout: 5 * time.Second,
		RetryPolicy: &schedule.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 3},
		Memo:        map[string]json.RawMessage{"k": json.RawMessage(`"v"`)},
		Origin:      runs.Origin{ScheduleID: "s", NominalTime: epoch.Add(-time.Second), Trigger: runs.TriggerScheduled}}
}

func (tb *testBundle) prepare(t *testing.T, reqs ...runs.StartRequest) []runs.StartRequest {
	t.Helper()
	ids, err := tb.store.Prepare(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != len(reqs) {
		t.Fatalf("%d run ids for %d requests", len(ids), len(reqs))
	}
	for i := range reqs {
		if ids[i] == "" {
			t.Fatalf("no run id for %s", reqs[i].WorkflowID)
		}
		reqs[i].PreparedRunID = ids[i]
	}
	return reqs
}

func (tb *testBundle) runKey(req runs.StartRequest, rid string) string {
	return tb.store.k.run(tb.store.k.partition(req.Namespace, req.WorkflowID), req.Namespace, req.WorkflowID, rid)
}

// TestPreparedRunIsInvisibleUntilStarted: a prepared run expires on its
// own and nothing names it (no workflow id, queue entry or index entry);
// its start makes it exactly the run a full start of the same request
// makes, under the prepared run id and without the expiry.
func TestPreparedRunIsInvisibleUntilStarted(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, tb *testBundle) {
		ctx := context.Background()
		reqs := tb.prepare(t, tb.fullReq("p1"), tb.fullReq("p2"), tb.fullReq("p3"))
		for _, req := range reqs {
			if _, err := tb.store.Get(ctx, tb.ns, req.WorkflowID, ""); !errors.Is(err, runs.ErrNotFound) {
				t.Fatalf("prepared %s is visible: %v", req.WorkflowID, err)
			}
			if ttl := tb.redis.Client.PTTL(ctx, tb.runKey(req, req.PreparedRunID)).Val(); ttl <= 0 || ttl > preparedTTL {
				t.Fatalf("prepared run's TTL %s, want (0, %s]", ttl, preparedTTL)
			}
		}
		if got := tb.claimAll(t, 10); len(got) != 0 {
			t.Fatalf("claimed %d tasks of prepared runs", len(got))
		}
		if ids := tb.listIDs(t, runs.StatusUnspecified); len(ids) != 0 {
			t.Fatalf("listed prepared runs %v", ids)
		}

		tb.clock.Advance(time.Second)
		outs := tb.store.StartMany(ctx, reqs)
		full, err := tb.store.Start(ctx, tb.fullReq("f"))
		if err != nil {
			t.Fatal(err)
		}
		want, err := tb.store.Get(ctx, tb.ns, "f", full.RunID)
		if err != nil {
			t.Fatal(err)
		}
		for i, req := range reqs {
			res, err := outs[i].Get()
			if err != nil || res.RunID != req.PreparedRunID || res.Existing {
				t.Fatalf("start of prepared %s: %+v, %v; want run %s, new", req.WorkflowID, res, err, req.PreparedRunID)
			}
			got, err := tb.store.Get(ctx, tb.ns, req.WorkflowID, "")
			if err != nil {
				t.Fatal(err)
			}
			got.WorkflowID, got.RunID = want.WorkflowID, want.RunID
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("prepared run after its start:\n%+v\nfull start of the same request:\n%+v", got, want)
			}
			if ttl := tb.redis.Client.PTTL(ctx, tb.runKey(req, req.PreparedRunID)).Val(); ttl != -1 {
				t.Fatalf("started run still expires (TTL %s)", ttl)
			}
		}
		if got := tb.claimAll(t, 10); len(got) != 4 {
			t.Fatalf("claimed %d tasks, want 4", len(got))
		}
		if ids := tb.listIDs(t, runs.StatusUnspecified); len(ids) != 4 {
			t.Fatalf("listed %v, want 4 runs", ids)
		}
	})
}

// TestPreparedRunOfATakenWorkflowID: a prepared run whose workflow id
// has a run (a fire repeated after a crash) is deleted, and its start
// answers the existing run; a repeated start of a started prepared run
// answers that run and keeps it; Discard deletes only unstarted ones.
func TestPreparedRunOfATakenWorkflowID(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, tb *testBundle) {
		ctx := context.Background()
		first, err := tb.store.Start(ctx, tb.fullReq("taken"))
		if err != nil {
			t.Fatal(err)
		}
		late := tb.prepare(t, tb.fullReq("taken"))[0]
		res, err := tb.store.Start(ctx, late)
		if err != nil || !res.Existing || res.RunID != first.RunID {
			t.Fatalf("start of a prepared run of a taken id: %+v, %v; want existing %s", res, err, first.RunID)
		}
		if n := tb.redis.Client.Exists(ctx, tb.runKey(late, late.PreparedRunID)).Val(); n != 0 {
			t.Fatal("the unneeded prepared run was kept")
		}

		again := tb.prepare(t, tb.fullReq("again"))[0]
		for i := range 2 {
			res, err := tb.store.Start(ctx, again)
			if err != nil || res.RunID != again.PreparedRunID || res.Existing != (i == 1) {
				t.Fatalf("start %d of prepared run: %+v, %v", i+1, res, err)
			}
		}
		unused := tb.prepare(t, tb.fullReq("unused"))[0]
		if err := tb.store.Discard(ctx, []runs.StartRequest{again, unused}); err != nil {
			t.Fatal(err)
		}
		if _, err := tb.store.Get(ctx, tb.ns, "again", again.PreparedRunID); err != nil {
			t.Fatalf("Discard deleted a started run: %v", err)
		}
		if n := tb.redis.Client.Exists(ctx, tb.runKey(unused, unused.PreparedRunID)).Val(); n != 0 {
			t.Fatal("Discard kept an unstarted prepared run")
		}
	})
}

// TestExpiredPreparedRunStartsInFull: a start whose prepared run is gone
// starts the run in full, with every field of its request.
func TestExpiredPreparedRunStartsInFull(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, tb *testBundle) {
		ctx := context.Background()
		req := tb.prepare(t, tb.fullReq("gone"))[0]
		if err := tb.redis.Client.Del(ctx, tb.runKey(req, req.PreparedRunID)).Err(); err != nil {
			t.Fatal(err)
		}
		res, err := tb.store.Start(ctx, req)
		if err != nil || res.Existing || res.RunID == "" {
			t.Fatalf("start: %+v, %v", res, err)
		}
		got, err := tb.store.Get(ctx, tb.ns, "gone", "")
		if err != nil {
			t.Fatal(err)
		}
		if got.RunID != res.RunID || string(got.Input) != `{"n":1}` || got.Origin.ScheduleID != "s" || got.Status != runs.StatusPending {
			t.Fatalf("run started in full: %+v", got)
		}
	})
}

// TestPrepareRefusesWhatItCannotPrepare: a start with a request id, a
// delay or a cron schedule, or without IfNotExists, is not preparable,
// and a batch holding one prepares none.
func TestPrepareRefusesWhatItCannotPrepare(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	for name, mut := range map[string]func(*runs.StartRequest){
		"request id":      func(r *runs.StartRequest) { r.RequestID = "x" },
		"start delay":     func(r *runs.StartRequest) { r.StartDelay = time.Second },
		"cron schedule":   func(r *runs.StartRequest) { r.CronSchedule = "@every 1m" },
		"not IfNotExists": func(r *runs.StartRequest) { r.IfNotExists = false },
	} {
		req := tb.fullReq("r")
		mut(&req)
		// After a preparable one: a refused batch writes nothing at all.
		if _, err := tb.store.Prepare(context.Background(), []runs.StartRequest{tb.fullReq("ok"), req}); err == nil {
			t.Errorf("%s: prepared", name)
		}
	}
	// Nothing was written, not even an invisible run hash.
	if keys := tb.redis.Client.Keys(context.Background(), tb.redis.Prefix+"*:run:*").Val(); len(keys) != 0 {
		t.Fatalf("run hashes after refused prepares: %v", keys)
	}
}

// TestStartedPreparedRunsAnnounceTheirQueue: starting prepared runs
// announces each task queue partition that stops being empty, once, as
// a full start does, so that long polls wake up.
func TestStartedPreparedRunsAnnounceTheirQueue(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, tb *testBundle) {
		ctx := context.Background()
		sub := tb.redis.Client.Subscribe(ctx, tb.store.Channel())
		defer sub.Close()
		if _, err := sub.Receive(ctx); err != nil { // the subscription's confirmation
			t.Fatal(err)
		}
		var reqs []runs.StartRequest
		want := map[string]bool{}
		for _, wf := range []string{"a1", "a2", "a3", "a4", "a5", "a6"} {
			reqs = append(reqs, tb.fullReq(wf))
			want["q|"+tb.ns+"|q|"+strconv.Itoa(tb.store.k.partition(tb.ns, wf))] = true
		}
		for _, o := range tb.store.StartMany(ctx, tb.prepare(t, reqs...)) {
			if _, err := o.Get(); err != nil {
				t.Fatal(err)
			}
		}
		got := map[string]int{}
		ch := sub.Channel()
		deadline := time.After(5 * time.Second)
		for len(got) < len(want) {
			select {
			case m := <-ch:
				got[m.Payload]++
			case <-deadline:
				t.Fatalf("announced %v, want each of %v", got, want)
			}
		}
		for p, n := range got {
			if !want[p] || n != 1 {
				t.Fatalf("announced %v, want each of %v once", got, want)
			}
		}
	})
}
