package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"syscall"

	"connectrpc.com/connect"
	"github.com/redis/go-redis/v9"

	"github.com/sundial-dev/sundial/internal/errs"
	"github.com/sundial-dev/sundial/internal/runs"
	"github.com/sundial-dev/sundial/schedule"
)

// toConnect maps a domain error to a Connect error. It is the one place where
// Sundial's errors become wire codes; handlers return its result unchanged.
func toConnect(err error) error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return err
	}
	var code connect.Code
	switch {
	case errors.Is(err, schedule.ErrInvalidSpec), errors.Is(err, errs.ErrInvalidArgument):
		code = connect.CodeInvalidArgument
	case errors.Is(err, errs.ErrNotFound), errors.Is(err, runs.ErrNotFound):
		code = connect.CodeNotFound
	case errors.Is(err, errs.ErrAlreadyExists), errors.Is(err, runs.ErrAlreadyStarted):
		code = connect.CodeAlreadyExists
	case errors.Is(err, errs.ErrConflict), errors.Is(err, errs.ErrFailedPrecondition), errors.Is(err, runs.ErrAlreadyClosed):
		code = connect.CodeFailedPrecondition
	case errors.Is(err, context.Canceled):
		code = connect.CodeCanceled
	case errors.Is(err, context.DeadlineExceeded):
		code = connect.CodeDeadlineExceeded
	case isRedisUnavailable(err):
		code = connect.CodeUnavailable
	default:
		code = connect.CodeInternal
	}
	return connect.NewError(code, err)
}

// isRedisUnavailable reports whether err means Redis could not be reached,
// which a client should retry.
func isRedisUnavailable(err error) bool {
	if errors.Is(err, redis.ErrClosed) || errors.Is(err, redis.ErrPoolTimeout) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	if strings.HasPrefix(err.Error(), "LOADING") || strings.HasPrefix(err.Error(), "READONLY") || strings.HasPrefix(err.Error(), "TRYAGAIN") ||
		strings.HasPrefix(err.Error(), "CLUSTERDOWN") || strings.HasPrefix(err.Error(), "MASTERDOWN") {
		return true
	}
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne)
}

// errorLogger is a Connect interceptor that logs Internal and Unavailable
// errors, which mean a bug or an outage rather than bad input.
func errorLogger(log *slog.Logger) connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			res, err := next(ctx, req)
			if err != nil {
				if c := connect.CodeOf(err); c == connect.CodeInternal || c == connect.CodeUnavailable || c == connect.CodeUnknown {
					log.ErrorContext(ctx, "request failed", "procedure", req.Spec().Procedure, "code", c.String(), "err", err)
				}
			}
			return res, err
		}
	}
}
