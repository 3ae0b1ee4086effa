// Package schedule holds Sundial's schedule model and its calendar engine:
// the Go types for specs, policies and actions, and the code that turns a
// spec into nominal fire times. It is pure: no I/O, no goroutines.
package schedule

import (
	"encoding/json"
	"time"
)

// Spec says when a schedule fires: the union of every part, minus Skip,
// bounded by StartTime and EndTime. Field names in JSON are the proto's
// (snake_case); durations in JSON are Go duration strings ("1h30m").
type Spec struct {
	// CronExpressions in the 5-field (crontab), 6-field (Spring) or 7-field
	// (Quartz) dialects, or a macro. Optional.
	CronExpressions []string `json:"cron_expressions,omitempty"`
	// Intervals fire every Every, aligned to the Unix epoch, plus Offset. Optional.
	Intervals []Interval `json:"intervals,omitempty"`
	// Calendars are structured cron-like matchers. Optional.
	Calendars []Calendar `json:"calendars,omitempty"`
	// CalendarIntervals fire every N years/months/weeks/days at a local time. Optional.
	CalendarIntervals []CalendarInterval `json:"calendar_intervals,omitempty"`
	// At lists one-shot instants. Optional.
	At []time.Time `json:"at,omitempty"`
	// Skip removes the nominal times that any of these calendars match. Optional.
	Skip []Calendar `json:"skip,omitempty"`
	// StartTime bounds nominal times from below, inclusive. Optional: unbounded.
	StartTime time.Time `json:"start_time,omitzero"`
	// EndTime bounds nominal times from above, inclusive. Optional: unbounded.
	EndTime time.Time `json:"end_time,omitzero"`
	// Jitter delays each action by a deterministic amount in [0, Jitter).
	// Optional: defaults to 0.
	Jitter time.Duration `json:"jitter,omitempty"`
	// TimeZone is an IANA zone name. Optional: defaults to UTC.
	TimeZone string `json:"time_zone,omitempty"`
}

// Interval fires every Every, aligned to the Unix epoch, shifted by Offset.
type Interval struct {
	// Every is the period; at least one second.
	Every time.Duration `json:"every"`
	// Offset shifts the fire times; smaller than Every. Optional: defaults to 0.
	Offset time.Duration `json:"offset,omitempty"`
}

// Range is an inclusive range of values with a step. End 0 means End = Start;
// Step 0 means 1.
type Range struct {
	Start int `json:"start"`
	End   int `json:"end,omitempty"`
	Step  int `json:"step,omitempty"`
}

// Calendar matches calendar fields, as Temporal's structured calendar spec.
// An empty Second, Minute or Hour means 0; an empty DayOfMonth, Month, Year or
// DayOfWeek means every value. DayOfWeek is 0-6 with 0 = Sunday (7 is Sunday too).
type Calendar struct {
	Second     []Range `json:"second,omitempty"`
	Minute     []Range `json:"minute,omitempty"`
	Hour       []Range `json:"hour,omitempty"`
	DayOfMonth []Range `json:"day_of_month,omitempty"`
	Month      []Range `json:"month,omitempty"`
	Year       []Range `json:"year,omitempty"`
	DayOfWeek  []Range `json:"day_of_week,omitempty"`
	// Comment is free text shown to humans. Optional.
	Comment string `json:"comment,omitempty"`
}

// CalendarInterval fires every Years/Months/Weeks/Days (exactly one of them
// non-zero, or several summed as a calendar period) at TimeOfDay, counted from
// StartDate, in the spec's time zone. A date that does not exist (31
// February) is skipped, not moved.
type CalendarInterval struct {
	Years  int `json:"years,omitempty"`
	Months int `json:"months,omitempty"`
	Weeks  int `json:"weeks,omitempty"`
	Days   int `json:"days,omitempty"`
	// TimeOfDay is "HH:MM" or "HH:MM:SS". Optional: defaults to 00:00:00.
	TimeOfDay string `json:"time_of_day,omitempty"`
	// StartDate is "YYYY-MM-DD". Optional: defaults to the date of the spec's
	// StartTime, or 1970-01-01.
	StartDate string `json:"start_date,omitempty"`
}

// OverlapPolicy says what happens when a fire is due while an earlier run of
// the schedule is still open. The meanings are Temporal's.
type OverlapPolicy int

// The overlap policies. OverlapUnspecified means "the schedule's policy" on
// trigger and backfill, and Skip on a schedule.
const (
	OverlapUnspecified OverlapPolicy = iota
	OverlapSkip
	OverlapBufferOne
	OverlapBufferAll
	OverlapCancelOther
	OverlapTerminateOther
	OverlapAllowAll
)

var overlapNames = [...]string{"UNSPECIFIED", "SKIP", "BUFFER_ONE", "BUFFER_ALL", "CANCEL_OTHER", "TERMINATE_OTHER", "ALLOW_ALL"}

// String returns the policy's name, as in the proto without its prefix.
func (p OverlapPolicy) String() string {
	if p < 0 || int(p) >= len(overlapNames) {
		return "OverlapPolicy(" + itoa(int(p)) + ")"
	}
	return overlapNames[p]
}

// Valid reports whether p is one of the defined policies.
func (p OverlapPolicy) Valid() bool { return p >= OverlapUnspecified && p <= OverlapAllowAll }

// ParseOverlapPolicy reads a policy name ("SKIP", "buffer_one", ...).
func ParseOverlapPolicy(s string) (OverlapPolicy, error) {
	for i, n := range overlapNames {
		if equalFold(s, n) || equalFold(s, "OVERLAP_POLICY_"+n) {
			return OverlapPolicy(i), nil
		}
	}
	return 0, &Error{Path: "overlap", Reason: "unknown overlap policy " + quote(s) + " (use SKIP, BUFFER_ONE, BUFFER_ALL, CANCEL_OTHER, TERMINATE_OTHER or ALLOW_ALL)"}
}

// MarshalJSON writes the policy's name.
func (p OverlapPolicy) MarshalJSON() ([]byte, error) { return json.Marshal(p.String()) }

// UnmarshalJSON reads a policy name.
func (p *OverlapPolicy) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := ParseOverlapPolicy(s)
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// DefaultCatchupWindow is the catchup window of a policy that sets none.
const DefaultCatchupWindow = 365 * 24 * time.Hour

// MinCatchupWindow is the smallest catchup window accepted.
const MinCatchupWindow = 10 * time.Second

// Policy holds what happens when a schedule fires.
type Policy struct {
	// Overlap applies when a previous run is still open. Optional: defaults to SKIP.
	Overlap OverlapPolicy `json:"overlap,omitempty"`
	// CatchupWindow bounds how far back missed fires are caught up.
	// Optional: defaults to one year; the minimum is 10 s.
	CatchupWindow time.Duration `json:"catchup_window,omitempty"`
	// Coalesce runs only the latest missed fire after downtime. Optional: defaults to false.
	Coalesce bool `json:"coalesce,omitempty"`
	// PauseOnFailure pauses the schedule when a run it started fails or times
	// out. Optional: defaults to false.
	PauseOnFailure bool `json:"pause_on_failure,omitempty"`
}

// State is the mutable state of a schedule.
type State struct {
	// Paused stops scheduled fires. Optional: defaults to false.
	Paused bool `json:"paused,omitempty"`
	// Note says why the schedule was paused or unpaused. Optional.
	Note string `json:"note,omitempty"`
	// LimitedActions makes RemainingActions count down. Optional: defaults to false.
	LimitedActions bool `json:"limited_actions,omitempty"`
	// RemainingActions is how many scheduled actions remain when LimitedActions.
	RemainingActions int64 `json:"remaining_actions,omitempty"`
}

// Exhausted reports whether the schedule limits its actions and has none
// left: it fires no more until RemainingActions is raised.
func (s State) Exhausted() bool { return s.LimitedActions && s.RemainingActions <= 0 }

// RetryPolicy says how a failed attempt is retried, as Temporal's.
type RetryPolicy struct {
	// InitialInterval is the first backoff. Optional: defaults to 1 s.
	InitialInterval time.Duration `json:"initial_interval,omitempty"`
	// BackoffCoefficient multiplies the backoff each attempt. Optional: defaults to 2.0.
	BackoffCoefficient float64 `json:"backoff_coefficient,omitempty"`
	// MaximumInterval caps the backoff. Optional: defaults to 100 × InitialInterval.
	MaximumInterval time.Duration `json:"maximum_interval,omitempty"`
	// MaximumAttempts caps the attempts; 0 means unlimited, 1 no retries.
	// Optional: defaults to 0.
	MaximumAttempts int `json:"maximum_attempts,omitempty"`
	// NonRetryableErrorTypes fail the run at once. Optional.
	NonRetryableErrorTypes []string `json:"non_retryable_error_types,omitempty"`
}

// Action is what a schedule does when it fires: start a workflow.
type Action struct {
	// WorkflowType names the registered workflow. Required.
	WorkflowType string `json:"workflow_type"`
	// WorkflowID is the base id; each run gets "<WorkflowID>-<nominal RFC 3339>".
	// Optional: defaults to the schedule id.
	WorkflowID string `json:"workflow_id,omitempty"`
	// TaskQueue is where workers poll for the run. Required.
	TaskQueue string `json:"task_queue"`
	// Input is the workflow's JSON input. Optional.
	Input json.RawMessage `json:"input,omitempty"`
	// ExecutionTimeout bounds the whole run with retries. Optional: unbounded.
	ExecutionTimeout time.Duration `json:"execution_timeout,omitempty"`
	// RunTimeout bounds one attempt. Optional: unbounded.
	RunTimeout time.Duration `json:"run_timeout,omitempty"`
	// HeartbeatTimeout is how long a worker may go silent before the attempt
	// is redelivered. Optional: defaults to 30 s.
	HeartbeatTimeout time.Duration `json:"heartbeat_timeout,omitempty"`
	// RetryPolicy retries failed attempts. Optional: no retries.
	RetryPolicy *RetryPolicy `json:"retry_policy,omitempty"`
	// Memo is free JSON data attached to each run. Optional.
	Memo map[string]json.RawMessage `json:"memo,omitempty"`
}

// Schedule is a schedule's definition, as created and updated.
type Schedule struct {
	Spec   Spec              `json:"spec"`
	Action Action            `json:"action"`
	Policy Policy            `json:"policy"`
	State  State             `json:"state"`
	Tags   map[string]string `json:"tags,omitempty"`
}
