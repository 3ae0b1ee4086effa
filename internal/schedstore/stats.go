package schedstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// MemoryPerSchedule estimates the Redis bytes one stored schedule costs,
// from MEMORY USAGE of the given schedules' keys: stored is the schedule
// itself (state hash, definition, and its share of the partition-wide due
// and index sets); firing is what firing adds (recent actions, open runs,
// buffer). Execution records are not counted.
func (s *Store) MemoryPerSchedule(ctx context.Context, ns string, ids []string) (stored, firing float64, err error) {
	if len(ids) == 0 {
		return 0, 0, errors.New("no schedules to sample")
	}
	usage := func(key string) (int64, error) {
		n, err := s.rdb.MemoryUsage(ctx, key, 0).Result()
		if errors.Is(err, redis.Nil) {
			return 0, nil
		}
		return n, err
	}
	var own, fire int64
	for _, id := range ids {
		p := s.k.partition(ns, id)
		m := member(ns, id)
		for i, key := range []string{s.k.sched(p, m), s.k.def(p, m), s.k.recent(p, m), s.k.running(p, m), s.k.buffer(p, m)} {
			n, err := usage(key)
			if err != nil {
				return 0, 0, fmt.Errorf("memory usage: %w", err)
			}
			if i < 2 {
				own += n
			} else {
				fire += n
			}
		}
	}
	shared := 0.0
	for p := 0; p < s.k.partitions; p++ {
		for _, key := range []string{s.k.due(p), s.k.index(p, ns)} {
			n, err := usage(key)
			if err != nil {
				return 0, 0, fmt.Errorf("memory usage: %w", err)
			}
			c, err := s.rdb.ZCard(ctx, key).Result()
			if err != nil {
				return 0, 0, err
			}
			if c > 0 && (strings.HasSuffix(key, ":due") || strings.Contains(key, ":ids:")) {
				shared += float64(n) / float64(c)
			}
		}
	}
	// shared sums per-entry costs over 2 sets × partitions; a schedule has
	// one entry in its partition's due set and one in its index.
	n := float64(len(ids))
	return float64(own)/n + 2*shared/float64(2*s.k.partitions), float64(fire) / n, nil
}

// ScanScheduleExecutions calls fn for every retained execution record of
// the given schedules with a nominal time in [from, to], reading each
// schedule's own records (pipelined, 500 schedules per round trip), so it
// is not limited by the namespace-wide retention. It is for tools and
// reports, not for request paths.
func (s *Store) ScanScheduleExecutions(ctx context.Context, ns string, ids []string, from, to time.Time, fn func(Execution)) error {
	by := &redis.ZRangeBy{Min: strconv.FormatInt(from.Unix(), 10), Max: strconv.FormatInt(to.Unix(), 10)}
	for len(ids) > 0 {
		chunk := ids[:min(500, len(ids))]
		ids = ids[len(chunk):]
		pipe := s.rdb.Pipeline()
		cmds := make([]*redis.StringSliceCmd, len(chunk))
		for i, id := range chunk {
			cmds[i] = pipe.ZRangeByScore(ctx, s.k.execs(s.k.partition(ns, id), member(ns, id)), by)
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("scan executions: %w", err)
		}
		for _, c := range cmds {
			for _, m := range c.Val() {
				e, err := decodeExecution(m)
				if err != nil {
					return err
				}
				fn(e)
			}
		}
	}
	return nil
}
