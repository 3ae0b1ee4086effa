package schedule

import "time"

// Jittered returns when the action for nominal should start: nominal plus a
// deterministic delay in [0, Jitter), derived from a hash of scheduleID and
// nominal, so every replica computes the same start. The delay never reaches
// the next nominal time.
func (c *CompiledSpec) Jittered(scheduleID string, nominal time.Time) time.Time {
	limit := c.jitter
	if limit <= 0 {
		return nominal
	}
	if next, ok := c.Next(nominal); ok {
		if gap := next.Sub(nominal); gap < limit {
			limit = gap
		}
	}
	if limit <= 0 {
		return nominal
	}
	return nominal.Add(time.Duration(jitterHash(scheduleID, nominal.Unix()) % uint64(limit)))
}

// jitterHash is 64-bit FNV-1a over the id and the nominal second, finished
// with a mixer so nearby seconds spread over the whole range.
func jitterHash(id string, sec int64) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= prime
	}
	h ^= 0xff // separates the id from the time
	h *= prime
	for i := 0; i < 8; i++ {
		h ^= uint64(sec >> (8 * i) & 0xff)
		h *= prime
	}
	// splitmix64 finaliser.
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}
