package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"time"

	"connectrpc.com/connect"
	"github.com/oklog/ulid/v2"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/sundial-dev/sundial/internal/backoff"
	"github.com/sundial-dev/sundial/internal/convert"
	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/schedule"
)

// StartWorkflowOptions configures ExecuteWorkflow.
type StartWorkflowOptions struct {
	// ID is the workflow id; at most one run per id is open at a time.
	// Optional: defaults to a new ULID.
	ID string
	// TaskQueue is the queue whose workers run the workflow. Required.
	TaskQueue string
	// StartDelay holds the first attempt back this long. Optional: defaults
	// to 0 (deliver at once). Cannot be combined with CronSchedule.
	StartDelay time.Duration
	// CronSchedule makes this a cron workflow: each run starts at the next
	// matching time after the previous one closes. Optional.
	CronSchedule string
	// RunTimeout caps one run, retries included. Optional: defaults to no limit.
	RunTimeout time.Duration
	// ExecutionTimeout caps the whole workflow id, cron chain included.
	// Optional: defaults to no limit.
	ExecutionTimeout time.Duration
	// HeartbeatTimeout is how long a worker may go silent before the attempt
	// is redelivered; workers heartbeat at a third of it. Optional: defaults
	// to 30 s (set by the server).
	HeartbeatTimeout time.Duration
	// RetryPolicy retries failed attempts. Optional: defaults to no retries.
	RetryPolicy *schedule.RetryPolicy
	// Memo is free data attached to the run; each value is encoded as JSON.
	// Optional.
	Memo map[string]any
	// IDReusePolicy says whether a closed workflow id may be started again.
	// Optional: defaults to IDReusePolicyAllowDuplicate.
	IDReusePolicy IDReusePolicy
}

// WorkflowRun is a handle on one run of a workflow id.
type WorkflowRun interface {
	// GetID returns the workflow id.
	GetID() string
	// GetRunID returns the run id; empty for a handle on "the latest run".
	GetRunID() string
	// Get waits until the run closes. For a completed run it decodes the JSON
	// result into valuePtr (which may be nil to ignore it) and returns nil;
	// for any other outcome it returns a *WorkflowFailedError. It waits
	// until ctx ends, retrying when the server is briefly unavailable.
	Get(ctx context.Context, valuePtr any) error
}

// workflowRun is the WorkflowRun the client hands out.
type workflowRun struct {
	c     *Client
	id    string
	runID string
}

func (r *workflowRun) GetID() string    { return r.id }
func (r *workflowRun) GetRunID() string { return r.runID }

// resultWait is how long one GetWorkflowResult call waits on the server.
const resultWait = 30 * time.Second

func (r *workflowRun) Get(ctx context.Context, valuePtr any) error {
	retry := backoff.New(50*time.Millisecond /* initial */, 2*time.Second /* max */)
	for {
		res, err := r.c.workflows.GetWorkflowResult(ctx, connect.NewRequest(&pb.GetWorkflowResultRequest{
			Namespace:  r.c.opts.Namespace,
			WorkflowId: r.id,
			RunId:      r.runID,
			Wait:       durationpb.New(resultWait),
		}))
		if err != nil {
			err = fromConnect(err)
			if !errors.Is(err, ErrUnavailable) {
				return err
			}
			if !backoff.Sleep(ctx, retry.Next()) {
				return ctx.Err()
			}
			continue
		}
		retry.Reset()
		if !res.Msg.GetClosed() {
			if err := ctx.Err(); err != nil {
				return err
			}
			continue
		}
		run := fromRun(res.Msg.GetRun())
		if run == nil {
			return errors.New("server said the run closed but sent no run")
		}
		if run.Status != WorkflowStatusCompleted {
			return &WorkflowFailedError{WorkflowID: run.WorkflowID, RunID: run.RunID, Status: run.Status, Failure: run.Failure}
		}
		if valuePtr == nil || len(run.Result) == 0 {
			return nil
		}
		if err := json.Unmarshal(run.Result, valuePtr); err != nil {
			return fmt.Errorf("decode result of workflow %s (run %s): %w", run.WorkflowID, run.RunID, err)
		}
		return nil
	}
}

// encodeJSON encodes v; json.RawMessage and []byte holding JSON pass as is,
// and nil means no value.
func encodeJSON(v any) (json.RawMessage, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		return x, nil
	}
	return json.Marshal(v)
}

// ExecuteWorkflow starts a run of workflowType with input (encoded as JSON)
// and returns a handle on it. A workflow id with an open run fails with an
// error matching ErrWorkflowAlreadyStarted; bad options fail with one
// matching ErrInvalidArgument that names the field. While the server is
// unavailable the start is retried, with the same idempotency key, for up
// to 10 s, so a start whose response was lost is not doubled.
func (c *Client) ExecuteWorkflow(ctx context.Context, opts StartWorkflowOptions, workflowType string, input any) (WorkflowRun, error) {
	in, err := encodeJSON(input)
	if err != nil {
		return nil, fmt.Errorf("encode input of %s: %w", workflowType, err)
	}
	inValue, err := convert.JSONValue(in)
	if err != nil {
		return nil, fmt.Errorf("input: %w", err)
	}
	var memo map[string]json.RawMessage
	if len(opts.Memo) > 0 {
		memo = make(map[string]json.RawMessage, len(opts.Memo))
		for k, v := range opts.Memo {
			b, err := encodeJSON(v)
			if err != nil {
				return nil, fmt.Errorf("encode memo[%q]: %w", k, err)
			}
			if b == nil {
				b = json.RawMessage("null")
			}
			memo[k] = b
		}
	}
	memoValues, err := convert.Memo(memo)
	if err != nil {
		return nil, err
	}
	id := opts.ID
	if id == "" {
		id = ulid.Make().String()
	}
	req := &pb.StartWorkflowRequest{
		Namespace:        c.opts.Namespace,
		WorkflowId:       id,
		WorkflowType:     workflowType,
		TaskQueue:        opts.TaskQueue,
		Input:            inValue,
		StartDelay:       convert.Duration(opts.StartDelay),
		CronSchedule:     opts.CronSchedule,
		RunTimeout:       convert.Duration(opts.RunTimeout),
		ExecutionTimeout: convert.Duration(opts.ExecutionTimeout),
		HeartbeatTimeout: convert.Duration(opts.HeartbeatTimeout),
		RetryPolicy:      convert.RetryPolicy(opts.RetryPolicy),
		Memo:             memoValues,
		IdReusePolicy:    pb.IdReusePolicy(opts.IDReusePolicy),
		// The same request id on every retry below makes the server return
		// the run a lost response had started instead of a duplicate error.
		RequestId: ulid.Make().String(),
		Identity:  c.opts.Identity,
	}
	giveUp := time.Now().Add(startRetryFor)
	retry := backoff.New(50*time.Millisecond /* initial */, time.Second /* max */)
	for {
		runID, err := c.starts.start(ctx, req)
		if err == nil {
			return &workflowRun{c: c, id: id, runID: runID}, nil
		}
		err = fromConnect(err)
		d := retry.Next()
		if !errors.Is(err, ErrUnavailable) || time.Now().Add(d).After(giveUp) {
			return nil, err
		}
		if !backoff.Sleep(ctx, d) {
			return nil, err
		}
	}
}

// startRetryFor is how long ExecuteWorkflow retries a start while the server
// is unavailable.
const startRetryFor = 10 * time.Second

// GetWorkflow returns a handle on a run without calling the server. An empty
// runID means the workflow id's latest run.
func (c *Client) GetWorkflow(workflowID, runID string) WorkflowRun {
	return &workflowRun{c: c, id: workflowID, runID: runID}
}

// DescribeWorkflow returns a run; an empty runID means the latest run. A
// missing run fails with an error matching ErrNotFound.
func (c *Client) DescribeWorkflow(ctx context.Context, workflowID, runID string) (*WorkflowDescription, error) {
	res, err := c.workflows.DescribeWorkflow(ctx, connect.NewRequest(&pb.DescribeWorkflowRequest{
		Namespace: c.opts.Namespace, WorkflowId: workflowID, RunId: runID,
	}))
	if err != nil {
		return nil, fromConnect(err)
	}
	return fromRun(res.Msg.GetRun()), nil
}

// CancelWorkflow asks an open run to stop. Cancellation is cooperative: the
// worker's context for the run is cancelled and the run closes when the
// workflow returns. An empty runID means the latest run.
func (c *Client) CancelWorkflow(ctx context.Context, workflowID, runID, reason string) error {
	_, err := c.workflows.CancelWorkflow(ctx, connect.NewRequest(&pb.CancelWorkflowRequest{
		Namespace: c.opts.Namespace, WorkflowId: workflowID, RunId: runID, Reason: reason,
	}))
	return fromConnect(err)
}

// TerminateWorkflow closes an open run at once; the worker's late result is
// rejected. It also ends a cron workflow's chain. An empty runID means the
// latest run.
func (c *Client) TerminateWorkflow(ctx context.Context, workflowID, runID, reason string) error {
	_, err := c.workflows.TerminateWorkflow(ctx, connect.NewRequest(&pb.TerminateWorkflowRequest{
		Namespace: c.opts.Namespace, WorkflowId: workflowID, RunId: runID, Reason: reason,
	}))
	return fromConnect(err)
}

// ListWorkflowsOptions filters ListWorkflows. Every filter is optional and
// they combine with AND.
type ListWorkflowsOptions struct {
	// Status keeps runs with this status. Optional: defaults to any.
	Status WorkflowStatus
	// WorkflowType keeps runs of this type. Optional.
	WorkflowType string
	// TaskQueue keeps runs on this queue. Optional.
	TaskQueue string
	// ScheduleID keeps runs this schedule started. Optional.
	ScheduleID string
	// PageSize is how many runs one call fetches. Optional: defaults to the
	// server's page size.
	PageSize int
}

// ListWorkflows returns the runs matching opts, newest first, fetching pages
// as the loop asks for them. An error ends the sequence.
func (c *Client) ListWorkflows(ctx context.Context, opts ListWorkflowsOptions) iter.Seq2[*WorkflowDescription, error] {
	return func(yield func(*WorkflowDescription, error) bool) {
		token := ""
		for {
			res, err := c.workflows.ListWorkflows(ctx, connect.NewRequest(&pb.ListWorkflowsRequest{
				Namespace:    c.opts.Namespace,
				Status:       pb.WorkflowStatus(opts.Status),
				WorkflowType: opts.WorkflowType,
				TaskQueue:    opts.TaskQueue,
				ScheduleId:   opts.ScheduleID,
				PageSize:     int32(opts.PageSize),
				PageToken:    token,
			}))
			if err != nil {
				yield(nil, fromConnect(err))
				return
			}
			for _, r := range res.Msg.GetRuns() {
				if !yield(fromRun(r), nil) {
					return
				}
			}
			token = res.Msg.GetNextPageToken()
			if token == "" {
				return
			}
		}
	}
}
