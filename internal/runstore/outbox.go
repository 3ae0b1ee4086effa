package runstore

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sundial-dev/sundial/internal/runs"
)

// ClosedEvent is a closed-run event read from a partition's outbox. The
// close script writes it in the same step as the close, so none is lost;
// a consumer group hands each to one replica, and it stays pending until
// AckClosed, so each is delivered at least once.
type ClosedEvent struct {
	Partition int
	ID        string
	runs.Closed
}

// ReadClosed returns up to count events per partition for consumer in
// group: first those it read before and never acknowledged (a handler
// failed), then new ones. With reclaimIdle > 0 it also takes over events
// another consumer left unacknowledged for that long (a replica that died).
func (s *Store) ReadClosed(ctx context.Context, group, consumer string, count int, reclaimIdle time.Duration) ([]ClosedEvent, error) {
	var out []ClosedEvent
	for _, id := range []string{"0", ">"} {
		evs, err := s.readClosed(ctx, group, consumer, count, id)
		if isNoGroup(err) {
			if err := s.ensureGroups(ctx, group); err != nil {
				return nil, err
			}
			evs, err = s.readClosed(ctx, group, consumer, count, id)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, evs...)
	}
	if reclaimIdle > 0 {
		for p := range s.k.partitions {
			msgs, _, err := s.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
				Stream: s.k.closed(p), Group: group, Consumer: consumer, MinIdle: reclaimIdle, Start: "0", Count: int64(count),
			}).Result()
			if err != nil && !isNoGroup(err) {
				return nil, err
			}
			for _, m := range msgs {
				out = append(out, decodeClosed(p, m))
			}
		}
	}
	return out, nil
}

func (s *Store) readClosed(ctx context.Context, group, consumer string, count int, id string) ([]ClosedEvent, error) {
	cmds := make([]*redis.XStreamSliceCmd, s.k.partitions)
	_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for p := range cmds {
			cmds[p] = pipe.XReadGroup(ctx, &redis.XReadGroupArgs{
				Group: group, Consumer: consumer, Streams: []string{s.k.closed(p), id}, Count: int64(count), Block: -1,
			})
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	var out []ClosedEvent
	for p, c := range cmds {
		for _, st := range c.Val() {
			for _, m := range st.Messages {
				out = append(out, decodeClosed(p, m))
			}
		}
	}
	return out, nil
}

// ensureGroups creates the consumer group on every partition's outbox,
// from the stream's start so that events written before are delivered.
func (s *Store) ensureGroups(ctx context.Context, group string) error {
	for p := range s.k.partitions {
		err := s.rdb.XGroupCreateMkStream(ctx, s.k.closed(p), group, "0").Err()
		if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
			return err
		}
	}
	return nil
}

func isNoGroup(err error) bool { return err != nil && strings.Contains(err.Error(), "NOGROUP") }

func decodeClosed(p int, m redis.XMessage) ClosedEvent {
	str := func(k string) string { v, _ := m.Values[k].(string); return v }
	st, _ := strconv.Atoi(str("st"))
	return ClosedEvent{Partition: p, ID: m.ID, Closed: runs.Closed{
		Namespace:      str("ns"),
		WorkflowID:     str("wf"),
		RunID:          str("rid"),
		ScheduleID:     str("sid"),
		NominalTime:    fromMS(str("nom")),
		Status:         runs.Status(st),
		CloseTime:      fromMS(str("xt")),
		FailureMessage: str("msg"),
	}}
}

// AckClosed acknowledges and deletes a delivered event.
func (s *Store) AckClosed(ctx context.Context, group string, ev ClosedEvent) error {
	key := s.k.closed(ev.Partition)
	_, err := s.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.XAck(ctx, key, group, ev.ID)
		pipe.XDel(ctx, key, ev.ID)
		return nil
	})
	return err
}
