package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/internal/gen/sundial/v1/sundialv1connect"
)

// maxReportsInFlight is how many ReportTasks calls a worker has open at
// once; reports made while they are out go in the next call.
const maxReportsInFlight = 2

// maxReportBatch caps the reports of one ReportTasks call (the server
// accepts 1000).
const maxReportBatch = 500

// reporter sends attempts' outcomes to the server in batches. It never
// waits to fill a batch: a report goes out at once unless
// maxReportsInFlight calls are already out, and then rides on the next
// one, so at light load every report is one call and under load one call
// carries many. Senders are goroutines only while there is something to
// send. A server without ReportTasks (Unimplemented) gets CompleteTask and
// FailTask calls instead, from then on.
type reporter struct {
	svc     sundialv1connect.WorkerServiceClient
	timeout time.Duration

	noBatch atomic.Bool
	// queued, when set (tests), is called with the queue's length each
	// time a report is queued.
	queued func(n int)

	mu      sync.Mutex
	queue   []*pendingReport
	sending int
}

// pendingReport is one outcome waiting for its call: exactly one of
// complete and fail is set.
type pendingReport struct {
	complete *pb.CompleteTaskRequest
	fail     *pb.FailTaskRequest
	err      error
	done     chan struct{}
}

// send reports one outcome and returns the server's answer for it (a
// *connect.Error, as CompleteTask or FailTask would return), or ctx's
// error if ctx ends first.
func (r *reporter) send(ctx context.Context, complete *pb.CompleteTaskRequest, fail *pb.FailTaskRequest) error {
	if r.noBatch.Load() {
		return r.sendOne(ctx, complete, fail)
	}
	p := &pendingReport{complete: complete, fail: fail, done: make(chan struct{})}
	r.mu.Lock()
	r.queue = append(r.queue, p)
	lead := r.sending < maxReportsInFlight
	if lead {
		r.sending++
	}
	n := len(r.queue)
	r.mu.Unlock()
	if r.queued != nil {
		r.queued(n)
	}
	if lead {
		go r.drain()
	}
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return connect.NewError(connect.CodeDeadlineExceeded, ctx.Err())
	}
}

func (r *reporter) sendOne(ctx context.Context, complete *pb.CompleteTaskRequest, fail *pb.FailTaskRequest) error {
	if complete != nil {
		_, err := r.svc.CompleteTask(ctx, connect.NewRequest(complete))
		return err
	}
	_, err := r.svc.FailTask(ctx, connect.NewRequest(fail))
	return err
}

// drain sends batches until nothing is queued, then gives up its slot.
func (r *reporter) drain() {
	for {
		r.mu.Lock()
		n := min(len(r.queue), maxReportBatch)
		if n == 0 {
			r.sending--
			r.mu.Unlock()
			return
		}
		batch := r.queue[:n:n]
		r.queue = r.queue[n:]
		if len(r.queue) == 0 {
			r.queue = nil
		}
		r.mu.Unlock()
		r.sendBatch(batch)
	}
}

// sendBatch sends one ReportTasks call and hands each report its answer.
func (r *reporter) sendBatch(batch []*pendingReport) {
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	req := &pb.ReportTasksRequest{}
	for _, p := range batch {
		if p.complete != nil {
			req.Completions = append(req.Completions, p.complete)
		} else {
			req.Failures = append(req.Failures, p.fail)
		}
	}
	res, err := r.svc.ReportTasks(ctx, connect.NewRequest(req))
	if connect.CodeOf(err) == connect.CodeUnimplemented {
		r.noBatch.Store(true)
		for _, p := range batch {
			p.err = r.sendOne(ctx, p.complete, p.fail)
			close(p.done)
		}
		return
	}
	var cs, fs []*pb.TaskReportResult
	if err == nil {
		cs, fs = res.Msg.GetCompletions(), res.Msg.GetFailures()
	}
	var ci, fi int
	for _, p := range batch {
		var it *pb.TaskReportResult
		switch {
		case err != nil:
		case p.complete != nil && ci < len(cs):
			it = cs[ci]
		case p.fail != nil && fi < len(fs):
			it = fs[fi]
		default:
			err = connect.NewError(connect.CodeInternal, fmt.Errorf("server answered %d of %d completions and %d of %d failures",
				len(cs), len(req.Completions), len(fs), len(req.Failures)))
		}
		if p.complete != nil {
			ci++
		} else {
			fi++
		}
		switch {
		case it == nil:
			p.err = err
		case it.GetCode() != 0:
			p.err = connect.NewError(connect.Code(it.GetCode()), errors.New(it.GetMessage()))
		}
		close(p.done)
	}
}
