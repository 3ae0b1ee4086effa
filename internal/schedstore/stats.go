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

// ScanExecutions calls fn for every retained execution record of namespace
// ns with a nominal time in [from, to], partition by partition (unordered
// across partitions). It is for tools and reports, not for request paths.
func (s *Store) ScanExecutions(ctx context.Context, ns string, from, to time.Time, fn func(Execution)) error {
	for p := 0; p < s.k.partitions; p++ {
		lo := strconv.FormatInt(from.Unix(), 10)
		var offset int64
		for {
			zs, err := s.rdb.ZRangeByScore(ctx, s.k.nsExecs(p, ns), &redis.ZRangeBy{Min: lo, Max: strconv.FormatInt(to.Unix(), 10), Offset: offset, Count: 5000}).Result()
			if err != nil {
				return fmt.Errorf("scan executions: %w", err)
			}
			for _, m := range zs {
				e, err := decodeExecution(m)
				if err != nil {
					return err
				}
				fn(e)
			}
			if len(zs) < 5000 {
				break
			}
			offset += int64(len(zs))
		}
	}
	return nil
}

// MemoryPerSchedule estimates the Redis bytes one stored schedule costs,
// from MEMORY USAGE of the given schedules' own keys plus their share of the
// partition-wide due and index sets. Execution records are not counted.
func (s *Store) MemoryPerSchedule(ctx context.Context, ns string, ids []string) (float64, error) {
	if len(ids) == 0 {
		return 0, errors.New("no schedules to sample")
	}
	var own int64
	for _, id := range ids {
		p := s.k.partition(ns, id)
		m := member(ns, id)
		for _, key := range []string{s.k.sched(p, m), s.k.recent(p, m), s.k.running(p, m), s.k.buffer(p, m)} {
			n, err := s.rdb.MemoryUsage(ctx, key, 0).Result()
			if errors.Is(err, redis.Nil) {
				continue
			}
			if err != nil {
				return 0, fmt.Errorf("memory usage: %w", err)
			}
			own += n
		}
	}
	shared := 0.0
	for p := 0; p < s.k.partitions; p++ {
		for _, key := range []string{s.k.due(p), s.k.index(p, ns)} {
			n, err := s.rdb.MemoryUsage(ctx, key, 0).Result()
			if errors.Is(err, redis.Nil) {
				continue
			}
			if err != nil {
				return 0, fmt.Errorf("memory usage: %w", err)
			}
			c, err := s.rdb.ZCard(ctx, key).Result()
			if err != nil {
				return 0, err
			}
			if c > 0 && (strings.HasSuffix(key, ":due") || strings.Contains(key, ":ids:")) {
				shared += float64(n) / float64(c)
			}
		}
	}
	// shared sums per-entry costs over 2 sets × partitions; a schedule has
	// one entry in its partition's due set and one in its index.
	return float64(own)/float64(len(ids)) + 2*shared/float64(2*s.k.partitions), nil
}
