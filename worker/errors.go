package worker

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// Reasons a workflow's context is cancelled; read them with context.Cause.
var (
	// ErrCancelRequested means a client called CancelWorkflow on the run.
	// A workflow that returns after it closes the run as cancelled.
	ErrCancelRequested = errors.New("workflow cancel requested")
	// ErrRunClosed means the server no longer accepts results for this
	// attempt: the run was terminated, timed out, or redelivered to another
	// worker. Whatever the workflow returns is discarded.
	ErrRunClosed = errors.New("workflow run closed on the server")
	// ErrWorkerShutdown means the worker stopped and its grace period ran
	// out. The attempt is not reported; the server redelivers the run once
	// its heartbeat timeout lapses.
	ErrWorkerShutdown = errors.New("worker shut down")
)

// Failure types the worker reports for failures it detects itself.
const (
	// FailureTypePanic is a workflow that panicked; the failure carries the
	// stack trace.
	FailureTypePanic = "PanicError"
	// FailureTypeCanceled is a workflow that returned after a cancel request.
	FailureTypeCanceled = "CanceledError"
	// FailureTypeUnknownWorkflow is a task for a type this worker does not know.
	FailureTypeUnknownWorkflow = "UnknownWorkflowTypeError"
	// FailureTypeInputDecode is input that does not decode into the
	// workflow's input type; it is never retried.
	FailureTypeInputDecode = "InputDecodeError"
	// FailureTypeResultEncode is a result that does not encode as JSON; it
	// is never retried.
	FailureTypeResultEncode = "ResultEncodeError"
	// FailureTypeTimeout is a workflow that returned because its run
	// deadline passed.
	FailureTypeTimeout = "TimeoutError"
)

// ApplicationError is a workflow error with a type, which a retry policy's
// NonRetryableErrorTypes matches, and an explicit non-retryable flag.
// Return one (possibly wrapped) from a workflow to control retries.
type ApplicationError struct {
	// Type names the kind of failure ("PaymentDeclined").
	Type string
	// Message describes the failure.
	Message string
	// NonRetryable fails the run at once, whatever the retry policy says.
	NonRetryable bool
	// Cause is the underlying error, if any.
	Cause error
}

// Error returns the message, followed by the cause's.
func (e *ApplicationError) Error() string {
	if e.Cause != nil {
		if e.Message == "" {
			return e.Cause.Error()
		}
		return e.Message + ": " + e.Cause.Error()
	}
	return e.Message
}

// Unwrap returns the cause.
func (e *ApplicationError) Unwrap() error { return e.Cause }

// NewApplicationError returns a retryable error of the given type.
func NewApplicationError(errType, message string) *ApplicationError {
	return &ApplicationError{Type: errType, Message: message}
}

// NewNonRetryableError returns an error that fails the run without retries.
func NewNonRetryableError(errType, message string) *ApplicationError {
	return &ApplicationError{Type: errType, Message: message, NonRetryable: true}
}

// PanicError is a workflow panic turned into an error; it fails the attempt
// (retryably) and carries the goroutine's stack.
type PanicError struct {
	// Value is what was passed to panic.
	Value any
	// Stack is the panicking goroutine's stack trace.
	Stack string
}

// Error returns "panic: <value>".
func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// failure is what FailTask sends.
type failure struct {
	message      string
	typ          string
	stack        string
	nonRetryable bool
}

// failureOf classifies a workflow's error. ctx is the workflow's context,
// whose cause tells a cancel and a timeout from other errors.
func failureOf(ctx context.Context, err error) failure {
	f := failure{message: err.Error()}
	var app *ApplicationError
	var p *PanicError
	switch {
	case errors.As(err, &app):
		f.typ, f.nonRetryable = app.Type, app.NonRetryable
		if f.typ == "" {
			f.typ = typeName(app.Cause)
		}
	case errors.As(err, &p):
		f.typ, f.stack = FailureTypePanic, p.Stack
	case errors.Is(context.Cause(ctx), ErrCancelRequested) && ctx.Err() != nil:
		f.typ, f.nonRetryable = FailureTypeCanceled, true
	case errors.Is(err, context.DeadlineExceeded) && errors.Is(ctx.Err(), context.DeadlineExceeded):
		f.typ = FailureTypeTimeout
	default:
		f.typ = typeName(err)
	}
	return f
}

// typeName names an error's dynamic type without its pointer star:
// "errors.errorString", "mypkg.ValidationError".
func typeName(err error) string {
	if err == nil {
		return ""
	}
	return strings.TrimLeft(reflect.TypeOf(err).String(), "*")
}
