// Package ids validates the names that appear in Redis keys and on the
// wire: namespaces, schedule ids, workflow ids and task queues. Every service
// checks them here, so the rules and the messages are the same everywhere.
package ids

import (
	"github.com/sundial-dev/sundial/internal/errs"
)

// DefaultNamespace is the namespace of a request that names none.
const DefaultNamespace = "default"

// Limits on lengths, in bytes.
const (
	MaxNamespace  = 64
	MaxScheduleID = 200
	MaxWorkflowID = 255
	MaxTaskQueue  = 200
	MaxTypeName   = 255
)

// The bytes each kind of name may hold after its first, which must be a
// letter or a digit. Ids may hold ':' and '+' so that "<base>-<RFC 3339>"
// workflow ids are valid. (A table lookup per byte: names are checked on
// every start, poll and report, where a regexp cost a few percent.)
var (
	namespaceChars = newCharset("._-")
	idChars        = newCharset("._:@+=-")
	taskQueueChars = namespaceChars
)

// charset is a set of ASCII bytes.
type charset [256]bool

// newCharset returns the letters and digits plus extra.
func newCharset(extra string) *charset {
	var c charset
	for b := range 256 {
		c[b] = isAlnum(byte(b))
	}
	for i := range len(extra) {
		c[extra[i]] = true
	}
	return &c
}

func isAlnum(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
}

// valid reports whether s is non-empty, starts with a letter or digit and
// holds only bytes of the set.
func (c *charset) valid(s string) bool {
	if s == "" || !isAlnum(s[0]) {
		return false
	}
	for i := range len(s) {
		if !c[s[i]] {
			return false
		}
	}
	return true
}

// Namespace returns the namespace to use ("default" for empty) or an
// InvalidArgument error for field "namespace".
func Namespace(ns string) (string, error) {
	if ns == "" {
		return DefaultNamespace, nil
	}
	if len(ns) > MaxNamespace || !namespaceChars.valid(ns) {
		return "", errs.Field("namespace", "%q is not a valid namespace (1-%d letters, digits, '.', '_' or '-', starting with a letter or digit)", ns, MaxNamespace)
	}
	return ns, nil
}

// ScheduleID checks a schedule id, reported as field.
func ScheduleID(field, id string) error {
	return check(field, id, "schedule id", MaxScheduleID, idChars, "letters, digits and . _ : @ + = -")
}

// WorkflowID checks a workflow id, reported as field.
func WorkflowID(field, id string) error {
	return check(field, id, "workflow id", MaxWorkflowID, idChars, "letters, digits and . _ : @ + = -")
}

// TaskQueue checks a task queue name, reported as field.
func TaskQueue(field, q string) error {
	return check(field, q, "task queue", MaxTaskQueue, taskQueueChars, "letters, digits and . _ -")
}

// TypeName checks a workflow type name, reported as field.
func TypeName(field, name string) error {
	if name == "" {
		return errs.Field(field, "is required (name the workflow type a worker registered)")
	}
	if len(name) > MaxTypeName {
		return errs.Field(field, "is %d bytes long; the limit is %d", len(name), MaxTypeName)
	}
	return nil
}

func check(field, v, what string, max int, chars *charset, allowed string) error {
	switch {
	case v == "":
		return errs.Field(field, "is required (a %s of 1-%d %s)", what, max, allowed)
	case len(v) > max:
		return errs.Field(field, "is %d bytes long; a %s may have at most %d", len(v), what, max)
	case !chars.valid(v):
		return errs.Field(field, "%q is not a valid %s (use %s, starting with a letter or digit)", v, what, allowed)
	}
	return nil
}
