package server

// A private stand-in for the calendar engine (schedule.Compile and friends),
// which is being written in schedule/ right now. It supports intervals,
// "@every" and explicit instants, and follows the engine's signatures so
// that switching to it is a matter of deleting this file's bodies.

import (
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/sundial-dev/sundial/schedule"
)

// compiledSpec is what the scheduler needs from a compiled spec.
type compiledSpec interface {
	Next(after time.Time) (time.Time, bool)
	Jittered(scheduleID string, nominal time.Time) time.Time
}

type adapterSpec struct {
	intervals  []schedule.Interval
	at         []time.Time
	start, end time.Time
	jitter     time.Duration
}

func compileSpec(s schedule.Spec) (compiledSpec, error) {
	c := &adapterSpec{start: s.StartTime, end: s.EndTime, jitter: s.Jitter}
	if s.TimeZone != "" {
		if _, err := time.LoadLocation(s.TimeZone); err != nil {
			return nil, &schedule.Error{Path: "time_zone", Reason: fmt.Sprintf("unknown time zone %q", s.TimeZone)}
		}
	}
	for i, expr := range s.CronExpressions {
		rest, ok := strings.CutPrefix(strings.TrimSpace(expr), "@every ")
		d, err := time.ParseDuration(strings.TrimSpace(rest))
		if !ok || err != nil {
			return nil, &schedule.Error{Path: fmt.Sprintf("cron_expressions[%d]", i), Reason: fmt.Sprintf("cannot parse %q", expr)}
		}
		if d < time.Second {
			return nil, &schedule.Error{Path: fmt.Sprintf("cron_expressions[%d]", i), Reason: "interval must be at least 1s"}
		}
		c.intervals = append(c.intervals, schedule.Interval{Every: d})
	}
	for i, iv := range s.Intervals {
		p := fmt.Sprintf("intervals[%d]", i)
		if iv.Every < time.Second {
			return nil, &schedule.Error{Path: p + ".every", Reason: "must be at least 1s"}
		}
		if iv.Offset < 0 || iv.Offset >= iv.Every {
			return nil, &schedule.Error{Path: p + ".offset", Reason: "must be in [0, every)"}
		}
		c.intervals = append(c.intervals, iv)
	}
	if len(s.Calendars) > 0 || len(s.CalendarIntervals) > 0 {
		return nil, &schedule.Error{Path: "calendars", Reason: "not supported yet"}
	}
	c.at = s.At
	if s.Jitter < 0 {
		return nil, &schedule.Error{Path: "jitter", Reason: "must not be negative"}
	}
	if !s.StartTime.IsZero() && !s.EndTime.IsZero() && s.EndTime.Before(s.StartTime) {
		return nil, &schedule.Error{Path: "end_time", Reason: "is before start_time"}
	}
	if len(c.intervals) == 0 && len(c.at) == 0 {
		return nil, &schedule.Error{Reason: "the spec has no cron expression, interval, calendar or instant, so it never fires"}
	}
	return c, nil
}

func (c *adapterSpec) Next(after time.Time) (time.Time, bool) {
	after = after.Truncate(time.Second)
	if !c.start.IsZero() && after.Before(c.start) {
		after = c.start.Add(-time.Second)
	}
	var best time.Time
	for _, iv := range c.intervals {
		every, off := int64(iv.Every/time.Second), int64(iv.Offset/time.Second)
		a := after.Unix()
		k := (a - off) / every
		t := k*every + off
		for t <= a {
			t += every
		}
		cand := time.Unix(t, 0).UTC()
		if best.IsZero() || cand.Before(best) {
			best = cand
		}
	}
	for _, t := range c.at {
		t = t.Truncate(time.Second)
		if t.After(after) && (best.IsZero() || t.Before(best)) {
			best = t.UTC()
		}
	}
	if best.IsZero() || (!c.end.IsZero() && best.After(c.end)) {
		return time.Time{}, false
	}
	return best, true
}

func (c *adapterSpec) Jittered(id string, nominal time.Time) time.Time {
	if c.jitter <= 0 {
		return nominal
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	_, _ = h.Write([]byte(nominal.UTC().Format(time.RFC3339)))
	d := time.Duration(h.Sum64() % uint64(c.jitter))
	t := nominal.Add(d)
	if n, ok := c.Next(nominal); ok && !t.Before(n) {
		return n.Add(-time.Millisecond)
	}
	return t
}

func specSummary(s schedule.Spec) string {
	var parts []string
	parts = append(parts, s.CronExpressions...)
	for _, iv := range s.Intervals {
		p := "every " + iv.Every.String()
		if iv.Offset > 0 {
			p += " offset " + iv.Offset.String()
		}
		parts = append(parts, p)
	}
	if len(s.At) > 0 {
		parts = append(parts, fmt.Sprintf("%d instants", len(s.At)))
	}
	return strings.Join(parts, "; ")
}

func validatePolicy(p schedule.Policy) error {
	if !p.Overlap.Valid() {
		return &schedule.Error{Path: "overlap", Reason: fmt.Sprintf("unknown overlap policy %d (use SKIP, BUFFER_ONE, BUFFER_ALL, CANCEL_OTHER, TERMINATE_OTHER or ALLOW_ALL)", int(p.Overlap))}
	}
	if p.CatchupWindow != 0 && p.CatchupWindow < schedule.MinCatchupWindow {
		return &schedule.Error{Path: "catchup_window", Reason: fmt.Sprintf("%s is below the minimum of %s", p.CatchupWindow, schedule.MinCatchupWindow)}
	}
	return nil
}

func policyDefaults(p schedule.Policy) schedule.Policy {
	if p.Overlap == schedule.OverlapUnspecified {
		p.Overlap = schedule.OverlapSkip
	}
	if p.CatchupWindow == 0 {
		p.CatchupWindow = schedule.DefaultCatchupWindow
	}
	return p
}

func validateAction(a schedule.Action) error {
	if a.WorkflowType == "" {
		return &schedule.Error{Path: "workflow_type", Reason: "is required"}
	}
	if a.TaskQueue == "" {
		return &schedule.Error{Path: "task_queue", Reason: "is required"}
	}
	return nil
}
