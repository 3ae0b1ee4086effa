package runstore

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sundial-dev/sundial/internal/runs"
)

// preparedTTL is how long a prepared run waits for its start before Redis
// deletes it: longer than a scheduler's claim lease, after which another
// replica fires (and prepares) the claim again.
const preparedTTL = 2 * time.Minute

// preparePipeline is how many runs one Prepare pipeline writes.
const preparePipeline = 256

// errNotPrepared is the activate script's answer for a prepared run that
// is gone; StartMany then starts the run in full.
var errNotPrepared = errors.New("prepared run not found")

// Prepare writes the hashes of runs ahead of their start, without their
// status, so that the start (activateScript) only sets the status and
// links the run into its workflow id, indexes and queue. Nothing names a
// prepared run until then, and its hash expires after preparedTTL.
// reqs must be validated and Preparable. It implements runs.Preparer.
func (s *Store) Prepare(ctx context.Context, reqs []runs.StartRequest) ([]string, error) {
	for i := range reqs {
		if !reqs[i].Preparable() {
			return nil, errors.New("prepare: request " + reqs[i].WorkflowID + " cannot be prepared")
		}
	}
	now := s.clock.Now()
	ids := make([]string, len(reqs))
	// Pipelines of preparePipeline runs, so that a second's worth of fires
	// does not hold Redis for tens of milliseconds at once.
	for from := 0; from < len(reqs); from += preparePipeline {
		_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			for i := from; i < min(from+preparePipeline, len(reqs)); i++ {
				req := &reqs[i]
				ns, wf := req.Namespace, req.WorkflowID
				p := s.k.partition(ns, wf)
				ids[i] = s.newRunID(now)
				// The fields startScript writes from its positional arguments,
				// but for the status and times, which activateScript sets.
				args, err := appendRunFields([]any{"ns", ns, "wf", wf, "rid", ids[i], "type", req.WorkflowType, "q", req.TaskQueue,
					"hb", heartbeat(req).Milliseconds(), "att", "0", "p", p}, req)
				if err != nil {
					return err
				}
				key := s.k.run(p, ns, wf, ids[i])
				pipe.HSet(ctx, key, args...)
				pipe.PExpire(ctx, key, preparedTTL)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// Discard deletes prepared runs that will not be started: each only while
// it has no status, so a started run is never deleted. It implements
// runs.Preparer.
func (s *Store) Discard(ctx context.Context, reqs []runs.StartRequest) error {
	calls := make([]*scriptCall, 0, len(reqs))
	for _, req := range reqs {
		if req.PreparedRunID == "" {
			continue
		}
		p := s.k.partition(req.Namespace, req.WorkflowID)
		calls = append(calls, newCall(discardScript, []string{s.k.run(p, req.Namespace, req.WorkflowID, req.PreparedRunID)}, nil))
	}
	s.pipe.do(ctx, calls...)
	for _, c := range calls {
		if err := c.cmd.Err(); err != nil {
			return err
		}
	}
	return nil
}

// activateCall is a prepared run's part of an activate script call,
// merged like startCall's.
func (s *Store) activateCall(req *runs.StartRequest, now time.Time) *scriptCall {
	ns, wf, rid := req.Namespace, req.WorkflowID, req.PreparedRunID
	p := s.k.partition(ns, wf)
	c := newCall(activateScript, []string{s.k.run(p, ns, wf, rid), s.k.workflow(p, ns, wf)},
		[]any{ns, wf, rid, req.TaskQueue, req.WorkflowType, req.Origin.ScheduleID, executionDeadline(req, now)})
	c.merge = s.startHead(p, now)
	return c
}
