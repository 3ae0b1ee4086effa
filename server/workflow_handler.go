package server

import (
	"context"
	"encoding/json"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/sundial-dev/sundial/internal/convert"
	"github.com/sundial-dev/sundial/internal/errs"
	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/internal/ids"
	"github.com/sundial-dev/sundial/internal/runs"
	"github.com/sundial-dev/sundial/internal/runstore"
)

// Long-poll bounds shared by GetWorkflowResult and PollTasks.
const (
	defaultLongPoll = 30 * time.Second
	maxLongPoll     = 60 * time.Second
	// recheckInterval bounds how long a long poll trusts pub/sub alone: it
	// re-reads Redis this often in case an event was lost in a reconnect.
	recheckInterval = time.Second
)

// workflowHandler serves WorkflowService.
type workflowHandler struct{ c *runsComponent }

// jsonField converts a protobuf Value to compact JSON, naming field on
// failure (NaN and infinite numbers have no JSON form). It marshals once:
// the marshal is the validation.
func jsonField(field string, v *structpb.Value) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	b, err := convert.AppendJSON(nil, v)
	if err != nil {
		return nil, errs.Field(field, "is not valid JSON: %v", err)
	}
	return b, nil
}

func longPollWait(field string, d time.Duration) (time.Duration, error) {
	switch {
	case d < 0:
		return 0, errs.Field(field, "must not be negative, got %s", d)
	case d == 0:
		return defaultLongPoll, nil
	case d > maxLongPoll:
		return maxLongPoll, nil
	}
	return d, nil
}

func (h *workflowHandler) StartWorkflow(ctx context.Context, req *connect.Request[pb.StartWorkflowRequest]) (*connect.Response[pb.StartWorkflowResponse], error) {
	sr, err := startRequest(req.Msg)
	if err != nil {
		return nil, toConnect(err)
	}
	res, err := h.c.store.Start(ctx, sr)
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&pb.StartWorkflowResponse{RunId: res.RunID}), nil
}

// maxStartBatch caps the starts of one StartWorkflows call.
const maxStartBatch = 1000

// StartWorkflows applies each start as StartWorkflow would; the valid
// ones reach Redis together, in one pipeline.
func (h *workflowHandler) StartWorkflows(ctx context.Context, req *connect.Request[pb.StartWorkflowsRequest]) (*connect.Response[pb.StartWorkflowsResponse], error) {
	items := req.Msg.GetRequests()
	if len(items) == 0 || len(items) > maxStartBatch {
		return nil, toConnect(errs.Field("requests", "must hold 1 to %d starts, got %d (split bigger batches)", maxStartBatch, len(items)))
	}
	results := make([]*pb.StartWorkflowResult, len(items))
	valid := make([]runs.StartRequest, 0, len(items))
	idx := make([]int, 0, len(items))
	for i, m := range items {
		sr, err := startRequest(m)
		if err != nil {
			results[i] = startResult("", err)
			continue
		}
		valid = append(valid, sr)
		idx = append(idx, i)
	}
	for j, o := range h.c.store.StartMany(ctx, valid) {
		results[idx[j]] = startResult(o.Result.RunID, o.Err)
	}
	return connect.NewResponse(&pb.StartWorkflowsResponse{Results: results}), nil
}

// startResult is one item's outcome, with toConnect's code for an error.
func startResult(runID string, err error) *pb.StartWorkflowResult {
	if err != nil {
		code, msg := itemStatus(err)
		return &pb.StartWorkflowResult{Code: code, Message: msg}
	}
	return &pb.StartWorkflowResult{RunId: runID}
}

// startRequest validates a start request at the edge and converts it.
func startRequest(m *pb.StartWorkflowRequest) (runs.StartRequest, error) {
	in, err := jsonField("input", m.GetInput())
	if err != nil {
		return runs.StartRequest{}, err
	}
	var memo map[string]json.RawMessage
	if len(m.GetMemo()) > 0 {
		memo = make(map[string]json.RawMessage, len(m.GetMemo()))
	}
	for k, v := range m.GetMemo() {
		b, err := jsonField("memo["+k+"]", v)
		if err != nil {
			return runs.StartRequest{}, err
		}
		memo[k] = b
	}
	sr := runs.StartRequest{
		Namespace:        m.GetNamespace(),
		WorkflowID:       m.GetWorkflowId(),
		WorkflowType:     m.GetWorkflowType(),
		TaskQueue:        m.GetTaskQueue(),
		Input:            in,
		StartDelay:       convert.FromDuration(m.GetStartDelay()),
		CronSchedule:     m.GetCronSchedule(),
		RunTimeout:       convert.FromDuration(m.GetRunTimeout()),
		ExecutionTimeout: convert.FromDuration(m.GetExecutionTimeout()),
		HeartbeatTimeout: convert.FromDuration(m.GetHeartbeatTimeout()),
		RetryPolicy:      convert.FromRetryPolicy(m.GetRetryPolicy()),
		Memo:             memo,
		IDReusePolicy:    runs.IDReusePolicy(m.GetIdReusePolicy()),
		RequestID:        m.GetRequestId(),
		Origin:           runs.Origin{ClientIdentity: m.GetIdentity()},
	}
	if err := validateStart(&sr); err != nil {
		return runs.StartRequest{}, err
	}
	return sr, nil
}

// runRef validates the namespace, workflow id and optional run id of a
// request.
func runRef(ns, wf string) (string, error) {
	ns, err := ids.Namespace(ns)
	if err != nil {
		return "", err
	}
	if err := ids.WorkflowID("workflow_id", wf); err != nil {
		return "", err
	}
	return ns, nil
}

func (h *workflowHandler) DescribeWorkflow(ctx context.Context, req *connect.Request[pb.DescribeWorkflowRequest]) (*connect.Response[pb.DescribeWorkflowResponse], error) {
	ns, err := runRef(req.Msg.GetNamespace(), req.Msg.GetWorkflowId())
	if err != nil {
		return nil, toConnect(err)
	}
	r, err := h.c.store.Get(ctx, ns, req.Msg.GetWorkflowId(), req.Msg.GetRunId())
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&pb.DescribeWorkflowResponse{Run: runToProto(r)}), nil
}

func (h *workflowHandler) GetWorkflowResult(ctx context.Context, req *connect.Request[pb.GetWorkflowResultRequest]) (*connect.Response[pb.GetWorkflowResultResponse], error) {
	m := req.Msg
	ns, err := runRef(m.GetNamespace(), m.GetWorkflowId())
	if err != nil {
		return nil, toConnect(err)
	}
	wait, err := longPollWait("wait", convert.FromDuration(m.GetWait()))
	if err != nil {
		return nil, toConnect(err)
	}
	r, err := h.c.store.Get(ctx, ns, m.GetWorkflowId(), m.GetRunId())
	if err != nil {
		return nil, toConnect(err)
	}
	if !r.Status.Closed() {
		r, err = h.waitClosed(ctx, r, wait)
		if err != nil {
			return nil, toConnect(err)
		}
	}
	return connect.NewResponse(&pb.GetWorkflowResultResponse{Closed: r.Status.Closed(), Run: runToProto(r)}), nil
}

// waitClosed waits up to wait for run r to close and returns its latest
// state. It subscribes before re-reading, so a close between the first read
// and the subscription is not missed.
func (h *workflowHandler) waitClosed(ctx context.Context, r *runstore.Run, wait time.Duration) (*runstore.Run, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if err := h.c.hub.acquire(ctx); err != nil {
		return r, nil
	}
	defer h.c.hub.release()
	key := r.Namespace + "|" + r.WorkflowID + "|" + r.RunID
	watched := false
	for {
		ch := h.c.hub.waitClose(key)
		if !watched {
			if err := h.c.store.WatchClose(ctx, r.Namespace, r.WorkflowID, r.RunID); err != nil {
				h.c.hub.unwaitClose(key, ch)
				if ctx.Err() != nil {
					return r, nil
				}
				return nil, err
			}
			watched = true
		}
		cur, err := h.c.store.Get(ctx, r.Namespace, r.WorkflowID, r.RunID)
		if err != nil {
			h.c.hub.unwaitClose(key, ch)
			if ctx.Err() != nil {
				return r, nil
			}
			return nil, err
		}
		r = cur
		if r.Status.Closed() {
			h.c.hub.unwaitClose(key, ch)
			return r, nil
		}
		t := time.NewTimer(recheckInterval)
		select {
		case <-ch:
		case <-t.C:
			h.c.hub.unwaitClose(key, ch)
		case <-ctx.Done():
			t.Stop()
			h.c.hub.unwaitClose(key, ch)
			return r, nil
		}
		t.Stop()
	}
}

func (h *workflowHandler) CancelWorkflow(ctx context.Context, req *connect.Request[pb.CancelWorkflowRequest]) (*connect.Response[pb.CancelWorkflowResponse], error) {
	ns, err := runRef(req.Msg.GetNamespace(), req.Msg.GetWorkflowId())
	if err != nil {
		return nil, toConnect(err)
	}
	if err := h.c.store.Cancel(ctx, ns, req.Msg.GetWorkflowId(), req.Msg.GetRunId(), req.Msg.GetReason()); err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&pb.CancelWorkflowResponse{}), nil
}

func (h *workflowHandler) TerminateWorkflow(ctx context.Context, req *connect.Request[pb.TerminateWorkflowRequest]) (*connect.Response[pb.TerminateWorkflowResponse], error) {
	ns, err := runRef(req.Msg.GetNamespace(), req.Msg.GetWorkflowId())
	if err != nil {
		return nil, toConnect(err)
	}
	if err := h.c.store.Terminate(ctx, ns, req.Msg.GetWorkflowId(), req.Msg.GetRunId(), req.Msg.GetReason()); err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&pb.TerminateWorkflowResponse{}), nil
}

func failureToProto(f *runstore.Failure) *pb.WorkflowFailure {
	if f == nil {
		return nil
	}
	return &pb.WorkflowFailure{Message: f.Message, Type: f.Type, StackTrace: f.StackTrace, NonRetryable: f.NonRetryable}
}

// runToProto converts a stored run. Stored JSON was valid when written, so
// a conversion error can only mean a damaged record; it becomes null.
func runToProto(r *runstore.Run) *pb.WorkflowRun {
	in, _ := convert.JSONValue(r.Input)
	res, _ := convert.JSONValue(r.Result)
	memo, _ := convert.Memo(r.Memo)
	out := &pb.WorkflowRun{
		Namespace:        r.Namespace,
		WorkflowId:       r.WorkflowID,
		RunId:            r.RunID,
		WorkflowType:     r.WorkflowType,
		TaskQueue:        r.TaskQueue,
		Input:            in,
		Status:           pb.WorkflowStatus(r.Status),
		Attempt:          int32(r.Attempt),
		Result:           res,
		Failure:          failureToProto(r.Failure),
		CreateTime:       convert.Timestamp(r.CreateTime),
		StartTime:        convert.Timestamp(r.StartTime),
		CloseTime:        convert.Timestamp(r.CloseTime),
		ScheduledTime:    convert.Timestamp(r.ScheduledTime),
		CronSchedule:     r.CronSchedule,
		RetryPolicy:      convert.RetryPolicy(r.RetryPolicy),
		RunTimeout:       convert.Duration(r.RunTimeout),
		ExecutionTimeout: convert.Duration(r.ExecutionTimeout),
		HeartbeatTimeout: convert.Duration(r.HeartbeatTimeout),
		Memo:             memo,
		CancelRequested:  r.CancelRequested,
		Origin: &pb.WorkflowOrigin{
			ScheduleId:     r.Origin.ScheduleID,
			NominalTime:    convert.Timestamp(r.Origin.NominalTime),
			Trigger:        pb.ExecutionTrigger(r.Origin.Trigger),
			ClientIdentity: r.Origin.ClientIdentity,
			PreviousRunId:  r.Origin.PreviousRunID,
		},
	}
	for _, a := range r.Attempts {
		out.Attempts = append(out.Attempts, &pb.WorkflowAttempt{
			Attempt:        int32(a.Attempt),
			StartTime:      convert.Timestamp(a.StartTime),
			EndTime:        convert.Timestamp(a.EndTime),
			Failure:        failureToProto(a.Failure),
			WorkerIdentity: a.WorkerIdentity,
		})
	}
	return out
}
