package server

import (
	"context"
	"errors"

	"connectrpc.com/connect"

	"github.com/sundial-dev/sundial/internal/errs"
	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/internal/runstore"
)

// maxReportTasks caps the completions and failures of one ReportTasks call.
const maxReportTasks = 1000

// ReportTasks applies a batch of completions and failures: completions in
// one Redis pipeline, failures in another, and answers each item on its
// own with the code CompleteTask or FailTask would have returned.
func (h *workerHandler) ReportTasks(ctx context.Context, req *connect.Request[pb.ReportTasksRequest]) (*connect.Response[pb.ReportTasksResponse], error) {
	m := req.Msg
	if n := len(m.GetCompletions()) + len(m.GetFailures()); n > maxReportTasks {
		return nil, toConnect(errs.Field("completions", "at most %d completions and failures per call, got %d (split the batch)", maxReportTasks, n))
	}
	out := &pb.ReportTasksResponse{
		Completions: make([]*pb.TaskReportResult, len(m.GetCompletions())),
		Failures:    make([]*pb.TaskReportResult, len(m.GetFailures())),
	}

	var cs []runstore.Completion
	var cIdx []int
	for i, c := range m.GetCompletions() {
		ref, err := runstore.ParseToken(c.GetTaskToken())
		if err == nil {
			var res []byte
			res, err = jsonField("result", c.GetResult())
			if err == nil {
				cs = append(cs, runstore.Completion{Ref: ref, Result: res})
				cIdx = append(cIdx, i)
				continue
			}
		}
		out.Completions[i] = reportResult(err)
	}
	var fs []runstore.FailReport
	var fIdx []int
	for i, f := range m.GetFailures() {
		ref, err := runstore.ParseToken(f.GetTaskToken())
		if err != nil {
			out.Failures[i] = reportResult(err)
			continue
		}
		fs = append(fs, runstore.FailReport{Ref: ref, Failure: runstore.Failure{
			Message: f.GetMessage(), Type: f.GetType(), StackTrace: f.GetStackTrace(), NonRetryable: f.GetNonRetryable()}})
		fIdx = append(fIdx, i)
	}
	if len(cs) > 0 {
		for j, err := range h.c.store.CompleteMany(ctx, cs) {
			out.Completions[cIdx[j]] = reportResult(err)
		}
	}
	if len(fs) > 0 {
		for j, err := range h.c.store.FailMany(ctx, fs) {
			out.Failures[fIdx[j]] = reportResult(err)
		}
	}
	return connect.NewResponse(out), nil
}

// okResult is shared by every applied report: it is never modified.
var okResult = &pb.TaskReportResult{}

// reportResult is an item's outcome, with toConnect's code for an error.
func reportResult(err error) *pb.TaskReportResult {
	if err == nil {
		return okResult
	}
	code, msg := itemStatus(err)
	return &pb.TaskReportResult{Code: code, Message: msg}
}

// itemStatus is the code and message toConnect gives err, for the items of
// a batch call (ReportTasks, StartWorkflows) that each succeed or fail on
// their own.
func itemStatus(err error) (uint32, string) {
	var ce *connect.Error
	if !errors.As(toConnect(err), &ce) {
		return uint32(connect.CodeInternal), err.Error()
	}
	return uint32(ce.Code()), ce.Message()
}
