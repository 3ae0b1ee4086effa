package client

import (
	"errors"
	"strings"

	"connectrpc.com/connect"
)

// Sentinel errors returned by every client call; match them with errors.Is.
// The *connect.Error a call failed with stays reachable with errors.As.
var (
	// ErrNotFound means the schedule or workflow run does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists means an id is already taken. Both
	// ErrScheduleAlreadyExists and ErrWorkflowAlreadyStarted match it.
	ErrAlreadyExists = errors.New("already exists")
	// ErrScheduleAlreadyExists means a schedule with that id exists already.
	ErrScheduleAlreadyExists = errors.New("schedule already exists")
	// ErrWorkflowAlreadyStarted means the workflow id has an open run (or the
	// id-reuse policy forbids another run).
	ErrWorkflowAlreadyStarted = errors.New("workflow already started")
	// ErrFailedPrecondition means the server's current state forbids the
	// call, such as cancelling a run that has already closed. ErrConflict
	// matches it too.
	ErrFailedPrecondition = errors.New("failed precondition")
	// ErrConflict means a schedule update carried a stale conflict token:
	// someone else changed the schedule since it was described.
	ErrConflict = errors.New("conflict token is stale")
	// ErrInvalidArgument means the request was rejected as bad input; the
	// *Error's Field names the offending field when the server did.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrUnavailable means the server or its Redis could not be reached; the
	// call may be retried.
	ErrUnavailable = errors.New("unavailable")
)

// Error is a failed call, mapped from the server's Connect error.
type Error struct {
	// Kind is the sentinel the error matches (ErrNotFound, ...), or nil for
	// codes that have none (Internal, Canceled, ...).
	Kind error
	// Field is the path of the offending field for ErrInvalidArgument
	// ("schedule.spec.intervals[0].every"), when the server named one.
	Field string
	// Message is the server's message.
	Message string
	// Cause is the Connect error the call returned.
	Cause *connect.Error
}

// Error returns the server's message, prefixed by the kind of failure
// unless the message already says it.
func (e *Error) Error() string {
	switch {
	case e.Kind != nil && !strings.Contains(e.Message, e.Kind.Error()):
		return e.Kind.Error() + ": " + e.Message
	case e.Kind == nil && e.Cause != nil:
		return e.Cause.Code().String() + ": " + e.Message
	}
	return e.Message
}

// Is makes errors.Is(err, ErrNotFound) (and the other sentinels) work.
func (e *Error) Is(target error) bool {
	switch {
	case e.Kind == nil:
		return false
	case target == e.Kind:
		return true
	case target == ErrAlreadyExists:
		return e.Kind == ErrScheduleAlreadyExists || e.Kind == ErrWorkflowAlreadyStarted
	case target == ErrFailedPrecondition:
		return e.Kind == ErrConflict
	}
	return false
}

// Unwrap returns the underlying *connect.Error.
func (e *Error) Unwrap() error {
	if e.Cause == nil {
		return nil
	}
	return e.Cause
}

// Code returns the Connect code of the failed call.
func (e *Error) Code() connect.Code {
	if e.Cause == nil {
		return connect.CodeUnknown
	}
	return e.Cause.Code()
}

// resource says which sentinels the ambiguous codes stand for.
type resource int

const (
	resourceWorkflow resource = iota
	resourceSchedule
)

// fromConnect maps an error from the workflow or worker service:
// AlreadyExists becomes ErrWorkflowAlreadyStarted and FailedPrecondition
// ErrFailedPrecondition. See mapConnect.
func fromConnect(err error) error { return mapConnect(resourceWorkflow, err) }

// fromScheduleConnect maps an error from the schedule service:
// AlreadyExists becomes ErrScheduleAlreadyExists and FailedPrecondition (a
// stale conflict token) ErrConflict. See mapConnect.
func fromScheduleConnect(err error) error { return mapConnect(resourceSchedule, err) }

// mapConnect is the one place where Connect errors become client errors. It
// returns nil for nil, leaves errors that are not Connect errors (a local
// encoding error) unchanged, and wraps Connect errors in an *Error matching
// the code's sentinel. Context errors stay matchable with errors.Is.
func mapConnect(res resource, err error) error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return err
	}
	e := &Error{Message: ce.Message(), Cause: ce}
	switch ce.Code() {
	case connect.CodeNotFound:
		e.Kind = ErrNotFound
	case connect.CodeAlreadyExists:
		e.Kind = ErrWorkflowAlreadyStarted
		if res == resourceSchedule {
			e.Kind = ErrScheduleAlreadyExists
		}
	case connect.CodeFailedPrecondition:
		e.Kind = ErrFailedPrecondition
		if res == resourceSchedule {
			e.Kind = ErrConflict
		}
	case connect.CodeInvalidArgument:
		e.Kind = ErrInvalidArgument
		e.Field = fieldPath(e.Message)
	case connect.CodeUnavailable:
		e.Kind = ErrUnavailable
	}
	return e
}

// fieldPath returns the field path that starts a server message of the
// form "schedule.spec.cron_expressions[0]: reason", or "" when the message
// does not start with one.
func fieldPath(msg string) string {
	head, _, ok := strings.Cut(msg, ": ")
	if !ok || head == "" || strings.ContainsAny(head, " \t\"") {
		return ""
	}
	return head
}
