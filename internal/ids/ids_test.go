package ids

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/sundial-dev/sundial/internal/errs"
)

func TestValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		err   error
		field string // "" means valid
	}{
		{"schedule id ok", ScheduleID("schedule_id", "daily-report"), ""},
		{"workflow id with nominal time", WorkflowID("workflow_id", "daily-2026-03-01T09:00:00Z"), ""},
		{"empty schedule id", ScheduleID("schedule_id", ""), "schedule_id"},
		{"long schedule id", ScheduleID("schedule_id", strings.Repeat("a", MaxScheduleID+1)), "schedule_id"},
		{"space in id", ScheduleID("schedule_id", "a b"), "schedule_id"},
		{"leading dash", WorkflowID("workflow_id", "-x"), "workflow_id"},
		{"queue with colon", TaskQueue("task_queue", "a:b"), "task_queue"},
		{"queue ok", TaskQueue("task_queue", "reports.eu-1"), ""},
		{"empty type", TypeName("workflow_type", ""), "workflow_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.field == "" {
				if tt.err != nil {
					t.Fatalf("want valid, got %v", tt.err)
				}
				return
			}
			var fe *errs.FieldError
			if !errors.As(tt.err, &fe) || fe.Field != tt.field || !errors.Is(tt.err, errs.ErrInvalidArgument) {
				t.Fatalf("want a FieldError for %q, got %v", tt.field, tt.err)
			}
		})
	}
	if ns, err := Namespace(""); err != nil || ns != DefaultNamespace {
		t.Fatalf("empty namespace: got %q, %v", ns, err)
	}
	if _, err := Namespace("bad ns"); err == nil {
		t.Fatal("namespace with a space accepted")
	}
}

// FuzzCharsets: the byte tables accept exactly what the patterns in the
// error messages describe.
func FuzzCharsets(f *testing.F) {
	patterns := map[*charset]*regexp.Regexp{
		namespaceChars: regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`),
		idChars:        regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:@+=-]*$`),
	}
	for _, s := range []string{"", "a", "-a", "daily-2026-03-01T09:00:00Z", "a b", "é", "a\x00", "Z9._:@+=-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for c, re := range patterns {
			if got, want := c.valid(s), re.MatchString(s); got != want {
				t.Fatalf("valid(%q) = %v, pattern %s says %v", s, got, re, want)
			}
		}
	})
}
