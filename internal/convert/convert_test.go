package convert

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/sundial-dev/sundial/schedule"
)

func TestScheduleRoundTrip(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	in := schedule.Schedule{
		Spec: schedule.Spec{
			CronExpressions:   []string{"0 9 * * MON-FRI"},
			Intervals:         []schedule.Interval{{Every: time.Hour, Offset: 15 * time.Minute}},
			Calendars:         []schedule.Calendar{{Hour: []schedule.Range{{Start: 9, End: 17, Step: 2}}, Comment: "office"}},
			CalendarIntervals: []schedule.CalendarInterval{{Months: 1, TimeOfDay: "09:30", StartDate: "2026-01-31"}},
			At:                []time.Time{start.Add(time.Hour)},
			Skip:              []schedule.Calendar{{Month: []schedule.Range{{Start: 12}}}},
			StartTime:         start,
			EndTime:           start.AddDate(1, 0, 0),
			Jitter:            30 * time.Second,
			TimeZone:          "Europe/London",
		},
		Action: schedule.Action{
			WorkflowType: "report", WorkflowID: "daily", TaskQueue: "reports",
			Input:            json.RawMessage(`{"a":1}`),
			ExecutionTimeout: time.Hour, RunTimeout: time.Minute, HeartbeatTimeout: 10 * time.Second,
			RetryPolicy: &schedule.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 3, NonRetryableErrorTypes: []string{"Fatal"}},
			Memo:        map[string]json.RawMessage{"owner": json.RawMessage(`"ops"`)},
		},
		Policy: schedule.Policy{Overlap: schedule.OverlapBufferAll, CatchupWindow: time.Minute, Coalesce: true, PauseOnFailure: true},
		State:  schedule.State{Paused: true, Note: "maintenance", LimitedActions: true, RemainingActions: 4},
		Tags:   map[string]string{"team": "ops"},
	}
	p, err := Schedule(in)
	if err != nil {
		t.Fatal(err)
	}
	out := FromSchedule(p)
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip changed the schedule:\n in: %+v\nout: %+v", in, out)
	}
}

func TestActionRejectsInvalidJSON(t *testing.T) {
	t.Parallel()
	_, err := Schedule(schedule.Schedule{Action: schedule.Action{Input: json.RawMessage(`{not json`)}})
	if err == nil || err.Error()[:12] != "action.input" {
		t.Fatalf("want an error naming action.input, got %v", err)
	}
}
