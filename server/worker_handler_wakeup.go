package server

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// hub turns the run store's pub/sub events into in-process wake-ups. One
// subscription (one Redis connection) per replica serves every waiting long
// poll, however many there are: a task-queue event wakes one waiting
// PollTasks of that queue, a close event wakes every GetWorkflowResult
// waiting for that run. The subscription runs while anything holds it
// (the run loop, or a waiting long poll when the loops are disabled).
// Events lost while the subscription reconnects are covered by the
// waiters' periodic re-check.
type hub struct {
	rdb     redis.UniversalClient
	channel string
	log     *slog.Logger

	mu     sync.Mutex
	refs   int
	sub    *subscription
	queues map[string][]chan int
	closes map[string][]chan struct{}
	// idled, when set (tests), receives the queue key each time a long poll
	// starts to wait idle; sends never block.
	idled chan string
}

type subscription struct {
	ps    *redis.PubSub
	ready chan struct{}
	err   error
	done  chan struct{}
}

func newHub(rdb redis.UniversalClient, channel string, log *slog.Logger) *hub {
	return &hub{rdb: rdb, channel: channel, log: log, queues: map[string][]chan int{}, closes: map[string][]chan struct{}{}}
}

// acquire makes sure the subscription is up, waiting until Redis confirmed
// it, so that an event published after acquire returns is seen.
func (h *hub) acquire(ctx context.Context) error {
	h.mu.Lock()
	h.refs++
	sub := h.sub
	if sub == nil {
		sub = &subscription{ready: make(chan struct{}), done: make(chan struct{})}
		h.sub = sub
		go h.serve(sub)
	}
	h.mu.Unlock()
	select {
	case <-sub.ready:
		if sub.err != nil {
			h.release()
			return sub.err
		}
		return nil
	case <-ctx.Done():
		h.release()
		return ctx.Err()
	}
}

// release drops a hold; the last one closes the subscription.
func (h *hub) release() {
	h.mu.Lock()
	h.refs--
	var sub *subscription
	if h.refs == 0 {
		sub, h.sub = h.sub, nil
	}
	h.mu.Unlock()
	if sub != nil {
		<-sub.ready
		if sub.ps != nil {
			_ = sub.ps.Close()
		}
		<-sub.done
	}
}

func (h *hub) serve(sub *subscription) {
	defer close(sub.done)
	ps := h.rdb.Subscribe(context.Background(), h.channel)
	if _, err := ps.Receive(context.Background()); err != nil {
		_ = ps.Close()
		h.log.Warn("subscribe to run events failed; long polls fall back to re-reading", "err", err)
		sub.err = err
		close(sub.ready)
		return
	}
	sub.ps = ps
	close(sub.ready)
	for msg := range ps.Channel() {
		h.dispatch(msg.Payload)
	}
}

// dispatch handles "q|ns|queue|p" and "c|ns|wf|rid".
func (h *hub) dispatch(payload string) {
	switch {
	case strings.HasPrefix(payload, "q|"):
		i := strings.LastIndexByte(payload, '|')
		if i < 2 {
			return // not ours; never let a stray message panic the hub
		}
		p, err := strconv.Atoi(payload[i+1:])
		if err != nil {
			return
		}
		h.wakeQueue(payload[2:i], p)
	case strings.HasPrefix(payload, "c|"):
		key := payload[2:]
		h.mu.Lock()
		ws := h.closes[key]
		delete(h.closes, key)
		h.mu.Unlock()
		for _, ch := range ws {
			close(ch)
		}
	}
}

// wakeQueue hands partition p to one waiter of queue key "ns|queue".
func (h *hub) wakeQueue(key string, p int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ws := h.queues[key]
	for i, ch := range ws {
		select {
		case ch <- p:
			// Move the woken waiter to the back so wake-ups spread.
			h.queues[key] = append(append(ws[:i:i], ws[i+1:]...), ch)
			return
		default:
		}
	}
}

// waitQueue registers a waiter for queue key "ns|queue"; the channel
// receives partition hints.
func (h *hub) waitQueue(key string) chan int {
	ch := make(chan int, 1)
	h.mu.Lock()
	h.queues[key] = append(h.queues[key], ch)
	h.mu.Unlock()
	return ch
}

// notifyIdle tells a test that a long poll of key is about to wait idle.
func (h *hub) notifyIdle(key string) {
	if h.idled != nil {
		select {
		case h.idled <- key:
		default:
		}
	}
}

// unwaitQueue removes a waiter; a hint it never used goes to another.
func (h *hub) unwaitQueue(key string, ch chan int) {
	h.mu.Lock()
	ws := h.queues[key]
	for i, c := range ws {
		if c == ch {
			ws = append(ws[:i:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(h.queues, key)
	} else {
		h.queues[key] = ws
	}
	h.mu.Unlock()
	select {
	case p := <-ch:
		h.wakeQueue(key, p)
	default:
	}
}

// waitClose returns a channel closed when run key "ns|wf|rid" closes.
func (h *hub) waitClose(key string) chan struct{} {
	ch := make(chan struct{})
	h.mu.Lock()
	h.closes[key] = append(h.closes[key], ch)
	h.mu.Unlock()
	return ch
}

// unwaitClose forgets a close waiter that stopped waiting.
func (h *hub) unwaitClose(key string, ch chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ws := h.closes[key]
	for i, c := range ws {
		if c == ch {
			ws = append(ws[:i:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(h.closes, key)
	} else {
		h.closes[key] = ws
	}
}
