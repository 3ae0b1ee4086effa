package server

import (
	"context"
	"math/rand/v2"
	"time"

	"connectrpc.com/connect"

	"github.com/sundial-dev/sundial/internal/convert"
	"github.com/sundial-dev/sundial/internal/errs"
	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/internal/ids"
	"github.com/sundial-dev/sundial/internal/runstore"
)

// maxPollTasks caps PollTasks's max_tasks.
const maxPollTasks = 100

// workerHandler serves WorkerService.
type workerHandler struct{ c *runsComponent }

func (h *workerHandler) PollTasks(ctx context.Context, req *connect.Request[pb.PollTasksRequest]) (*connect.Response[pb.PollTasksResponse], error) {
	m := req.Msg
	ns, err := ids.Namespace(m.GetNamespace())
	if err != nil {
		return nil, toConnect(err)
	}
	if err := ids.TaskQueue("task_queue", m.GetTaskQueue()); err != nil {
		return nil, toConnect(err)
	}
	n := int(m.GetMaxTasks())
	switch {
	case n < 0:
		return nil, toConnect(errs.Field("max_tasks", "must not be negative, got %d", n))
	case n == 0:
		n = 1
	case n > maxPollTasks:
		n = maxPollTasks
	}
	wait, err := longPollWait("wait", convert.FromDuration(m.GetWait()))
	if err != nil {
		return nil, toConnect(err)
	}
	tasks, err := h.poll(ctx, ns, m.GetTaskQueue(), n, m.GetIdentity(), wait)
	if err != nil {
		return nil, toConnect(err)
	}
	if len(tasks) > 0 && h.c.pollClaimed != nil {
		h.c.pollClaimed()
	}
	if err := ctx.Err(); err != nil && len(tasks) > 0 {
		// Nobody will read the response: put the tasks back now rather
		// than leave them leased until their heartbeat timeout.
		if rerr := h.c.store.Release(ctx, m.GetTaskQueue(), tasks); rerr != nil {
			h.c.log.WarnContext(ctx, "could not put back the tasks of a cancelled poll; they are redelivered after their heartbeat timeout", "err", rerr)
		}
		return nil, toConnect(err)
	}
	out := &pb.PollTasksResponse{}
	for _, t := range tasks {
		in, _ := convert.JSONValue(t.Input)
		out.Tasks = append(out.Tasks, &pb.Task{
			TaskToken:        t.Token,
			Namespace:        t.Namespace,
			WorkflowId:       t.WorkflowID,
			RunId:            t.RunID,
			WorkflowType:     t.WorkflowType,
			Input:            in,
			Attempt:          int32(t.Attempt),
			HeartbeatTimeout: convert.Duration(t.HeartbeatTimeout),
			Deadline:         convert.Timestamp(t.Deadline),
			ScheduledTime:    convert.Timestamp(t.ScheduledTime),
		})
	}
	return connect.NewResponse(out), nil
}

// poll claims up to n tasks, waiting up to wait for the first. It registers
// as a waiter before it looks, so a task enqueued while it looks wakes it;
// a wake-up names the partition to try first. Idle, it holds no Redis
// connection of its own: it waits on the replica's one subscription.
func (h *workerHandler) poll(ctx context.Context, ns, queue string, n int, identity string, wait time.Duration) ([]runstore.Task, error) {
	// The first look ignores the wait, so a tiny wait still takes what is
	// there; only waiting for more is bounded by it.
	first := true
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	held := h.c.hub.acquire(ctx) == nil
	if held {
		defer h.c.hub.release()
	}
	key := ns + "|" + queue
	ch := h.c.hub.waitQueue(key)
	defer h.c.hub.unwaitQueue(key, ch)
	hint := -1
	for {
		cctx := ctx
		if first {
			cctx, first = parent, false
		}
		tasks, err := h.claim(cctx, ns, queue, n, identity, hint)
		if len(tasks) > 0 {
			return tasks, nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil
			}
			return nil, err
		}
		recheck := recheckInterval
		if !held {
			recheck = h.c.cfg.PollInterval
		}
		t := time.NewTimer(recheck)
		h.c.hub.notifyIdle(key)
		select {
		case hint = <-ch:
		case <-t.C:
			hint = -1
		case <-ctx.Done():
			t.Stop()
			return nil, nil
		}
		t.Stop()
	}
}

// claim takes up to n tasks: from partition hint first, then from every
// partition that holds entries, starting at a random one so pollers spread.
func (h *workerHandler) claim(ctx context.Context, ns, queue string, n int, identity string, hint int) ([]runstore.Task, error) {
	var out []runstore.Task
	if hint >= 0 {
		ts, err := h.c.store.Claim(ctx, ns, queue, hint, n, identity)
		if err != nil {
			return out, err
		}
		out = append(out, ts...)
		if len(out) >= n {
			return out, nil
		}
	}
	lens, err := h.c.store.QueueLengths(ctx, ns, queue)
	if err != nil {
		return out, err
	}
	// Split what is still wanted over the partitions that hold entries,
	// starting at a random one so pollers spread, and claim from all of
	// them in one round trip.
	var claims []runstore.PartitionClaim
	want := n - len(out)
	start := rand.IntN(len(lens))
	for i := range lens {
		p := (start + i) % len(lens)
		if lens[p] == 0 || p == hint || want == 0 {
			continue
		}
		k := int(min(lens[p], int64(want)))
		claims = append(claims, runstore.PartitionClaim{Partition: p, N: k})
		want -= k
	}
	if len(claims) == 0 {
		return out, nil
	}
	ts, err := h.c.store.ClaimMany(ctx, ns, queue, claims, identity)
	return append(out, ts...), err
}

func (h *workerHandler) CompleteTask(ctx context.Context, req *connect.Request[pb.CompleteTaskRequest]) (*connect.Response[pb.CompleteTaskResponse], error) {
	ref, err := runstore.ParseToken(req.Msg.GetTaskToken())
	if err != nil {
		return nil, toConnect(err)
	}
	res, err := jsonField("result", req.Msg.GetResult())
	if err != nil {
		return nil, toConnect(err)
	}
	if err := h.c.store.Complete(ctx, ref, res); err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&pb.CompleteTaskResponse{}), nil
}

func (h *workerHandler) FailTask(ctx context.Context, req *connect.Request[pb.FailTaskRequest]) (*connect.Response[pb.FailTaskResponse], error) {
	m := req.Msg
	ref, err := runstore.ParseToken(m.GetTaskToken())
	if err != nil {
		return nil, toConnect(err)
	}
	f := runstore.Failure{Message: m.GetMessage(), Type: m.GetType(), StackTrace: m.GetStackTrace(), NonRetryable: m.GetNonRetryable()}
	if _, err := h.c.store.Fail(ctx, ref, f); err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&pb.FailTaskResponse{}), nil
}

func (h *workerHandler) HeartbeatTask(ctx context.Context, req *connect.Request[pb.HeartbeatTaskRequest]) (*connect.Response[pb.HeartbeatTaskResponse], error) {
	ref, err := runstore.ParseToken(req.Msg.GetTaskToken())
	if err != nil {
		return nil, toConnect(err)
	}
	cr, err := h.c.store.Heartbeat(ctx, ref)
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&pb.HeartbeatTaskResponse{CancelRequested: cr}), nil
}
