// Package errs holds the domain errors every layer returns. The server maps
// them to Connect codes in one place (server/errors.go).
package errs

import (
	"errors"
	"fmt"
)

// Sentinel errors; match them with errors.Is.
var (
	// ErrInvalidArgument is bad input; a *FieldError names the field.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrNotFound is a missing schedule, run or namespace object.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists is a duplicate id.
	ErrAlreadyExists = errors.New("already exists")
	// ErrConflict is a stale conflict token.
	ErrConflict = errors.New("conflict token is stale")
	// ErrFailedPrecondition is a request that the current state forbids,
	// such as completing an attempt that is no longer current.
	ErrFailedPrecondition = errors.New("failed precondition")
)

// FieldError is bad input in one field, named by its path in the proto's
// snake_case names ("schedule.spec.intervals[0].every").
type FieldError struct {
	Field  string
	Reason string
}

// Error returns "field: reason".
func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Is makes errors.Is(err, ErrInvalidArgument) true.
func (e *FieldError) Is(target error) bool { return target == ErrInvalidArgument }

// Field returns a *FieldError with a formatted reason.
func Field(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// NotFound returns an error matching ErrNotFound with a message naming what.
func NotFound(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrNotFound)
}

// AlreadyExists returns an error matching ErrAlreadyExists.
func AlreadyExists(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrAlreadyExists)
}

// Conflict returns an error matching ErrConflict.
func Conflict(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrConflict)
}

// FailedPrecondition returns an error matching ErrFailedPrecondition.
func FailedPrecondition(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrFailedPrecondition)
}
