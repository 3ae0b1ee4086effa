package runstore

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/redis/go-redis/v9"
)

// maxFlushers is how many pipelines the store keeps in flight at once.
// A caller that finds fewer sends its own call (and whatever queued up
// meanwhile) at once; otherwise its call waits for the next pipeline.
const maxFlushers = 2

// maxPipeline caps the calls of one pipeline.
const maxPipeline = 256

// pipeliner sends the scripts of concurrent callers to Redis together: one
// write, one round trip, one read for many transitions. It never waits to
// fill a batch: a call goes out at once unless maxFlushers pipelines are
// already in flight, and then rides on the next one. At light load it is
// one EVALSHA per call, as before; under load (many StartWorkflow and
// CompleteTask requests at once) it saves a round trip and two system
// calls per call in the server and in Redis. Flushers are goroutines only
// while there is work, so an idle store holds none.
type pipeliner struct {
	rdb redis.UniversalClient

	mu       sync.Mutex
	queue    []*scriptCall
	flushers int
}

// maxMerge caps the items of one merged script call, so that a call
// holds Redis for about a millisecond at most.
const maxMerge = 64

// scriptCall is one script invocation waiting for its pipeline.
type scriptCall struct {
	script *redis.Script
	keys   []string
	args   []any
	cmd    *redis.Cmd
	done   chan struct{}
	// merge, when set, makes the call one item of a script that takes
	// many (startScript, activateScript): keys and args are the item's
	// part. See merge.
	merge *mergeHead
}

// mergeHead is what the items of a merged call share.
type mergeHead struct {
	// group is the partition: items of one script and group may share a
	// call, as their keys share a Cluster slot.
	group int
	// keys and args come first in the merged call's KEYS and ARGV. The
	// items of a group have the same head but for the time it holds; the
	// call takes its first item's.
	keys []string
	args []any
}

func newCall(script *redis.Script, keys []string, args []any) *scriptCall {
	return &scriptCall{script: script, keys: keys, args: args, done: make(chan struct{})}
}

// run runs one script and returns its reply. The call is sent whatever
// happens to ctx afterwards (like a command already written), so a caller
// always learns what a script it started did: a claim, for one, must not
// lease tasks nobody hears of.
func (p *pipeliner) run(ctx context.Context, script *redis.Script, keys []string, args ...any) *redis.Cmd {
	c := newCall(script, keys, args)
	p.do(ctx, c)
	return c.cmd
}

// do sends calls and waits for all their replies.
func (p *pipeliner) do(ctx context.Context, calls ...*scriptCall) {
	if len(calls) == 0 {
		return
	}
	if err := ctx.Err(); err != nil {
		for _, c := range calls {
			c.cmd = redis.NewCmd(ctx)
			c.cmd.SetErr(err)
		}
		return
	}
	p.mu.Lock()
	p.queue = append(p.queue, calls...)
	lead := p.flushers < maxFlushers
	if lead {
		p.flushers++
	}
	p.mu.Unlock()
	if lead {
		// Send one pipeline from this goroutine; if more calls queued up
		// meanwhile, hand the slot to a goroutine that drains them, so this
		// caller is not held up by others' work.
		if !p.flushOne() {
			p.release()
		} else {
			go p.drain()
		}
	}
	for _, c := range calls {
		<-c.done
	}
}

// flushOne sends up to maxPipeline queued calls; it reports whether more
// are queued.
func (p *pipeliner) flushOne() bool {
	p.mu.Lock()
	n := min(len(p.queue), maxPipeline)
	batch := p.queue[:n:n]
	p.queue = p.queue[n:]
	if len(p.queue) == 0 {
		p.queue = nil
	}
	p.mu.Unlock()
	if n > 0 {
		p.exec(batch)
	}
	p.mu.Lock()
	more := len(p.queue) > 0
	p.mu.Unlock()
	return more
}

// drain sends pipelines until the queue is empty, then gives up its slot.
func (p *pipeliner) drain() {
	for p.flushOne() {
	}
	p.release()
}

// release gives up a flusher slot, unless calls queued after the last look:
// then it keeps the slot and drains them.
func (p *pipeliner) release() {
	p.mu.Lock()
	if len(p.queue) > 0 {
		p.mu.Unlock()
		go p.drain()
		return
	}
	p.flushers--
	p.mu.Unlock()
}

// exec sends one batch, its mergeable calls merged (see merge). A script
// Redis does not know (a fresh or restarted server) fails with NOSCRIPT
// inside a pipeline, where go-redis's EVAL fallback does not apply; such
// calls are sent again on their own.
func (p *pipeliner) exec(batch []*scriptCall) {
	ctx := context.Background()
	sends, items := merge(batch)
	if len(sends) == 1 {
		c := sends[0]
		c.cmd = c.script.Run(ctx, p.rdb, c.keys, c.args...)
	} else {
		cmds := make([]*redis.Cmd, len(sends))
		_, _ = p.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			for i, c := range sends {
				cmds[i] = c.script.EvalSha(ctx, pipe, c.keys, c.args...)
			}
			return nil
		})
		for i, c := range sends {
			c.cmd = cmds[i]
			if isNoScript(c.cmd.Err()) {
				c.cmd = c.script.Run(ctx, p.rdb, c.keys, c.args...)
			}
		}
	}
	for i, c := range sends {
		if items[i] == nil {
			close(c.done)
			continue
		}
		replies, err := c.cmd.Slice()
		if err == nil && len(replies) != len(items[i]) {
			err = fmt.Errorf("merged script call: %d replies for %d items", len(replies), len(items[i]))
		}
		for j, it := range items[i] {
			it.cmd = redis.NewCmd(ctx)
			if err != nil {
				it.cmd.SetErr(err)
			} else {
				it.cmd.SetVal(replies[j])
			}
			close(it.done)
		}
	}
}

// merge returns the calls to send for batch: the calls without merge as
// they are, and the items of each script's merge group as calls of at most
// maxMerge items, whose KEYS are the head's keys and then each item's, whose ARGV
// are the head's args and then each item's, and whose reply holds one
// element per item, in order. items[i] lists the calls that sends[i]
// carries (nil: sends[i] is a call of batch). A merged call saves Redis
// the per-call cost of a script (parsing the command, building KEYS and
// ARGV, running the prelude) for all its items but one.
func merge(batch []*scriptCall) (sends []*scriptCall, items [][]*scriptCall) {
	type groupKey struct {
		script *redis.Script
		group  int
	}
	var (
		groups map[groupKey][]*scriptCall
		order  []groupKey
	)
	for _, c := range batch {
		if c.merge == nil {
			sends, items = append(sends, c), append(items, nil)
			continue
		}
		if groups == nil {
			groups = map[groupKey][]*scriptCall{}
		}
		g := groupKey{c.script, c.merge.group}
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], c)
	}
	for _, g := range order {
		for chunk := range slices.Chunk(groups[g], maxMerge) {
			head := chunk[0].merge
			keys := slices.Clip(head.keys)
			args := slices.Clip(head.args)
			for _, it := range chunk {
				keys = append(keys, it.keys...)
				args = append(args, it.args...)
			}
			sends = append(sends, &scriptCall{script: chunk[0].script, keys: keys, args: args})
			items = append(items, chunk)
		}
	}
	return sends, items
}
