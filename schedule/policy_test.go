package schedule

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func TestPolicy(t *testing.T) {
	t.Parallel()
	if got := (Policy{}).WithDefaults(); got.Overlap != OverlapSkip || got.CatchupWindow != DefaultCatchupWindow {
		t.Errorf("WithDefaults() = %+v", got)
	}
	if got := (Policy{Overlap: OverlapAllowAll, CatchupWindow: time.Minute}).WithDefaults(); got.Overlap != OverlapAllowAll || got.CatchupWindow != time.Minute {
		t.Errorf("WithDefaults() overrode set fields: %+v", got)
	}
	for _, tc := range []struct {
		name string
		p    Policy
		path string // "" = valid
	}{
		{"zero", Policy{}, ""},
		{"minimum window", Policy{CatchupWindow: 10 * time.Second}, ""},
		{"window too small", Policy{CatchupWindow: 9 * time.Second}, "catchup_window"},
		{"negative window", Policy{CatchupWindow: -time.Hour}, "catchup_window"},
		{"unknown overlap", Policy{Overlap: 42}, "overlap"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := ValidatePolicy(tc.p)
			if tc.path == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			if e := asError(t, err); e.Path != tc.path {
				t.Errorf("path %q, want %q", e.Path, tc.path)
			}
		})
	}
}

func TestValidateAction(t *testing.T) {
	t.Parallel()
	ok := Action{WorkflowType: "Report", TaskQueue: "reports.daily-v1_2", Input: json.RawMessage(`{"a":1}`)}
	for _, tc := range []struct {
		name string
		edit func(a *Action)
		path string
	}{
		{"valid", func(a *Action) {}, ""},
		{"valid retry policy", func(a *Action) {
			a.RetryPolicy = &RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute, BackoffCoefficient: 1.5, MaximumAttempts: 3}
		}, ""},
		{"missing type", func(a *Action) { a.WorkflowType = "" }, "workflow_type"},
		{"long type", func(a *Action) { a.WorkflowType = strings.Repeat("x", 256) }, "workflow_type"},
		{"missing queue", func(a *Action) { a.TaskQueue = "" }, "task_queue"},
		{"queue with space", func(a *Action) { a.TaskQueue = "my queue" }, "task_queue"},
		{"queue starting with dot", func(a *Action) { a.TaskQueue = ".q" }, "task_queue"},
		{"queue too long", func(a *Action) { a.TaskQueue = strings.Repeat("q", 201) }, "task_queue"},
		{"workflow id too long", func(a *Action) { a.WorkflowID = strings.Repeat("w", 201) }, "workflow_id"},
		{"bad input", func(a *Action) { a.Input = json.RawMessage(`{`) }, "input"},
		{"negative run timeout", func(a *Action) { a.RunTimeout = -1 }, "run_timeout"},
		{"negative execution timeout", func(a *Action) { a.ExecutionTimeout = -1 }, "execution_timeout"},
		{"negative heartbeat", func(a *Action) { a.HeartbeatTimeout = -1 }, "heartbeat_timeout"},
		{"max below initial", func(a *Action) {
			a.RetryPolicy = &RetryPolicy{InitialInterval: time.Minute, MaximumInterval: time.Second}
		}, "retry_policy.maximum_interval"},
		{"max below default initial", func(a *Action) { a.RetryPolicy = &RetryPolicy{MaximumInterval: time.Millisecond} }, "retry_policy.maximum_interval"},
		{"coefficient below 1", func(a *Action) { a.RetryPolicy = &RetryPolicy{BackoffCoefficient: 0.5} }, "retry_policy.backoff_coefficient"},
		{"coefficient NaN", func(a *Action) { a.RetryPolicy = &RetryPolicy{BackoffCoefficient: math.NaN()} }, "retry_policy.backoff_coefficient"},
		{"negative attempts", func(a *Action) { a.RetryPolicy = &RetryPolicy{MaximumAttempts: -1} }, "retry_policy.maximum_attempts"},
		{"negative initial", func(a *Action) { a.RetryPolicy = &RetryPolicy{InitialInterval: -1} }, "retry_policy.initial_interval"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := ok
			tc.edit(&a)
			err := ValidateAction(a)
			if tc.path == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			if e := asError(t, err); e.Path != tc.path {
				t.Errorf("path %q, want %q (%v)", e.Path, tc.path, err)
			}
		})
	}
	if err := ValidateRetryPolicy(nil); err != nil {
		t.Errorf("nil retry policy: %v", err)
	}
}

func TestJSON(t *testing.T) {
	t.Parallel()
	t.Run("spec round trip", func(t *testing.T) {
		t.Parallel()
		in := `{"cron_expressions":["0 9 * * *"],"intervals":[{"every":"1h30m","offset":"15m"}],"calendar_intervals":[{"weeks":2,"time_of_day":"09:00"}],"at":["2026-03-01T09:00:00Z"],"start_time":"2026-01-01T00:00:00Z","time_zone":"Europe/London","jitter":"30s"}`
		var s Spec
		if err := json.Unmarshal([]byte(in), &s); err != nil {
			t.Fatal(err)
		}
		if s.Intervals[0].Every != 90*time.Minute || s.Intervals[0].Offset != 15*time.Minute || s.Jitter != 30*time.Second || s.TimeZone != "Europe/London" || s.CalendarIntervals[0].Weeks != 2 {
			t.Fatalf("decoded %+v", s)
		}
		out, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != in {
			t.Errorf("round trip\n got  %s\n want %s", out, in)
		}
	})
	t.Run("protojson seconds", func(t *testing.T) {
		t.Parallel()
		var s Spec
		if err := json.Unmarshal([]byte(`{"intervals":[{"every":"3600s","offset":"1.5s"}],"jitter":"0.5s"}`), &s); err != nil {
			t.Fatal(err)
		}
		if s.Intervals[0].Every != time.Hour || s.Intervals[0].Offset != 1500*time.Millisecond || s.Jitter != 500*time.Millisecond {
			t.Errorf("decoded %+v", s)
		}
	})
	t.Run("bad duration", func(t *testing.T) {
		t.Parallel()
		var s Spec
		err := json.Unmarshal([]byte(`{"jitter":"soon"}`), &s)
		if err == nil || !strings.Contains(err.Error(), `invalid duration "soon"`) {
			t.Errorf("err = %v", err)
		}
		if err := json.Unmarshal([]byte(`{"jitter":30}`), &s); err == nil {
			t.Errorf("a number is accepted as a duration")
		}
	})
	t.Run("policy and action", func(t *testing.T) {
		t.Parallel()
		var sc Schedule
		in := `{"spec":{"cron_expressions":["@daily"]},"action":{"workflow_type":"W","task_queue":"q","run_timeout":"1m","heartbeat_timeout":"10s","retry_policy":{"initial_interval":"1s","maximum_interval":"1m0s","maximum_attempts":3}},"policy":{"overlap":"BUFFER_ONE","catchup_window":"24h"},"state":{}}`
		if err := json.Unmarshal([]byte(in), &sc); err != nil {
			t.Fatal(err)
		}
		if sc.Policy.CatchupWindow != 24*time.Hour || sc.Policy.Overlap != OverlapBufferOne || sc.Action.RunTimeout != time.Minute ||
			sc.Action.HeartbeatTimeout != 10*time.Second || sc.Action.RetryPolicy.MaximumInterval != time.Minute || sc.Action.RetryPolicy.MaximumAttempts != 3 {
			t.Fatalf("decoded %+v", sc)
		}
		out, err := json.Marshal(sc)
		if err != nil {
			t.Fatal(err)
		}
		want := `{"spec":{"cron_expressions":["@daily"]},"action":{"workflow_type":"W","task_queue":"q","retry_policy":{"maximum_attempts":3,"initial_interval":"1s","maximum_interval":"1m"},"run_timeout":"1m","heartbeat_timeout":"10s"},"policy":{"overlap":"BUFFER_ONE","catchup_window":"24h"},"state":{}}`
		if string(out) != want {
			t.Errorf("marshal\n got  %s\n want %s", out, want)
		}
	})
}
