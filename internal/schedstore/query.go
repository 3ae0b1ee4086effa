package schedstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/sundial-dev/sundial/internal/errs"
)

// ListEntry is one schedule of a listing, with its recent actions.
type ListEntry struct {
	*Record
	Recent []Action
}

// listBatch is how many ids List reads from an index per round trip.
const listBatch = 200

// List pages through the schedules of namespace ns in (partition, id)
// order, which is stable: a schedule created before the call is listed
// once. keep filters entries; List reads at most scanBudget schedules per
// call and may return fewer than limit entries with a cursor when the
// filter rejects many. An empty returned cursor means the end.
func (s *Store) List(ctx context.Context, ns, cursor string, limit, scanBudget int, keep func(*Record) bool) ([]ListEntry, string, error) {
	p, after, err := parseListCursor(cursor, s.k.partitions)
	if err != nil {
		return nil, "", err
	}
	var out []ListEntry
	scanned := 0
	for p < s.k.partitions {
		min := "-"
		if after != "" {
			min = "(" + after
		}
		ids, err := s.rdb.ZRangeByLex(ctx, s.k.index(p, ns), &redis.ZRangeBy{Min: min, Max: "+", Count: listBatch}).Result()
		if err != nil {
			return nil, "", fmt.Errorf("list schedules: %w", err)
		}
		if len(ids) == 0 {
			p, after = p+1, ""
			continue
		}
		pipe := s.rdb.Pipeline()
		hs := make([]*redis.MapStringStringCmd, len(ids))
		ds := make([]*redis.StringCmd, len(ids))
		rs := make([]*redis.StringSliceCmd, len(ids))
		for i, id := range ids {
			m := member(ns, id)
			hs[i] = pipe.HGetAll(ctx, s.k.sched(p, m))
			ds[i] = pipe.Get(ctx, s.k.def(p, m))
			rs[i] = pipe.LRange(ctx, s.k.recent(p, m), 0, RecentActions-1)
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, "", fmt.Errorf("list schedules: %w", err)
		}
		for i, id := range ids {
			after = id
			scanned++
			h := hs[i].Val()
			if len(h) == 0 {
				continue // deleted between the index read and now
			}
			rec, err := decodeRecord(ns, id, h, ds[i].Val())
			if err != nil {
				return nil, "", err
			}
			if keep != nil && !keep(rec) {
				if scanned >= scanBudget {
					return out, listCursor(p, after), nil
				}
				continue
			}
			acts, err := decodeActions(rs[i].Val())
			if err != nil {
				return nil, "", err
			}
			out = append(out, ListEntry{Record: rec, Recent: acts})
			if len(out) == limit || scanned >= scanBudget {
				return out, listCursor(p, after), nil
			}
		}
	}
	return out, "", nil
}

func listCursor(p int, after string) string { return strconv.Itoa(p) + "/" + after }

func parseListCursor(c string, partitions int) (int, string, error) {
	if c == "" {
		return 0, "", nil
	}
	ps, after, ok := strings.Cut(c, "/")
	p, err := strconv.Atoi(ps)
	if !ok || err != nil || p < 0 || p >= partitions {
		return 0, "", errs.Field("page_token", "is not a token this server returned (start again with an empty page_token)")
	}
	return p, after, nil
}

// ExecQuery selects execution records.
type ExecQuery struct {
	Namespace string
	// ScheduleID narrows to one schedule; empty means the whole namespace.
	ScheduleID string
	// Outcomes keeps only these outcomes; empty keeps all.
	Outcomes []Outcome
	// From and To bound nominal times, inclusive, in Unix seconds; nil is open.
	From, To *int64
	// Ascending sorts oldest first; the default is newest first.
	Ascending bool
	// Limit is the page size (at least 1).
	Limit int
	// Cursor continues a previous page.
	Cursor string
}

// defaultExecFetch is how many records Executions reads per source per call.
const defaultExecFetch = 500

type execKey struct {
	score int64
	id    string
}

func (a execKey) less(b execKey) bool {
	if a.score != b.score {
		return a.score < b.score
	}
	return a.id < b.id
}

// Executions pages through execution records sorted by (nominal time, id).
// It merges the namespace's per-partition indexes when no schedule is
// named, and never returns a record twice or skips one across pages.
func (s *Store) Executions(ctx context.Context, q ExecQuery) ([]Execution, string, error) {
	var srcs []string
	if q.ScheduleID != "" {
		p := s.k.partition(q.Namespace, q.ScheduleID)
		srcs = []string{s.k.execs(p, member(q.Namespace, q.ScheduleID))}
	} else {
		for p := 0; p < s.k.partitions; p++ {
			srcs = append(srcs, s.k.nsExecs(p, q.Namespace))
		}
	}
	var cur *execKey
	if q.Cursor != "" {
		sc, id, ok := strings.Cut(q.Cursor, "/")
		n, err := strconv.ParseInt(sc, 10, 64)
		if !ok || err != nil {
			return nil, "", errs.Field("page_token", "is not a token this server returned (start again with an empty page_token)")
		}
		cur = &execKey{score: n, id: id}
	}
	// before reports whether a comes before b in the requested order.
	before := func(a, b execKey) bool {
		if q.Ascending {
			return a.less(b)
		}
		return b.less(a)
	}
	lo, hi := "-inf", "+inf"
	if q.From != nil {
		lo = strconv.FormatInt(*q.From, 10)
	}
	if q.To != nil {
		hi = strconv.FormatInt(*q.To, 10)
	}
	if cur != nil {
		if q.Ascending {
			lo = strconv.FormatInt(max(cur.score, atoiOr(lo, cur.score)), 10)
		} else {
			hi = strconv.FormatInt(min(cur.score, atoiOr(hi, cur.score)), 10)
		}
	}
	type item struct {
		k execKey
		e Execution
	}
	var all []item
	var bound *execKey // the earliest "last fetched" key among truncated sources
	// Every source (one per partition for a namespace-wide query) is read
	// in one pipelined round trip.
	by := &redis.ZRangeBy{Min: lo, Max: hi, Count: int64(s.execFetch)}
	cmds := make([]*redis.ZSliceCmd, len(srcs))
	pipe := s.rdb.Pipeline()
	for i, src := range srcs {
		if q.Ascending {
			cmds[i] = pipe.ZRangeByScoreWithScores(ctx, src, by)
		} else {
			cmds[i] = pipe.ZRevRangeByScoreWithScores(ctx, src, by)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, "", fmt.Errorf("list executions: %w", err)
	}
	for _, cmd := range cmds {
		zs := cmd.Val()
		for _, z := range zs {
			m, _ := z.Member.(string)
			id, _, _ := strings.Cut(m, " ")
			k := execKey{score: int64(z.Score), id: id}
			if cur != nil && !before(*cur, k) {
				continue
			}
			e, err := decodeExecution(m)
			if err != nil {
				return nil, "", err
			}
			if len(q.Outcomes) > 0 && !slices.Contains(q.Outcomes, e.Outcome) {
				continue
			}
			all = append(all, item{k: k, e: e})
		}
		if len(zs) == s.execFetch {
			last := zs[len(zs)-1]
			m, _ := last.Member.(string)
			id, _, _ := strings.Cut(m, " ")
			k := execKey{score: int64(last.Score), id: id}
			if bound == nil || before(k, *bound) {
				bound = &k
			}
		}
	}
	slices.SortFunc(all, func(a, b item) int {
		switch {
		case before(a.k, b.k):
			return -1
		case before(b.k, a.k):
			return 1
		}
		return 0
	})
	var out []Execution
	var last *execKey
	for _, it := range all {
		if bound != nil && before(*bound, it.k) {
			break
		}
		out = append(out, it.e)
		k := it.k
		last = &k
		if len(out) == q.Limit {
			break
		}
	}
	next := ""
	switch {
	case len(out) == q.Limit && last != nil:
		next = strconv.FormatInt(last.score, 10) + "/" + last.id
	case bound != nil:
		// A source was truncated before the page filled: continue from its
		// last fetched record (filtered-out records need not be read again).
		k := *bound
		if last != nil && before(k, *last) {
			k = *last
		}
		next = strconv.FormatInt(k.score, 10) + "/" + k.id
	}
	return out, next, nil
}

func atoiOr(s string, def int64) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return def
	}
	return n
}
