package client

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"time"

	"connectrpc.com/connect"

	"github.com/sundial-dev/sundial/internal/convert"
	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/schedule"
)

// ScheduleClient creates, finds and lists the schedules of the client's
// namespace. Get one from Client.ScheduleClient; it is safe for concurrent use.
type ScheduleClient struct {
	c *Client
}

// ScheduleClient returns the client's schedule API.
func (c *Client) ScheduleClient() ScheduleClient { return ScheduleClient{c: c} }

// ScheduleOptions describes a schedule to create.
type ScheduleOptions struct {
	// ID names the schedule within its namespace. Required.
	ID string
	// Spec says when the schedule fires. Required: at least one part.
	Spec schedule.Spec
	// Action is the workflow each fire starts. Required.
	Action ScheduleWorkflowAction
	// Overlap applies when a fire is due while an earlier run is still open.
	// Optional: defaults to SKIP.
	Overlap schedule.OverlapPolicy
	// CatchupWindow bounds how far back missed fires are caught up after
	// downtime. Optional: defaults to one year; the minimum is 10 s.
	CatchupWindow time.Duration
	// Coalesce runs only the latest missed fire after downtime. Optional:
	// defaults to false.
	Coalesce bool
	// PauseOnFailure pauses the schedule when a run it started fails or times
	// out. Optional: defaults to false.
	PauseOnFailure bool
	// Paused creates the schedule paused. Optional: defaults to false.
	Paused bool
	// Note is a human note kept with the paused state. Optional.
	Note string
	// RemainingActions limits the schedule to this many scheduled actions;
	// triggers and backfills do not count. Optional: defaults to 0, unlimited.
	RemainingActions int64
	// Tags are key/value labels for listing and PauseAll/ResumeAll. Optional.
	Tags map[string]string
	// TriggerImmediately triggers the schedule once right after creating it.
	// Optional: defaults to false.
	TriggerImmediately bool
	// ScheduleBackfill backfills these ranges right after creating the
	// schedule. Optional.
	ScheduleBackfill []ScheduleBackfill
	// RequestID makes a retried create idempotent. Optional.
	RequestID string
}

// ScheduleWorkflowAction is the workflow a schedule starts on each fire.
type ScheduleWorkflowAction struct {
	// ID is the base workflow id; each run gets "<ID>-<nominal RFC 3339>".
	// Optional: defaults to the schedule id.
	ID string
	// Workflow is the registered workflow type name. Required.
	Workflow string
	// TaskQueue is where workers poll for the run. Required.
	TaskQueue string
	// Input is the workflow's input, encoded with encoding/json (a
	// json.RawMessage is sent as is). Optional: defaults to null.
	Input any
	// WorkflowExecutionTimeout bounds the whole run, retries included.
	// Optional: defaults to unbounded.
	WorkflowExecutionTimeout time.Duration
	// WorkflowRunTimeout bounds one attempt. Optional: defaults to unbounded.
	WorkflowRunTimeout time.Duration
	// HeartbeatTimeout is how long a worker may go silent before the attempt
	// is redelivered. Optional: defaults to 30 s.
	HeartbeatTimeout time.Duration
	// RetryPolicy retries failed attempts. Optional: defaults to no retries.
	RetryPolicy *schedule.RetryPolicy
	// Memo is data attached to each run, each value encoded with
	// encoding/json. Optional.
	Memo map[string]any
}

// ScheduleBackfill is a range of past nominal times to run now.
type ScheduleBackfill struct {
	// Start is the first nominal time considered, inclusive. Required.
	Start time.Time
	// End is the last nominal time considered, inclusive. Required.
	End time.Time
	// Overlap applies to the backfilled runs. Optional: defaults to the
	// schedule's policy.
	Overlap schedule.OverlapPolicy
}

// NewScheduleOptions returns the options that create schedule s under id:
// the inverse of describing a schedule, for callers that hold a
// schedule.Schedule (a JSON file, a copy of another schedule).
func NewScheduleOptions(id string, s schedule.Schedule) ScheduleOptions {
	opts := ScheduleOptions{
		ID:             id,
		Spec:           s.Spec,
		Action:         WorkflowActionFrom(s.Action),
		Overlap:        s.Policy.Overlap,
		CatchupWindow:  s.Policy.CatchupWindow,
		Coalesce:       s.Policy.Coalesce,
		PauseOnFailure: s.Policy.PauseOnFailure,
		Paused:         s.State.Paused,
		Note:           s.State.Note,
		Tags:           s.Tags,
	}
	if s.State.LimitedActions {
		opts.RemainingActions = s.State.RemainingActions
	}
	return opts
}

// WorkflowActionFrom converts a stored action to a ScheduleWorkflowAction
// whose Input and Memo are the action's JSON bytes.
func WorkflowActionFrom(a schedule.Action) ScheduleWorkflowAction {
	w := ScheduleWorkflowAction{
		ID:                       a.WorkflowID,
		Workflow:                 a.WorkflowType,
		TaskQueue:                a.TaskQueue,
		WorkflowExecutionTimeout: a.ExecutionTimeout,
		WorkflowRunTimeout:       a.RunTimeout,
		HeartbeatTimeout:         a.HeartbeatTimeout,
		RetryPolicy:              a.RetryPolicy,
	}
	if len(a.Input) > 0 {
		w.Input = a.Input
	}
	if len(a.Memo) > 0 {
		w.Memo = make(map[string]any, len(a.Memo))
		for k, v := range a.Memo {
			w.Memo[k] = v
		}
	}
	return w
}

// ToAction encodes the action's input and memo as JSON. An input or memo
// value that encoding/json refuses is an ErrInvalidArgument naming the field.
func (w ScheduleWorkflowAction) ToAction() (schedule.Action, error) {
	a := schedule.Action{
		WorkflowType:     w.Workflow,
		WorkflowID:       w.ID,
		TaskQueue:        w.TaskQueue,
		ExecutionTimeout: w.WorkflowExecutionTimeout,
		RunTimeout:       w.WorkflowRunTimeout,
		HeartbeatTimeout: w.HeartbeatTimeout,
		RetryPolicy:      w.RetryPolicy,
	}
	if w.Input != nil {
		b, err := json.Marshal(w.Input)
		if err != nil {
			return a, invalidArg("schedule.action.input", err)
		}
		a.Input = b
	}
	if len(w.Memo) > 0 {
		a.Memo = make(map[string]json.RawMessage, len(w.Memo))
		for k, v := range w.Memo {
			b, err := json.Marshal(v)
			if err != nil {
				return a, invalidArg(fmt.Sprintf("schedule.action.memo[%q]", k), err)
			}
			a.Memo[k] = b
		}
	}
	return a, nil
}

// toSchedule builds the schedule definition the options describe.
func (o ScheduleOptions) toSchedule() (schedule.Schedule, error) {
	a, err := o.Action.ToAction()
	if err != nil {
		return schedule.Schedule{}, err
	}
	return schedule.Schedule{
		Spec:   o.Spec,
		Action: a,
		Policy: schedule.Policy{Overlap: o.Overlap, CatchupWindow: o.CatchupWindow, Coalesce: o.Coalesce, PauseOnFailure: o.PauseOnFailure},
		State:  schedule.State{Paused: o.Paused, Note: o.Note, LimitedActions: o.RemainingActions > 0, RemainingActions: o.RemainingActions},
		Tags:   o.Tags,
	}, nil
}

// invalidArg is a request the client refuses before sending it.
func invalidArg(field string, err error) error {
	return &Error{Kind: ErrInvalidArgument, Field: field, Message: field + ": " + err.Error()}
}

// schedulePB converts a schedule definition, reporting bad JSON as an
// ErrInvalidArgument.
func schedulePB(s schedule.Schedule) (*pb.Schedule, error) {
	p, err := convert.Schedule(s)
	if err != nil {
		return nil, &Error{Kind: ErrInvalidArgument, Field: fieldPath("schedule." + err.Error()), Message: "schedule." + err.Error()}
	}
	return p, nil
}

// Create stores a new schedule and returns its handle. A duplicate id fails
// with ErrScheduleAlreadyExists; bad input with ErrInvalidArgument. With
// TriggerImmediately or ScheduleBackfill set, those calls follow the create
// (they are not atomic with it); if one fails, the schedule exists and the
// handle is returned with the error.
func (sc ScheduleClient) Create(ctx context.Context, opts ScheduleOptions) (*ScheduleHandle, error) {
	s, err := opts.toSchedule()
	if err != nil {
		return nil, err
	}
	p, err := schedulePB(s)
	if err != nil {
		return nil, err
	}
	_, err = sc.c.schedules.CreateSchedule(ctx, connect.NewRequest(&pb.CreateScheduleRequest{
		Namespace:  sc.c.Namespace(),
		ScheduleId: opts.ID,
		Schedule:   p,
		RequestId:  opts.RequestID,
	}))
	if err != nil {
		return nil, fromScheduleConnect(err)
	}
	h := sc.GetHandle(ctx, opts.ID)
	if opts.TriggerImmediately {
		if _, err := h.Trigger(ctx, ScheduleTriggerOptions{}); err != nil {
			return h, fmt.Errorf("schedule %q created, but the immediate trigger failed: %w", opts.ID, err)
		}
	}
	if len(opts.ScheduleBackfill) > 0 {
		if _, err := h.Backfill(ctx, ScheduleBackfillOptions{Backfill: opts.ScheduleBackfill}); err != nil {
			return h, fmt.Errorf("schedule %q created, but the backfill failed: %w", opts.ID, err)
		}
	}
	return h, nil
}

// GetHandle returns a handle to the schedule id without contacting the
// server; a missing schedule shows up as ErrNotFound on the handle's calls.
func (sc ScheduleClient) GetHandle(_ context.Context, id string) *ScheduleHandle {
	return &ScheduleHandle{c: sc.c, id: id}
}

// SchedulePausedFilter narrows a listing by paused state.
type SchedulePausedFilter int

// The paused filters.
const (
	// ScheduleListAll lists paused and active schedules.
	ScheduleListAll SchedulePausedFilter = iota
	// ScheduleListPaused lists only paused schedules.
	ScheduleListPaused
	// ScheduleListActive lists only schedules that are not paused.
	ScheduleListActive
)

// ScheduleListOptions filters and pages a listing. Every filter given must match.
type ScheduleListOptions struct {
	// PageSize is how many entries each call fetches. Optional: defaults to
	// 100; the maximum is 1000.
	PageSize int
	// WorkflowType keeps schedules that start this workflow type. Optional.
	WorkflowType string
	// Paused keeps paused or active schedules. Optional: defaults to both.
	Paused SchedulePausedFilter
	// Tags keeps schedules carrying every one of these tags. Optional.
	Tags map[string]string
}

// List returns the namespace's schedules, fetching pages as the loop asks
// for more. A failed call is yielded as the error of the last pair.
func (sc ScheduleClient) List(ctx context.Context, opts ScheduleListOptions) iter.Seq2[*ScheduleListEntry, error] {
	return func(yield func(*ScheduleListEntry, error) bool) {
		req := &pb.ListSchedulesRequest{
			Namespace:    sc.c.Namespace(),
			PageSize:     int32(opts.PageSize),
			WorkflowType: opts.WorkflowType,
			Paused:       pb.PausedFilter(opts.Paused),
			Tags:         opts.Tags,
		}
		for {
			res, err := sc.c.schedules.ListSchedules(ctx, connect.NewRequest(req))
			if err != nil {
				yield(nil, fromScheduleConnect(err))
				return
			}
			for _, e := range res.Msg.GetSchedules() {
				if !yield(fromListEntry(e), nil) {
					return
				}
			}
			if res.Msg.GetNextPageToken() == "" {
				return
			}
			req.PageToken = res.Msg.GetNextPageToken()
		}
	}
}

// ScheduleMatchingTimesOptions asks for a preview of nominal times, of a
// stored schedule or of a spec.
type ScheduleMatchingTimesOptions struct {
	// ScheduleID previews a stored schedule. Set it or Spec.
	ScheduleID string
	// Spec previews a spec that is not stored. Set it or ScheduleID.
	Spec *schedule.Spec
	// Start is where the preview begins. Optional: defaults to now.
	Start time.Time
	// End is where the preview stops, inclusive. Optional: unbounded.
	End time.Time
	// Limit caps the number of times. Optional: defaults to 10; the maximum is 1000.
	Limit int
}

// ListMatchingTimes returns the nominal times of a stored schedule or of a
// spec, in order (what Conductor calls next-few-runs).
func (sc ScheduleClient) ListMatchingTimes(ctx context.Context, opts ScheduleMatchingTimesOptions) ([]time.Time, error) {
	req := &pb.ListScheduleMatchingTimesRequest{
		Namespace:  sc.c.Namespace(),
		ScheduleId: opts.ScheduleID,
		StartTime:  convert.Timestamp(opts.Start),
		EndTime:    convert.Timestamp(opts.End),
		Limit:      int32(opts.Limit),
	}
	if opts.Spec != nil {
		req.Spec = convert.Spec(*opts.Spec)
	}
	res, err := sc.c.schedules.ListScheduleMatchingTimes(ctx, connect.NewRequest(req))
	if err != nil {
		return nil, fromScheduleConnect(err)
	}
	out := make([]time.Time, 0, len(res.Msg.GetStartTimes()))
	for _, t := range res.Msg.GetStartTimes() {
		out = append(out, convert.FromTimestamp(t))
	}
	return out, nil
}

// ScheduleExecutionListOptions filters and pages the execution records.
type ScheduleExecutionListOptions struct {
	// ScheduleID keeps one schedule's records. Optional: defaults to every
	// schedule of the namespace.
	ScheduleID string
	// Outcomes keeps records with one of these outcomes. Optional: defaults to all.
	Outcomes []ScheduleExecutionOutcome
	// Start bounds the nominal time from below, inclusive. Optional: unbounded.
	Start time.Time
	// End bounds the nominal time from above, inclusive. Optional: unbounded.
	End time.Time
	// Ascending lists oldest first. Optional: defaults to newest first.
	Ascending bool
	// PageSize is how many records each call fetches. Optional: the server's default.
	PageSize int
}

// ListExecutions returns the execution records (every fire, skip and miss),
// fetching pages as the loop asks for more. A failed call is yielded as the
// error of the last pair.
func (sc ScheduleClient) ListExecutions(ctx context.Context, opts ScheduleExecutionListOptions) iter.Seq2[*ScheduleExecution, error] {
	return func(yield func(*ScheduleExecution, error) bool) {
		req := &pb.ListScheduleExecutionsRequest{
			Namespace:  sc.c.Namespace(),
			ScheduleId: opts.ScheduleID,
			StartTime:  convert.Timestamp(opts.Start),
			EndTime:    convert.Timestamp(opts.End),
			Ascending:  opts.Ascending,
			PageSize:   int32(opts.PageSize),
		}
		for _, o := range opts.Outcomes {
			req.Outcomes = append(req.Outcomes, pb.ExecutionOutcome(o))
		}
		for {
			res, err := sc.c.schedules.ListScheduleExecutions(ctx, connect.NewRequest(req))
			if err != nil {
				yield(nil, fromScheduleConnect(err))
				return
			}
			for _, e := range res.Msg.GetExecutions() {
				if !yield(fromExecution(e), nil) {
					return
				}
			}
			if res.Msg.GetNextPageToken() == "" {
				return
			}
			req.PageToken = res.Msg.GetNextPageToken()
		}
	}
}

// SchedulePauseAllOptions selects the schedules PauseAll and ResumeAll change.
type SchedulePauseAllOptions struct {
	// Tags keeps schedules carrying every one of these tags. Optional:
	// defaults to every schedule of the namespace.
	Tags map[string]string
	// Note is recorded on each schedule. Optional: defaults to a note saying
	// the schedule was paused or resumed in bulk.
	Note string
}

// PauseAll pauses the namespace's schedules (those with opts.Tags) and
// returns how many it paused.
func (sc ScheduleClient) PauseAll(ctx context.Context, opts SchedulePauseAllOptions) (int64, error) {
	res, err := sc.c.schedules.PauseAllSchedules(ctx, connect.NewRequest(&pb.PauseAllSchedulesRequest{
		Namespace: sc.c.Namespace(), Tags: opts.Tags, Note: opts.Note,
	}))
	if err != nil {
		return 0, fromScheduleConnect(err)
	}
	return res.Msg.GetCount(), nil
}

// ResumeAll unpauses the namespace's schedules (those with opts.Tags) and
// returns how many it resumed.
func (sc ScheduleClient) ResumeAll(ctx context.Context, opts SchedulePauseAllOptions) (int64, error) {
	res, err := sc.c.schedules.ResumeAllSchedules(ctx, connect.NewRequest(&pb.ResumeAllSchedulesRequest{
		Namespace: sc.c.Namespace(), Tags: opts.Tags, Note: opts.Note,
	}))
	if err != nil {
		return 0, fromScheduleConnect(err)
	}
	return res.Msg.GetCount(), nil
}
