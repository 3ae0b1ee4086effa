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
	out, err := s.readClosed(ctx, group, consumer, count)
	if isNoGroup(err) {
		if err := s.ensureGroups(ctx, group); err != nil {
			return nil, err
		}
		out, err = s.readClosed(ctx, group, consumer, count)
	}
	if err != nil {
		return nil, err
	}
	if reclaimIdle > 0 {
		cmds := make([]*redis.XAutoClaimCmd, s.k.partitions)
		_, _ = s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			for p := range cmds {
				cmds[p] = pipe.XAutoClaim(ctx, &redis.XAutoClaimArgs{
					Stream: s.k.closed(p), Group: group, Consumer: consumer, MinIdle: reclaimIdle, Start: "0", Count: int64(count),
				})
			}
			return nil
		})
		for p, c := range cmds {
			msgs, _, err := c.Result()
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

// readClosed reads, in one pipeline, every partition's events that
// consumer read before and never acknowledged (ID "0"), then new ones
// (">"), up to count of each per partition.
func (s *Store) readClosed(ctx context.Context, group, consumer string, count int) ([]ClosedEvent, error) {
	ids := []string{"0", ">"}
	cmds := make([]*redis.XStreamSliceCmd, len(ids)*s.k.partitions)
	_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i := range cmds {
			p, id := i%s.k.partitions, ids[i/s.k.partitions]
			cmds[i] = pipe.XReadGroup(ctx, &redis.XReadGroupArgs{
				Group: group, Consumer: consumer, Streams: []string{s.k.closed(p), id}, Count: int64(count), Block: -1,
			})
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	var out []ClosedEvent
	for i, c := range cmds {
		for _, st := range c.Val() {
			for _, m := range st.Messages {
				out = append(out, decodeClosed(i%s.k.partitions, m))
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

// AckClosed acknowledges and deletes delivered events, in one round trip:
// each partition's stream gets one XACK and one XDEL of its events, in a
// transaction (one per slot on a Cluster).
func (s *Store) AckClosed(ctx context.Context, group string, evs ...ClosedEvent) error {
	if len(evs) == 0 {
		return nil
	}
	ids := map[int][]string{}
	var order []int
	for _, ev := range evs {
		if _, ok := ids[ev.Partition]; !ok {
			order = append(order, ev.Partition)
		}
		ids[ev.Partition] = append(ids[ev.Partition], ev.ID)
	}
	_, err := s.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		for _, p := range order {
			key := s.k.closed(p)
			pipe.XAck(ctx, key, group, ids[p]...)
			pipe.XDel(ctx, key, ids[p]...)
		}
		return nil
	})
	return err
}
