package schedule

import (
	"encoding/json"
	"math"
	"regexp"
	"time"
)

// WithDefaults returns p with its defaults filled in: Overlap Unspecified
// becomes Skip, CatchupWindow 0 becomes DefaultCatchupWindow.
func (p Policy) WithDefaults() Policy {
	if p.Overlap == OverlapUnspecified {
		p.Overlap = OverlapSkip
	}
	if p.CatchupWindow == 0 {
		p.CatchupWindow = DefaultCatchupWindow
	}
	return p
}

// ValidatePolicy checks p; the zero values of its fields mean their defaults.
// Errors are *Error with paths "overlap" and "catchup_window".
func ValidatePolicy(p Policy) error {
	if !p.Overlap.Valid() {
		return &Error{Path: "overlap", Reason: "unknown overlap policy " + p.Overlap.String() + " (use SKIP, BUFFER_ONE, BUFFER_ALL, CANCEL_OTHER, TERMINATE_OTHER or ALLOW_ALL)"}
	}
	if p.CatchupWindow != 0 && p.CatchupWindow < MinCatchupWindow {
		return &Error{Path: "catchup_window", Reason: "must be at least " + MinCatchupWindow.String() + " (or 0 for the default of one year), got " + p.CatchupWindow.String()}
	}
	return nil
}

// Limits on an action's fields.
const (
	maxWorkflowTypeLen = 255
	maxWorkflowIDLen   = 200
)

var taskQueueRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$`)

// ValidateAction checks a schedule's action. Errors are *Error with paths
// such as "workflow_type", "task_queue", "input" and
// "retry_policy.maximum_interval".
func ValidateAction(a Action) error {
	switch {
	case a.WorkflowType == "":
		return &Error{Path: "workflow_type", Reason: "required (name the registered workflow)"}
	case len(a.WorkflowType) > maxWorkflowTypeLen:
		return &Error{Path: "workflow_type", Reason: "longer than " + itoa(maxWorkflowTypeLen) + " bytes"}
	case a.TaskQueue == "":
		return &Error{Path: "task_queue", Reason: "required (name the queue your workers poll)"}
	case !taskQueueRE.MatchString(a.TaskQueue):
		return &Error{Path: "task_queue", Reason: "invalid task queue " + quote(a.TaskQueue) + " (use 1-200 letters, digits, '.', '_' or '-', starting with a letter or digit)"}
	case len(a.WorkflowID) > maxWorkflowIDLen:
		return &Error{Path: "workflow_id", Reason: "longer than " + itoa(maxWorkflowIDLen) + " bytes"}
	case len(a.Input) > 0 && !json.Valid(a.Input):
		return &Error{Path: "input", Reason: "not valid JSON"}
	case a.ExecutionTimeout < 0:
		return &Error{Path: "execution_timeout", Reason: "must not be negative"}
	case a.RunTimeout < 0:
		return &Error{Path: "run_timeout", Reason: "must not be negative"}
	case a.HeartbeatTimeout < 0:
		return &Error{Path: "heartbeat_timeout", Reason: "must not be negative"}
	}
	for k, v := range a.Memo {
		if !json.Valid(v) {
			return &Error{Path: "memo[" + quote(k) + "]", Reason: "not valid JSON"}
		}
	}
	if err := ValidateRetryPolicy(a.RetryPolicy); err != nil {
		return err.(*Error).WithPrefix("retry_policy")
	}
	return nil
}

// ValidateRetryPolicy checks a retry policy; nil is valid (no retries).
// Errors are *Error with paths relative to the policy ("maximum_interval").
func ValidateRetryPolicy(p *RetryPolicy) error {
	if p == nil {
		return nil
	}
	initial := p.InitialInterval
	if initial == 0 {
		initial = time.Second // the default
	}
	switch {
	case p.InitialInterval < 0:
		return &Error{Path: "initial_interval", Reason: "must not be negative"}
	case p.MaximumInterval < 0:
		return &Error{Path: "maximum_interval", Reason: "must not be negative"}
	case p.MaximumInterval != 0 && p.MaximumInterval < initial:
		return &Error{Path: "maximum_interval", Reason: "must be at least initial_interval (" + initial.String() + ")"}
	case math.IsNaN(p.BackoffCoefficient) || math.IsInf(p.BackoffCoefficient, 0) || (p.BackoffCoefficient != 0 && p.BackoffCoefficient < 1):
		return &Error{Path: "backoff_coefficient", Reason: "must be at least 1 (or 0 for the default of 2)"}
	case p.MaximumAttempts < 0:
		return &Error{Path: "maximum_attempts", Reason: "must not be negative (0 means unlimited)"}
	}
	return nil
}
