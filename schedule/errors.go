package schedule

import (
	"errors"
	"strconv"
	"strings"
)

// ErrInvalidSpec is matched (with errors.Is) by every *Error, so callers can
// tell bad input from other failures without a type switch.
var ErrInvalidSpec = errors.New("invalid schedule")

// Error is a validation error that names the offending field by its path in
// the proto's snake_case names ("spec.cron_expressions[1]") and says why.
type Error struct {
	// Path is the field path, e.g. "cron_expressions[1]: day-of-week".
	Path string
	// Reason says what is wrong and, where it can, how to fix it.
	Reason string
}

// Error returns "path: reason".
func (e *Error) Error() string {
	if e.Path == "" {
		return e.Reason
	}
	return e.Path + ": " + e.Reason
}

// Is makes errors.Is(err, ErrInvalidSpec) true.
func (e *Error) Is(target error) bool { return target == ErrInvalidSpec }

// WithPrefix returns a copy of e whose path starts with prefix
// ("spec" + "cron_expressions[1]" = "spec.cron_expressions[1]").
func (e *Error) WithPrefix(prefix string) *Error {
	if prefix == "" {
		return e
	}
	p := prefix
	if e.Path != "" {
		p += "." + e.Path
	}
	return &Error{Path: p, Reason: e.Reason}
}

func itoa(i int) string          { return strconv.Itoa(i) }
func quote(s string) string      { return strconv.Quote(s) }
func equalFold(a, b string) bool { return strings.EqualFold(a, b) }
