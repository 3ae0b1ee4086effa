package runstore

import (
	"context"
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

// scriptCall is one script invocation waiting for its pipeline.
type scriptCall struct {
	script *redis.Script
	keys   []string
	args   []any
	cmd    *redis.Cmd
	done   chan struct{}
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

// exec sends one batch. A script Redis does not know (a fresh or restarted
// server) fails with NOSCRIPT inside a pipeline, where go-redis's EVAL
// fallback does not apply; such calls are sent again on their own.
func (p *pipeliner) exec(batch []*scriptCall) {
	ctx := context.Background()
	if len(batch) == 1 {
		c := batch[0]
		c.cmd = c.script.Run(ctx, p.rdb, c.keys, c.args...)
		close(c.done)
		return
	}
	cmds := make([]*redis.Cmd, len(batch))
	_, _ = p.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, c := range batch {
			cmds[i] = c.script.EvalSha(ctx, pipe, c.keys, c.args...)
		}
		return nil
	})
	for i, c := range batch {
		c.cmd = cmds[i]
		if isNoScript(c.cmd.Err()) {
			c.cmd = c.script.Run(ctx, p.rdb, c.keys, c.args...)
		}
		close(c.done)
	}
}
