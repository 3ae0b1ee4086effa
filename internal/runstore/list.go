package runstore

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sundial-dev/sundial/internal/errs"
	"github.com/sundial-dev/sundial/internal/runs"
)

// ListQuery filters ListWorkflows. Zero fields do not filter.
type ListQuery struct {
	Namespace    string
	Status       runs.Status
	WorkflowType string
	TaskQueue    string
	ScheduleID   string
	// PageSize is at most this many runs. Optional: defaults to 50; at most 1000.
	PageSize int
	// PageToken continues a previous page.
	PageToken string
}

// maxListRounds bounds the index reads of one page when filters beyond
// the chosen index discard runs.
const maxListRounds = 20

// List pages through runs newest first (by run id, a ULID of the create
// time). It reads the most selective index the query allows (status,
// schedule, type, queue, or all) from every partition and merges them;
// other filters are applied to the runs read.
func (s *Store) List(ctx context.Context, q ListQuery) ([]*Run, string, error) {
	size := q.PageSize
	switch {
	case size < 0:
		return nil, "", errs.Field("page_size", "must not be negative, got %d", size)
	case size == 0:
		size = 50
	case size > 1000:
		size = 1000
	}
	if err := s.FlushIndexes(ctx); err != nil {
		return nil, "", err
	}
	cursor := ""
	if q.PageToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(q.PageToken)
		if err != nil || !strings.Contains(string(b), "|") {
			return nil, "", errs.Field("page_token", "is not a token from a previous page")
		}
		cursor = string(b)
	}
	// Without a filter, the status indexes together hold every run.
	kinds := []string{"open", "st:4", "st:5", "st:6", "st:7", "st:8"}
	kind := ""
	switch {
	case q.Status != runs.StatusUnspecified && !q.Status.Closed():
		// Open runs share one index; matches keeps those of the status.
		kind = "open"
	case q.Status != runs.StatusUnspecified:
		kind = "st:" + strconv.Itoa(int(q.Status))
	case q.ScheduleID != "":
		kind = "sch:" + q.ScheduleID
	case q.WorkflowType != "":
		kind = "type:" + q.WorkflowType
	case q.TaskQueue != "":
		kind = "q:" + q.TaskQueue
	}
	if kind != "" {
		kinds = []string{kind}
	}
	var out []*Run
	for range maxListRounds {
		members, more, err := s.listMembers(ctx, q.Namespace, kinds, cursor, size)
		if err != nil {
			return nil, "", err
		}
		if len(members) == 0 {
			return out, "", nil
		}
		rs, err := s.loadMembers(ctx, q.Namespace, members)
		if err != nil {
			return nil, "", err
		}
		for i, r := range rs {
			cursor = members[i]
			if r == nil || !matches(r, q) {
				continue
			}
			out = append(out, r)
			if len(out) == size {
				if i == len(rs)-1 && !more {
					return out, "", nil
				}
				return out, base64.RawURLEncoding.EncodeToString([]byte(cursor)), nil
			}
		}
		if !more {
			return out, "", nil
		}
	}
	return out, base64.RawURLEncoding.EncodeToString([]byte(cursor)), nil
}

func matches(r *Run, q ListQuery) bool {
	return (q.Status == runs.StatusUnspecified || r.Status == q.Status) &&
		(q.WorkflowType == "" || r.WorkflowType == q.WorkflowType) &&
		(q.TaskQueue == "" || r.TaskQueue == q.TaskQueue) &&
		(q.ScheduleID == "" || r.Origin.ScheduleID == q.ScheduleID)
}

// listMembers returns the next n members below cursor of the union of
// index kinds across all partitions, newest first, and whether more may
// follow. Each partition's indexes are read in one MULTI, so a run that
// moves from one status index to another is seen once.
func (s *Store) listMembers(ctx context.Context, ns string, kinds []string, cursor string, n int) ([]string, bool, error) {
	max := "+"
	if cursor != "" {
		max = "(" + cursor
	}
	cmds := make([]*redis.StringSliceCmd, 0, s.k.partitions*len(kinds))
	_, err := s.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		for p := range s.k.partitions {
			for _, kind := range kinds {
				cmds = append(cmds, pipe.ZRevRangeByLex(ctx, s.k.index(p, ns, kind), &redis.ZRangeBy{Max: max, Min: "-", Count: int64(n)}))
			}
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	var all []string
	for _, c := range cmds {
		all = append(all, c.Val()...)
	}
	slices.SortFunc(all, func(a, b string) int { return strings.Compare(b, a) })
	all = slices.Compact(all)
	if len(all) > n {
		return all[:n], true, nil
	}
	return all, false, nil
}

// loadMembers reads the runs named by "rid|wf" members; a missing run is nil.
func (s *Store) loadMembers(ctx context.Context, ns string, members []string) ([]*Run, error) {
	cmds := make([]*redis.MapStringStringCmd, len(members))
	_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, m := range members {
			rid, wf, _ := strings.Cut(m, "|")
			cmds[i] = pipe.HGetAll(ctx, s.k.run(s.k.partition(ns, wf), ns, wf, rid))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]*Run, len(members))
	for i, c := range cmds {
		out[i] = decodeRun(c.Val())
	}
	return out, nil
}

// indexBatch is how many index queue entries one indexScript call takes:
// about a millisecond of Redis's time, so that a flush never holds up the
// starts and claims of others for long.
const indexBatch = 64

// The timer loop files index entries once starts pause for indexQuiet, so
// that a burst of starts (a second's schedule fires) is not slowed by its
// own index writes, and at least every indexMaxDelay under steady load,
// so that each flush is small. List does not wait: it always flushes
// first.
const (
	indexQuiet    = 50 * time.Millisecond
	indexMaxDelay = 200 * time.Millisecond
)

// IndexFlushDue reports whether the timer loop should call FlushIndexes:
// no run has started in this process for indexQuiet, or the first start
// since the last flush is indexMaxDelay old. Timing the delay from that
// start rather than from the last flush keeps a burst of starts (the
// fires of one second) from being interrupted by a flush as it begins.
func (s *Store) IndexFlushDue() bool {
	now := s.clock.Now().UnixNano()
	u := s.unflushed.Load()
	return now-s.lastStart.Load() >= int64(indexQuiet) || (u != 0 && now-u >= int64(indexMaxDelay))
}

// FlushIndexes writes the index entries of every run started so far
// (queued by the start script) into the run indexes. List calls it before
// it reads, so a run whose start returned is listed; the scripts of all
// partitions go in one pipeline per round. It is safe to run from any
// replica at any time: each queued line is taken by exactly one index
// script, which files it in the same atomic step.
func (s *Store) FlushIndexes(ctx context.Context) error { return s.flushIndexes(ctx, false) }

// FlushIndexesPaced is FlushIndexes one script at a time, for the timer
// loop, which calls it when IndexFlushDue says so. Under load it holds
// Redis for one script (about a millisecond) at a time: the scripts of
// every partition back to back in one pipeline held it for tens of
// milliseconds, and the starts and claims of others waited that long.
func (s *Store) FlushIndexesPaced(ctx context.Context) error { return s.flushIndexes(ctx, true) }

// flushIndexes files what the index queues held when it began (their
// lengths, read in one round trip first), so that starts made meanwhile
// cannot keep it going, and an empty queue costs no script. Each round
// sends one script call per partition that has entries left, in one
// pipeline, or with paced a single call.
func (s *Store) flushIndexes(ctx context.Context, paced bool) error {
	s.unflushed.Store(0)
	lens := make([]*redis.IntCmd, s.k.partitions)
	if _, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for p := range lens {
			lens[p] = pipe.LLen(ctx, s.k.indexQueue(p))
		}
		return nil
	}); err != nil {
		return fmt.Errorf("read index queues: %w", err)
	}
	left := make([]int64, len(lens))
	for p, n := range lens {
		left[p] = n.Val()
	}
	for {
		var parts []int
		for p, n := range left {
			if n > 0 {
				parts = append(parts, p)
			}
		}
		if len(parts) == 0 {
			return nil
		}
		if paced {
			parts = parts[:1]
		}
		now := s.clock.Now()
		calls := make([]*scriptCall, len(parts))
		for i, p := range parts {
			calls[i] = newCall(indexScript, []string{s.k.indexQueue(p)}, s.argv(p, now, indexBatch))
		}
		s.pipe.do(ctx, calls...)
		for i, c := range calls {
			n, err := c.cmd.Int()
			if err != nil {
				return fmt.Errorf("write run indexes: %w", err)
			}
			left[parts[i]] -= indexBatch
			if n < indexBatch { // another flush took the rest
				left[parts[i]] = 0
			}
		}
	}
}
