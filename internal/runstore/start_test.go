package runstore

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/sundial-dev/sundial/internal/runs"
)

// scriptCounter counts the EVALSHA and EVAL commands a client sends.
type scriptCounter struct{ n atomic.Int64 }

func (c *scriptCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *scriptCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.count(cmd)
		return next(ctx, cmd)
	}
}

func (c *scriptCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			c.count(cmd)
		}
		return next(ctx, cmds)
	}
}

func (c *scriptCounter) count(cmd redis.Cmder) {
	if n := strings.ToLower(cmd.Name()); n == "evalsha" || n == "eval" {
		c.n.Add(1)
	}
}

// TestStartManySharesScriptCalls: the starts of one partition share script
// calls of at most maxMerge runs, and each start still gets
// exactly the outcome a start of its own would: a later start of a
// workflow id sees an earlier one of the same batch.
func TestStartManySharesScriptCalls(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, tb *testBundle) {
		ctx := context.Background()
		// Loaded first, so that no NOSCRIPT retry counts as a call.
		if err := startScript.Load(ctx, tb.redis.Client).Err(); err != nil {
			t.Fatal(err)
		}
		var sc scriptCounter
		tb.redis.Client.AddHook(&sc)
		const distinct = 3*maxMerge + 7
		var reqs []runs.StartRequest
		for i := range distinct {
			reqs = append(reqs, tb.req("many-"+strconv.Itoa(i)))
		}
		again := tb.req("many-0") // an open run: ErrAlreadyStarted
		same := tb.req("many-1")  // if not exists: the run started above
		same.IfNotExists = true
		reqs = append(reqs, again, same)
		bad := tb.req("many-bad") // fails before Redis: its own error only
		bad.Memo = map[string]json.RawMessage{"f": json.RawMessage("{")}
		reqs = append(reqs, bad)
		// A start whose script call raises an error (its workflow key holds
		// a string) fails alone, not the other starts of its call.
		broken := tb.req("many-wrongtype")
		pb := tb.store.k.partition(tb.ns, broken.WorkflowID)
		if err := tb.redis.Client.Set(ctx, tb.store.k.workflow(pb, tb.ns, broken.WorkflowID), "x", 0).Err(); err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, broken)

		out := tb.store.StartMany(ctx, reqs)
		seen := map[string]bool{}
		for i := range distinct {
			res, err := out[i].Get()
			if err != nil || res.RunID == "" || res.Existing {
				t.Fatalf("start %d: %+v, %v", i, res, err)
			}
			if seen[res.RunID] {
				t.Fatalf("run id %s given twice", res.RunID)
			}
			seen[res.RunID] = true
		}
		if _, err := out[distinct].Get(); !errors.Is(err, runs.ErrAlreadyStarted) {
			t.Fatalf("second start of an open workflow id: %v, want ErrAlreadyStarted", err)
		}
		if res, err := out[distinct+1].Get(); err != nil || !res.Existing || res.RunID != out[1].Result.RunID {
			t.Fatalf("if-not-exists start: %+v, %v; want the run %s", res, err, out[1].Result.RunID)
		}
		if _, err := out[distinct+2].Get(); err == nil || !strings.Contains(err.Error(), "memo") {
			t.Fatalf("bad memo: %v, want an error naming memo", err)
		}
		if res, err := out[distinct+3].Get(); err == nil || !strings.Contains(err.Error(), "many-wrongtype") {
			t.Fatalf("start on a workflow key of the wrong type: %+v, %v; want its own error", res, err)
		}
		// Every partition's starts in ceil(n/maxMerge) calls at most.
		if max := int64(tb.store.Partitions() + (distinct+3)/maxMerge); sc.n.Load() == 0 || sc.n.Load() > max {
			t.Fatalf("%d script calls for %d starts, want at most %d", sc.n.Load(), distinct+3, max)
		}
		if got := len(tb.claimAll(t, distinct+10)); got != distinct {
			t.Fatalf("%d tasks claimable, want %d", got, distinct)
		}
	})
}
