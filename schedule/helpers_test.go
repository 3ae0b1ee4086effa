package schedule

import (
	"errors"
	"testing"
	"time"
)

// mustTime parses an RFC 3339 time.
func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("bad time %q: %v", s, err)
	}
	return v
}

// nextTimes compiles s and returns up to n successive Next times after
// after, formatted RFC 3339 in the spec's zone (so offsets show the DST
// side), plus whether the sequence ended early.
func nextTimes(t *testing.T, s Spec, after string, n int) []string {
	t.Helper()
	c, err := Compile(s)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	a := mustTime(t, after)
	var out []string
	for range n {
		next, ok := c.Next(a)
		if !ok {
			out = append(out, "none")
			break
		}
		if !next.After(a) {
			t.Fatalf("Next(%v) = %v, not after", a, next)
		}
		out = append(out, next.In(c.Location()).Format(time.RFC3339))
		a = next
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// specCase is one row of a Next table.
type specCase struct {
	name  string
	spec  Spec
	after string
	want  []string // "none" marks the end of the sequence
}

func runSpecCases(t *testing.T, cases []specCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := nextTimes(t, tc.spec, tc.after, len(tc.want))
			if !equalStrings(got, tc.want) {
				t.Errorf("Next sequence after %s\n got  %q\n want %q", tc.after, got, tc.want)
			}
		})
	}
}

func cron(tz string, exprs ...string) Spec { return Spec{CronExpressions: exprs, TimeZone: tz} }

// asError checks that err is a *Error matching ErrInvalidSpec.
func asError(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *Error", err, err)
	}
	if !errors.Is(err, ErrInvalidSpec) {
		t.Fatalf("error %v does not match ErrInvalidSpec", err)
	}
	return e
}
