package server

import (
	"errors"
	"fmt"
	"time"

	"github.com/sundial-dev/sundial/internal/convert"
	"github.com/sundial-dev/sundial/internal/errs"
	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/internal/ids"
	"github.com/sundial-dev/sundial/schedule"
)

// Limits checked at the edge.
const (
	// maxBackfillTimes bounds the nominal times one BackfillSchedule takes
	// from all its ranges together; split larger backfills.
	maxBackfillTimes = 10000
	// maxBackfillRanges bounds the ranges of one BackfillSchedule.
	maxBackfillRanges = 100
	maxNote           = 1000
	maxTags           = 64
	maxTagKey         = 128
	maxTagValue       = 256
	maxPageSize       = 1000
	defaultPageSize   = 100
	// manualSuffixRoom is kept free in a base workflow id for the
	// "-<RFC 3339>-manual-<n>" suffix.
	manualSuffixRoom = 40
)

// specError turns a calendar-engine error into one naming the full path.
func specError(prefix string, err error) error {
	var se *schedule.Error
	if errors.As(err, &se) {
		return se.WithPrefix(prefix)
	}
	return errs.Field(prefix, "%v", err)
}

// checkSpec validates and compiles a spec given at field path prefix.
func checkSpec(prefix string, p *pb.ScheduleSpec) (schedule.Spec, compiledSpec, error) {
	if p == nil {
		return schedule.Spec{}, nil, errs.Field(prefix, "is required (give cron_expressions, intervals, calendars, calendar_intervals or at)")
	}
	for i, iv := range p.GetIntervals() {
		if iv.GetEvery() == nil {
			return schedule.Spec{}, nil, errs.Field(fmt.Sprintf("%s.intervals[%d].every", prefix, i), "is required")
		}
	}
	if j := p.GetJitter(); j != nil && j.AsDuration() < 0 {
		return schedule.Spec{}, nil, errs.Field(prefix+".jitter", "is %s; it must not be negative", j.AsDuration())
	}
	spec := convert.FromSpec(p)
	c, err := compileSpec(spec)
	if err != nil {
		return spec, nil, specError(prefix, err)
	}
	return spec, c, nil
}

// checkSchedule validates a whole schedule given at field "schedule".
func checkSchedule(p *pb.Schedule) (schedule.Schedule, compiledSpec, error) {
	if p == nil {
		return schedule.Schedule{}, nil, errs.Field("schedule", "is required")
	}
	spec, c, err := checkSpec("schedule.spec", p.GetSpec())
	if err != nil {
		return schedule.Schedule{}, nil, err
	}
	s := convert.FromSchedule(p)
	s.Spec = spec
	if p.GetAction() == nil {
		return s, nil, errs.Field("schedule.action", "is required (name the workflow type and task queue to start)")
	}
	if err := ids.TypeName("schedule.action.workflow_type", s.Action.WorkflowType); err != nil {
		return s, nil, err
	}
	if err := ids.TaskQueue("schedule.action.task_queue", s.Action.TaskQueue); err != nil {
		return s, nil, err
	}
	if w := s.Action.WorkflowID; w != "" {
		if err := ids.WorkflowID("schedule.action.workflow_id", w); err != nil {
			return s, nil, err
		}
		if len(w) > ids.MaxWorkflowID-manualSuffixRoom {
			return s, nil, errs.Field("schedule.action.workflow_id", "is %d bytes long; a base workflow id may have at most %d (room is kept for the time suffix)", len(w), ids.MaxWorkflowID-manualSuffixRoom)
		}
	}
	if err := schedule.ValidateAction(s.Action); err != nil {
		return s, nil, specError("schedule.action", err)
	}
	if err := schedule.ValidatePolicy(s.Policy); err != nil {
		return s, nil, specError("schedule.policy", err)
	}
	if err := checkState("schedule.state", s.State); err != nil {
		return s, nil, err
	}
	if err := checkTags("schedule.tags", s.Tags); err != nil {
		return s, nil, err
	}
	return s, c, nil
}

func checkState(prefix string, st schedule.State) error {
	if len(st.Note) > maxNote {
		return errs.Field(prefix+".note", "is %d bytes long; the limit is %d", len(st.Note), maxNote)
	}
	if st.RemainingActions < 0 {
		return errs.Field(prefix+".remaining_actions", "is %d; it must not be negative", st.RemainingActions)
	}
	return nil
}

func checkNote(field, note string) error {
	if len(note) > maxNote {
		return errs.Field(field, "is %d bytes long; the limit is %d", len(note), maxNote)
	}
	return nil
}

func checkTags(prefix string, tags map[string]string) error {
	if len(tags) > maxTags {
		return errs.Field(prefix, "has %d tags; the limit is %d", len(tags), maxTags)
	}
	for k, v := range tags {
		if k == "" || len(k) > maxTagKey {
			return errs.Field(fmt.Sprintf("%s[%q]", prefix, k), "a tag key must be 1-%d bytes", maxTagKey)
		}
		if len(v) > maxTagValue {
			return errs.Field(fmt.Sprintf("%s[%q]", prefix, k), "a tag value may have at most %d bytes", maxTagValue)
		}
	}
	return nil
}

// pageSize checks a page size field: 0 means the default.
func pageSize(field string, n int32) (int, error) {
	switch {
	case n == 0:
		return defaultPageSize, nil
	case n < 0 || n > maxPageSize:
		return 0, errs.Field(field, "is %d; it must be in 0-%d (0 means %d)", n, maxPageSize, defaultPageSize)
	}
	return int(n), nil
}

// checkOverlap checks an overlap policy field.
func checkOverlap(field string, p pb.OverlapPolicy) (schedule.OverlapPolicy, error) {
	o := convert.FromOverlap(p)
	if !o.Valid() {
		return 0, errs.Field(field, "unknown overlap policy %d (use SKIP, BUFFER_ONE, BUFFER_ALL, CANCEL_OTHER, TERMINATE_OTHER or ALLOW_ALL)", int32(p))
	}
	return o, nil
}

// backfillTimes returns the nominal times of each range, checking the
// ranges and the documented limit.
func backfillTimes(spec compiledSpec, rs []*pb.BackfillRange) ([][]time.Time, []schedule.OverlapPolicy, error) {
	if len(rs) == 0 {
		return nil, nil, errs.Field("ranges", "is empty; give at least one [start_time, end_time] range")
	}
	if len(rs) > maxBackfillRanges {
		return nil, nil, errs.Field("ranges", "has %d ranges; the limit is %d", len(rs), maxBackfillRanges)
	}
	out := make([][]time.Time, len(rs))
	pols := make([]schedule.OverlapPolicy, len(rs))
	total := 0
	for i, r := range rs {
		f := fmt.Sprintf("ranges[%d]", i)
		if r.GetStartTime() == nil {
			return nil, nil, errs.Field(f+".start_time", "is required")
		}
		if r.GetEndTime() == nil {
			return nil, nil, errs.Field(f+".end_time", "is required")
		}
		start, end := convert.FromTimestamp(r.GetStartTime()), convert.FromTimestamp(r.GetEndTime())
		if end.Before(start) {
			return nil, nil, errs.Field(f+".end_time", "%s is before start_time %s", end.Format(time.RFC3339), start.Format(time.RFC3339))
		}
		o, err := checkOverlap(f+".overlap", r.GetOverlap())
		if err != nil {
			return nil, nil, err
		}
		pols[i] = o
		for t, ok := spec.Next(start.Add(-time.Nanosecond)); ok && !t.After(end); t, ok = spec.Next(t) {
			if total++; total > maxBackfillTimes {
				return nil, nil, errs.Field(f, "the ranges hold more than %d nominal times; split the backfill into several requests", maxBackfillTimes)
			}
			out[i] = append(out[i], t)
		}
	}
	return out, pols, nil
}
