package client

import (
	"context"
	"errors"
	"strings"
	"testing"

	"connectrpc.com/connect"
)

func TestFromConnect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		res     resource
		err     error
		want    error
		field   string
		message string
	}{
		{name: "NotFound", res: resourceSchedule, err: connect.NewError(connect.CodeNotFound, errors.New(`schedule "a": not found`)), want: ErrNotFound, message: `schedule "a": not found`},
		{name: "ScheduleExists", res: resourceSchedule, err: connect.NewError(connect.CodeAlreadyExists, errors.New("dup")), want: ErrScheduleAlreadyExists, message: "schedule already exists: dup"},
		{name: "WorkflowStarted", res: resourceWorkflow, err: connect.NewError(connect.CodeAlreadyExists, errors.New("dup")), want: ErrWorkflowAlreadyStarted, message: "workflow already started: dup"},
		{name: "StaleToken", res: resourceSchedule, err: connect.NewError(connect.CodeFailedPrecondition, errors.New("stale")), want: ErrConflict, message: "conflict token is stale: stale"},
		{name: "WorkflowPrecondition", err: connect.NewError(connect.CodeFailedPrecondition, errors.New("closed")), want: ErrFailedPrecondition, message: "failed precondition: closed"},
		{
			name:    "InvalidWithField",
			err:     connect.NewError(connect.CodeInvalidArgument, errors.New("schedule.spec.intervals[0].every: must be at least 1s")),
			want:    ErrInvalidArgument,
			field:   "schedule.spec.intervals[0].every",
			message: "invalid argument: schedule.spec.intervals[0].every: must be at least 1s",
		},
		{name: "InvalidNoField", err: connect.NewError(connect.CodeInvalidArgument, errors.New("bad request body")), want: ErrInvalidArgument, message: "invalid argument: bad request body"},
		{name: "Unavailable", err: connect.NewError(connect.CodeUnavailable, errors.New("down")), want: ErrUnavailable, message: "unavailable: down"},
		{name: "Internal", err: connect.NewError(connect.CodeInternal, errors.New("boom")), message: "internal: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := mapConnect(tt.res, tt.err)
			if tt.want != nil && !errors.Is(got, tt.want) {
				t.Fatalf("errors.Is(%v, %v) = false", got, tt.want)
			}
			also := map[error]error{ErrScheduleAlreadyExists: ErrAlreadyExists, ErrWorkflowAlreadyStarted: ErrAlreadyExists, ErrConflict: ErrFailedPrecondition}
			for _, s := range []error{ErrNotFound, ErrAlreadyExists, ErrScheduleAlreadyExists, ErrWorkflowAlreadyStarted, ErrFailedPrecondition, ErrConflict, ErrInvalidArgument, ErrUnavailable} {
				if s != tt.want && s != also[tt.want] && errors.Is(got, s) {
					t.Errorf("error also matches %v", s)
				}
			}
			var ce *connect.Error
			if !errors.As(got, &ce) || ce.Code() != connect.CodeOf(tt.err) {
				t.Errorf("*connect.Error not reachable through %v", got)
			}
			if a := also[tt.want]; a != nil && !errors.Is(got, a) {
				t.Errorf("errors.Is(%v, %v) = false", got, a)
			}
			var e *Error
			if !errors.As(got, &e) {
				t.Fatalf("not an *Error: %T", got)
			}
			if e.Field != tt.field {
				t.Errorf("Field = %q, want %q", e.Field, tt.field)
			}
			if got.Error() != tt.message {
				t.Errorf("Error() = %q, want %q", got.Error(), tt.message)
			}
		})
	}
	t.Run("PassesThrough", func(t *testing.T) {
		t.Parallel()
		if fromScheduleConnect(nil) != nil || fromConnect(nil) != nil {
			t.Error("nil became non-nil")
		}
		if got := fromScheduleConnect(context.Canceled); got != context.Canceled {
			t.Errorf("got %v, want context.Canceled unchanged", got)
		}
	})
}

func FuzzFieldPath(f *testing.F) {
	for _, s := range []string{"schedule.spec.intervals[0].every: too short", "no field here", `schedule "a": not found`, ": x", "a:b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		p := fieldPath(msg)
		if p == "" {
			return
		}
		if !strings.HasPrefix(msg, p+": ") || strings.ContainsAny(p, " \t\"") {
			t.Fatalf("fieldPath(%q) = %q: not a space-free prefix followed by \": \"", msg, p)
		}
	})
}
