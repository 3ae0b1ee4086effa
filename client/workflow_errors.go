package client

import "fmt"

// WorkflowFailedError is what WorkflowRun.Get returns for a run that closed
// without completing: failed, timed out, cancelled or terminated.
type WorkflowFailedError struct {
	// WorkflowID and RunID name the run.
	WorkflowID string
	RunID      string
	// Status is how the run closed.
	Status WorkflowStatus
	// Failure is the last failure the run recorded; nil when there is none
	// (a terminate without a reason, for instance).
	Failure *WorkflowFailure
}

// Error describes the run and its failure.
func (e *WorkflowFailedError) Error() string {
	msg := fmt.Sprintf("workflow %s (run %s) %s", e.WorkflowID, e.RunID, e.Status)
	if e.Failure != nil && e.Failure.Message != "" {
		if e.Failure.Type != "" {
			msg += ": " + e.Failure.Type
		}
		msg += ": " + e.Failure.Message
	}
	return msg
}
