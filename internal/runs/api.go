// Package runs is the boundary between the schedule service and the run
// model: the scheduler starts runs through Starter and learns that a run it
// started has closed through a ClosedHandler. The run store in
// internal/runstore implements it; the scheduler depends only on this file.
package runs

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/sundial-dev/sundial/schedule"
)

// Status is a run's status.
type Status int

// The run statuses, in the proto's order.
const (
	StatusUnspecified Status = iota
	StatusScheduled          // delayed start, not yet deliverable
	StatusPending            // deliverable, waiting for a worker
	StatusRunning            // leased to a worker
	StatusCompleted
	StatusFailed
	StatusCanceled
	StatusTerminated
	StatusTimedOut
)

var statusNames = [...]string{"UNSPECIFIED", "SCHEDULED", "PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELED", "TERMINATED", "TIMED_OUT"}

// String returns the status's name as in the proto, without its prefix.
func (s Status) String() string {
	if s < 0 || int(s) >= len(statusNames) {
		return "UNKNOWN"
	}
	return statusNames[s]
}

// Closed reports whether the status is final.
func (s Status) Closed() bool { return s >= StatusCompleted }

// Trigger says why a schedule started a run.
type Trigger int

// The triggers, in the proto's order.
const (
	TriggerUnspecified Trigger = iota
	TriggerScheduled
	TriggerManual
	TriggerBackfill
)

// Origin says what started a run.
type Origin struct {
	// ScheduleID is set when a schedule started the run.
	ScheduleID string
	// NominalTime is the schedule's nominal fire time.
	NominalTime time.Time
	// Trigger says why the schedule fired.
	Trigger Trigger
	// ClientIdentity is set when a client started the run.
	ClientIdentity string
	// PreviousRunID is set for the next run of a cron-workflow chain.
	PreviousRunID string
}

// RunRef names one run of a workflow id.
type RunRef struct {
	WorkflowID string
	RunID      string
}

// StartRequest asks for a run.
type StartRequest struct {
	Namespace    string
	WorkflowID   string
	WorkflowType string
	TaskQueue    string
	// Input is JSON; nil means null.
	Input            json.RawMessage
	StartDelay       time.Duration
	CronSchedule     string
	RunTimeout       time.Duration
	ExecutionTimeout time.Duration
	HeartbeatTimeout time.Duration
	RetryPolicy      *schedule.RetryPolicy
	Memo             map[string]json.RawMessage
	// IfNotExists makes Start idempotent on the workflow id: when any run
	// with this id exists (open or closed), Start returns it with Existing
	// set instead of starting another. The scheduler always sets it; its
	// workflow ids are deterministic, so this is the final guard against a
	// doubled fire.
	IfNotExists bool
	Origin      Origin
	// IDReusePolicy says whether a closed (or, for TerminateIfRunning, an
	// open) run's id may be started again. Optional: defaults to
	// IDReuseAllowDuplicate.
	IDReusePolicy IDReusePolicy
	// RequestID makes a retried start idempotent: a second Start with the
	// same workflow id and request id returns the first one's run (Existing
	// set) for 24 hours. Optional.
	RequestID string
	// PreparedRunID names a run that Preparer.Prepare wrote for this same
	// request: Start then only makes it visible, which is most of the
	// start's work done ahead of time. A prepared run that is gone (it
	// expired) makes Start start the run in full. Optional.
	PreparedRunID string
}

// Preparable reports whether Preparer.Prepare can write req's run ahead
// of its start: an immediate, idempotent start (IfNotExists) without a
// request id or cron schedule, as the scheduler's fires are.
func (r *StartRequest) Preparable() bool {
	return r.IfNotExists && r.RequestID == "" && r.StartDelay == 0 && r.CronSchedule == ""
}

// Preparer is a Starter that can do most of a start's work ahead of it.
// A prepared run is invisible: no workflow id, index, queue or timer names
// it until Start is called with its id in StartRequest.PreparedRunID, and
// it expires on its own if that never happens.
type Preparer interface {
	// Prepare writes the runs of reqs (validated, Preparable ones) and
	// returns their run ids, in order. On an error none is usable.
	Prepare(ctx context.Context, reqs []StartRequest) ([]string, error)
	// Discard deletes the prepared runs (PreparedRunID) of requests that
	// will not be started. It never deletes a run that was started.
	Discard(ctx context.Context, reqs []StartRequest) error
}

// IDReusePolicy says whether a workflow id may be started again, with the
// proto's values.
type IDReusePolicy int

// The id-reuse policies, in the proto's order.
const (
	IDReuseUnspecified IDReusePolicy = iota
	// IDReuseAllowDuplicate allows a new run once the previous one closed.
	IDReuseAllowDuplicate
	// IDReuseAllowDuplicateFailedOnly allows a new run only if the previous
	// one did not complete successfully.
	IDReuseAllowDuplicateFailedOnly
	// IDReuseRejectDuplicate never reuses the id.
	IDReuseRejectDuplicate
	// IDReuseTerminateIfRunning terminates an open run and starts a new one.
	IDReuseTerminateIfRunning
)

// StartResult says which run a Start produced or found.
type StartResult struct {
	RunID string
	// Existing is true when IfNotExists found a run and started none.
	Existing bool
}

// ErrAlreadyStarted is returned by Start when the id has an open run and the
// request does not allow that.
var ErrAlreadyStarted = errors.New("workflow already started")

// ErrAlreadyClosed is returned by Cancel and Terminate for a run that has
// already closed (it also matches errs.ErrFailedPrecondition). A caller
// that only wants the run gone can treat it as success.
var ErrAlreadyClosed = errors.New("workflow run already closed")

// ErrNotFound is returned for a workflow id or run id that does not exist.
var ErrNotFound = errors.New("workflow run not found")

// Starter is what the scheduler needs from the run model.
type Starter interface {
	// Start starts a run (see StartRequest.IfNotExists).
	Start(ctx context.Context, req StartRequest) (StartResult, error)
	// Statuses returns the status of each run in refs, in order, in one
	// round trip; a run that does not exist is StatusUnspecified.
	Statuses(ctx context.Context, namespace string, refs []RunRef) ([]Status, error)
	// Cancel requests a cooperative cancel of an open run; ErrAlreadyClosed
	// for a closed one.
	Cancel(ctx context.Context, namespace, workflowID, runID, reason string) error
	// Terminate closes an open run at once; ErrAlreadyClosed for a closed one.
	Terminate(ctx context.Context, namespace, workflowID, runID, reason string) error
}

// Closed tells the scheduler that a run a schedule started has closed.
type Closed struct {
	Namespace   string
	WorkflowID  string
	RunID       string
	ScheduleID  string
	NominalTime time.Time
	Status      Status
	CloseTime   time.Time
	// FailureMessage is set for FAILED and TIMED_OUT runs.
	FailureMessage string
}

// ClosedHandler receives Closed events at least once each, in close order
// per schedule as far as possible; it must be idempotent. An error makes the
// event be delivered again later.
type ClosedHandler func(ctx context.Context, ev Closed) error
