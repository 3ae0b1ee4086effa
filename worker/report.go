package worker

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/sundial-dev/sundial/internal/batch"
	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/internal/gen/sundial/v1/sundialv1connect"
)

// maxReportsInFlight is how many ReportTasks calls a worker has open at
// once; reports made while they are out go in the next call.
const maxReportsInFlight = 2

// maxReportBatch caps the reports of one ReportTasks call (the server
// accepts 1000).
const maxReportBatch = 500

// maxReportBatchBytes keeps a ReportTasks call well under the server's
// request limit (4 MiB by default); a server with a lower one answers a
// batch ResourceExhausted, and its reports are then sent one by one.
const maxReportBatchBytes = 1 << 20

// reporter sends attempts' outcomes to the server in batches (see package
// internal/batch): at light load every report is one call and under load
// one call carries many. A server without ReportTasks (Unimplemented) gets
// CompleteTask and FailTask calls instead, from then on.
type reporter struct {
	svc     sundialv1connect.WorkerServiceClient
	noBatch atomic.Bool
	batches *batch.Batcher[report, struct{}]
}

// report is one outcome: exactly one of complete and fail is set.
type report struct {
	complete *pb.CompleteTaskRequest
	fail     *pb.FailTaskRequest
}

func (p report) size() int {
	if p.complete != nil {
		return proto.Size(p.complete)
	}
	return proto.Size(p.fail)
}

func newReporter(svc sundialv1connect.WorkerServiceClient, timeout time.Duration) *reporter {
	r := &reporter{svc: svc}
	r.batches = batch.New(maxReportsInFlight, maxReportBatch, timeout, r.sendBatch)
	r.batches.Size, r.batches.MaxBytes = report.size, maxReportBatchBytes
	return r
}

// send reports one outcome and returns the server's answer for it (a
// *connect.Error, as CompleteTask or FailTask would return), or a
// DeadlineExceeded error if ctx ends first.
func (r *reporter) send(ctx context.Context, complete *pb.CompleteTaskRequest, fail *pb.FailTaskRequest) error {
	if r.noBatch.Load() {
		return r.sendOne(ctx, report{complete, fail})
	}
	_, err := r.batches.Do(ctx, report{complete, fail})
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return connect.NewError(connect.CodeDeadlineExceeded, err)
	}
	return err
}

func (r *reporter) sendOne(ctx context.Context, p report) error {
	if p.complete != nil {
		_, err := r.svc.CompleteTask(ctx, connect.NewRequest(p.complete))
		return err
	}
	_, err := r.svc.FailTask(ctx, connect.NewRequest(p.fail))
	return err
}

// sendBatch sends one ReportTasks call and hands each report its answer.
func (r *reporter) sendBatch(ctx context.Context, items []report, out []struct{}, errs []error) {
	req := &pb.ReportTasksRequest{}
	for _, p := range items {
		if p.complete != nil {
			req.Completions = append(req.Completions, p.complete)
		} else {
			req.Failures = append(req.Failures, p.fail)
		}
	}
	res, err := r.svc.ReportTasks(ctx, connect.NewRequest(req))
	if code := connect.CodeOf(err); code == connect.CodeUnimplemented || code == connect.CodeResourceExhausted {
		// A server without ReportTasks, or a batch too big for this
		// server's request limit: each report goes alone.
		if code == connect.CodeUnimplemented {
			r.noBatch.Store(true)
		}
		batch.SendEach(ctx, items, out, errs, func(ctx context.Context, p report) (struct{}, error) {
			return struct{}{}, r.sendOne(ctx, p)
		})
		return
	}
	var cs, fs []*pb.TaskReportResult
	if err == nil {
		cs, fs = res.Msg.GetCompletions(), res.Msg.GetFailures()
	}
	var ci, fi int
	for i, p := range items {
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
			errs[i] = err
		case it.GetCode() != 0:
			errs[i] = connect.NewError(connect.Code(it.GetCode()), errors.New(it.GetMessage()))
		}
	}
}
