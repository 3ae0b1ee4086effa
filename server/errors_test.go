package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"

	"connectrpc.com/connect"
	"github.com/redis/go-redis/v9"

	"github.com/sundial-dev/sundial/internal/errs"
	"github.com/sundial-dev/sundial/internal/runs"
	"github.com/sundial-dev/sundial/schedule"
)

func TestToConnect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want connect.Code
	}{
		{"field error", errs.Field("schedule.spec.jitter", "must not be negative"), connect.CodeInvalidArgument},
		{"spec error", &schedule.Error{Path: "cron_expressions[0]", Reason: "bad"}, connect.CodeInvalidArgument},
		{"not found", errs.NotFound("schedule %q", "x"), connect.CodeNotFound},
		{"run not found", fmt.Errorf("describe: %w", runs.ErrNotFound), connect.CodeNotFound},
		{"duplicate", errs.AlreadyExists("schedule %q", "x"), connect.CodeAlreadyExists},
		{"open run", runs.ErrAlreadyStarted, connect.CodeAlreadyExists},
		{"stale token", errs.Conflict("token"), connect.CodeFailedPrecondition},
		{"closed run", runs.ErrAlreadyClosed, connect.CodeFailedPrecondition},
		{"canceled", context.Canceled, connect.CodeCanceled},
		{"redis EOF", fmt.Errorf("start: %w", io.EOF), connect.CodeUnavailable},
		{"redis refused", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), connect.CodeUnavailable},
		{"redis loading", errors.New("LOADING Redis is loading the dataset in memory"), connect.CodeUnavailable},
		{"redis closed", redis.ErrClosed, connect.CodeUnavailable},
		{"anything else", errors.New("boom"), connect.CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := toConnect(tt.err)
			if connect.CodeOf(got) != tt.want {
				t.Fatalf("toConnect(%v) = %v, want %v", tt.err, connect.CodeOf(got), tt.want)
			}
			if !errors.Is(got, tt.err) {
				t.Fatalf("toConnect hides the domain error: errors.Is(%v, %v) is false", got, tt.err)
			}
		})
	}
	if toConnect(nil) != nil {
		t.Fatal("toConnect(nil) != nil")
	}
}
