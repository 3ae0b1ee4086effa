package client

import (
	"encoding/json"
	"time"

	"github.com/sundial-dev/sundial/internal/convert"
	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/schedule"
)

// WorkflowStatus is a run's status.
type WorkflowStatus int

// The run statuses.
const (
	// WorkflowStatusUnspecified is the zero value; as a filter it means any status.
	WorkflowStatusUnspecified WorkflowStatus = iota
	// WorkflowStatusScheduled is a delayed start whose first attempt is not yet due.
	WorkflowStatusScheduled
	// WorkflowStatusPending is a run waiting for a worker.
	WorkflowStatusPending
	// WorkflowStatusRunning is a run leased to a worker.
	WorkflowStatusRunning
	// WorkflowStatusCompleted is a run that returned a result.
	WorkflowStatusCompleted
	// WorkflowStatusFailed is a run whose last attempt failed.
	WorkflowStatusFailed
	// WorkflowStatusCanceled is a run that stopped after a cancel request.
	WorkflowStatusCanceled
	// WorkflowStatusTerminated is a run that was terminated.
	WorkflowStatusTerminated
	// WorkflowStatusTimedOut is a run that passed its run or execution timeout.
	WorkflowStatusTimedOut
)

var workflowStatusNames = [...]string{"UNSPECIFIED", "SCHEDULED", "PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELED", "TERMINATED", "TIMED_OUT"}

// String returns the status's name as in the proto, without its prefix.
func (s WorkflowStatus) String() string {
	if s < 0 || int(s) >= len(workflowStatusNames) {
		return "UNKNOWN"
	}
	return workflowStatusNames[s]
}

// Closed reports whether the status is final.
func (s WorkflowStatus) Closed() bool { return s >= WorkflowStatusCompleted }

// IDReusePolicy says whether a workflow id may be started again.
type IDReusePolicy int

// The id-reuse policies.
const (
	// IDReusePolicyUnspecified lets the server choose: AllowDuplicate.
	IDReusePolicyUnspecified IDReusePolicy = iota
	// IDReusePolicyAllowDuplicate allows a new run once the previous one closed.
	IDReusePolicyAllowDuplicate
	// IDReusePolicyAllowDuplicateFailedOnly allows a new run only if the
	// previous one did not complete successfully.
	IDReusePolicyAllowDuplicateFailedOnly
	// IDReusePolicyRejectDuplicate never reuses the id.
	IDReusePolicyRejectDuplicate
	// IDReusePolicyTerminateIfRunning terminates an open run and starts a new one.
	IDReusePolicyTerminateIfRunning
)

// WorkflowFailure says why an attempt or a run failed.
type WorkflowFailure struct {
	// Message is the error's text.
	Message string
	// Type is the error's type, as matched by a retry policy's
	// NonRetryableErrorTypes.
	Type string
	// StackTrace is set for panics.
	StackTrace string
	// NonRetryable is true when the worker marked the error as final.
	NonRetryable bool
}

// WorkflowAttempt records one attempt of a run.
type WorkflowAttempt struct {
	// Attempt counts from 1.
	Attempt   int
	StartTime time.Time
	// EndTime is zero for the attempt in progress.
	EndTime time.Time
	// Failure is nil for a successful or running attempt.
	Failure *WorkflowFailure
	// WorkerIdentity names the worker that ran the attempt.
	WorkerIdentity string
}

// WorkflowOrigin says what started a run.
type WorkflowOrigin struct {
	// ScheduleID is set when a schedule started the run.
	ScheduleID string
	// NominalTime is the schedule's nominal fire time.
	NominalTime time.Time
	// Trigger is why the schedule fired: "SCHEDULED", "MANUAL" or
	// "BACKFILL"; empty when no schedule started the run.
	Trigger string
	// ClientIdentity is set when a client started the run.
	ClientIdentity string
	// PreviousRunID is set for the next run of a cron-workflow chain.
	PreviousRunID string
}

// WorkflowDescription is one run of a workflow id, as DescribeWorkflow and
// ListWorkflows return it.
type WorkflowDescription struct {
	Namespace    string
	WorkflowID   string
	RunID        string
	WorkflowType string
	TaskQueue    string
	// Input is the run's JSON input; nil when there was none.
	Input   json.RawMessage
	Status  WorkflowStatus
	Attempt int
	// Result is the JSON result of a completed run.
	Result json.RawMessage
	// Failure is set for a run that closed without completing.
	Failure    *WorkflowFailure
	CreateTime time.Time
	StartTime  time.Time
	CloseTime  time.Time
	// ScheduledTime is when the first attempt may be delivered.
	ScheduledTime    time.Time
	Origin           WorkflowOrigin
	Attempts         []WorkflowAttempt
	CronSchedule     string
	RetryPolicy      *schedule.RetryPolicy
	RunTimeout       time.Duration
	ExecutionTimeout time.Duration
	HeartbeatTimeout time.Duration
	Memo             map[string]json.RawMessage
	// CancelRequested is true once CancelWorkflow was called on the run.
	CancelRequested bool
}

var triggerNames = map[pb.ExecutionTrigger]string{
	pb.ExecutionTrigger_EXECUTION_TRIGGER_SCHEDULED: "SCHEDULED",
	pb.ExecutionTrigger_EXECUTION_TRIGGER_MANUAL:    "MANUAL",
	pb.ExecutionTrigger_EXECUTION_TRIGGER_BACKFILL:  "BACKFILL",
}

func fromFailure(f *pb.WorkflowFailure) *WorkflowFailure {
	if f == nil {
		return nil
	}
	return &WorkflowFailure{Message: f.GetMessage(), Type: f.GetType(), StackTrace: f.GetStackTrace(), NonRetryable: f.GetNonRetryable()}
}

func fromRun(r *pb.WorkflowRun) *WorkflowDescription {
	if r == nil {
		return nil
	}
	d := &WorkflowDescription{
		Namespace:        r.GetNamespace(),
		WorkflowID:       r.GetWorkflowId(),
		RunID:            r.GetRunId(),
		WorkflowType:     r.GetWorkflowType(),
		TaskQueue:        r.GetTaskQueue(),
		Input:            convert.FromJSONValue(r.GetInput()),
		Status:           WorkflowStatus(r.GetStatus()),
		Attempt:          int(r.GetAttempt()),
		Result:           convert.FromJSONValue(r.GetResult()),
		Failure:          fromFailure(r.GetFailure()),
		CreateTime:       convert.FromTimestamp(r.GetCreateTime()),
		StartTime:        convert.FromTimestamp(r.GetStartTime()),
		CloseTime:        convert.FromTimestamp(r.GetCloseTime()),
		ScheduledTime:    convert.FromTimestamp(r.GetScheduledTime()),
		CronSchedule:     r.GetCronSchedule(),
		RetryPolicy:      convert.FromRetryPolicy(r.GetRetryPolicy()),
		RunTimeout:       convert.FromDuration(r.GetRunTimeout()),
		ExecutionTimeout: convert.FromDuration(r.GetExecutionTimeout()),
		HeartbeatTimeout: convert.FromDuration(r.GetHeartbeatTimeout()),
		Memo:             convert.FromMemo(r.GetMemo()),
		CancelRequested:  r.GetCancelRequested(),
	}
	if o := r.GetOrigin(); o != nil {
		d.Origin = WorkflowOrigin{
			ScheduleID:     o.GetScheduleId(),
			NominalTime:    convert.FromTimestamp(o.GetNominalTime()),
			Trigger:        triggerNames[o.GetTrigger()],
			ClientIdentity: o.GetClientIdentity(),
			PreviousRunID:  o.GetPreviousRunId(),
		}
	}
	for _, a := range r.GetAttempts() {
		d.Attempts = append(d.Attempts, WorkflowAttempt{
			Attempt:        int(a.GetAttempt()),
			StartTime:      convert.FromTimestamp(a.GetStartTime()),
			EndTime:        convert.FromTimestamp(a.GetEndTime()),
			Failure:        fromFailure(a.GetFailure()),
			WorkerIdentity: a.GetWorkerIdentity(),
		})
	}
	return d
}
