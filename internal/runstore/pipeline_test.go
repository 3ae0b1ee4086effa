package runstore

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/sundial-dev/sundial/internal/testredis"
)

// TestPipelineRecoversFromNoScript: a pipeline sent to a Redis that lost
// its scripts (restarted, or SCRIPT FLUSH) still applies every call, each
// with its own answer. On miniredis, so that flushing scripts touches no
// one else's.
func TestPipelineRecoversFromNoScript(t *testing.T) {
	t.Parallel()
	b := testredis.Mini(t)
	tb := setup(t, b)
	ctx := context.Background()
	for i := range 3 {
		if _, err := tb.store.Start(ctx, tb.req(fmt.Sprint("ns-", i))); err != nil {
			t.Fatal(err)
		}
	}
	tasks := tb.claimAll(t, 3)
	if len(tasks) != 3 {
		t.Fatalf("claimed %d tasks, want 3", len(tasks))
	}
	if err := b.Client.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	cs := []Completion{{Ref: refOf(tasks[0])}, {Ref: refOf(tasks[1])}, {Ref: refOf(tasks[0])}}
	errs := tb.store.CompleteMany(ctx, cs)
	if errs[0] != nil || errs[1] != nil {
		t.Errorf("completions after SCRIPT FLUSH: %v", errs)
	}
	if !isFailedPrecondition(errs[2]) {
		t.Errorf("second completion of one attempt: %v, want FailedPrecondition", errs[2])
	}
}

// TestConcurrentCallsShareRoundTrips: calls made at once from many
// goroutines all get their own answers, whatever pipelines they rode on
// (TestMain's goleak checks that the flushers end).
func TestConcurrentCallsShareRoundTrips(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, tb *testBundle) {
		ctx := context.Background()
		const n = 200
		var wg sync.WaitGroup
		rids := make([]string, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				res, err := tb.store.Start(ctx, tb.req(fmt.Sprint("cc-", i)))
				rids[i], errs[i] = res.RunID, err
			})
		}
		wg.Wait()
		seen := map[string]bool{}
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("start %d: %v", i, errs[i])
			}
			r, err := tb.store.Get(ctx, tb.ns, fmt.Sprint("cc-", i), "")
			if err != nil || r.RunID != rids[i] {
				t.Fatalf("run of cc-%d: %v, %v; want run id %s", i, r, err, rids[i])
			}
			seen[rids[i]] = true
		}
		if len(seen) != n {
			t.Errorf("%d distinct run ids, want %d", len(seen), n)
		}
	})
}

// TestMergedCallsAnswerEachItem: the pipeliner sends the items of one
// merge group as calls of at most maxMerge items, with the head's keys and
// args first, and hands each item its own element of the reply, or the
// call's error.
func TestMergedCallsAnswerEachItem(t *testing.T) {
	t.Parallel()
	b := testredis.Mini(t)
	ctx := context.Background()
	p := &pipeliner{rdb: b.Client}
	// Replies, per item, {head arg, item arg, number of keys}.
	echo := redis.NewScript(`
local out = {}
for i = 2, #ARGV do out[#out + 1] = {ARGV[1], ARGV[i], #KEYS} end
return out`)
	fail := redis.NewScript(`return redis.error_reply('boom')`)
	item := func(script *redis.Script, group int, arg string) *scriptCall {
		c := newCall(script, []string{b.Prefix + ":k" + arg}, []any{arg})
		c.merge = &mergeHead{group: group, keys: []string{b.Prefix + ":head"}, args: []any{fmt.Sprint("head-", group)}}
		return c
	}
	var calls []*scriptCall
	for i := range maxMerge + 1 {
		calls = append(calls, item(echo, 1, fmt.Sprint(i)))
	}
	// Another script's items of group 1 are not merged with echo's.
	calls = append(calls, item(echo, 2, "x"), item(fail, 3, "y"), item(fail, 3, "z"), item(fail, 1, "w"))
	plain := newCall(echo, []string{b.Prefix + ":plain"}, []any{"p", "q"})
	calls = append(calls, plain)

	sends, items := merge(calls)
	if len(sends) != 6 || items[0] != nil || len(items[1]) != maxMerge || len(items[2]) != 1 || len(items[3]) != 1 || len(items[4]) != 2 || len(items[5]) != 1 {
		t.Fatalf("merge gave %d calls carrying %v items; want the plain call, then %d and 1 of group 1, 1 of group 2, 2 of group 3, 1 of the other script's group 1",
			len(sends), lens(items), maxMerge)
	}

	p.do(ctx, calls...)
	for i, c := range calls[:maxMerge+2] {
		// KEYS: the head's, then one per item of the call.
		want := []any{"head-1", fmt.Sprint(i), int64(1 + maxMerge)}
		switch i {
		case maxMerge:
			want = []any{"head-1", fmt.Sprint(i), int64(2)}
		case maxMerge + 1:
			want = []any{"head-2", "x", int64(2)}
		}
		if got, err := c.cmd.Slice(); err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("item %d: %v, %v; want %v", i, got, err, want)
		}
	}
	for _, c := range calls[maxMerge+2 : maxMerge+5] {
		if err := c.cmd.Err(); err == nil || !strings.Contains(err.Error(), "boom") {
			t.Errorf("item of a failing call: %v, want its error", err)
		}
	}
	if got, err := plain.cmd.Slice(); err != nil || len(got) != 1 {
		t.Errorf("plain call: %v, %v; want its own reply", got, err)
	}
}

func lens(items [][]*scriptCall) []int {
	out := make([]int, len(items))
	for i, it := range items {
		out[i] = len(it)
	}
	return out
}
