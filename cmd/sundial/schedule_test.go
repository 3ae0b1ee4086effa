package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sundial-dev/sundial/schedule"
)

// describeOutput is what `schedule describe -o json` prints.
type describeOutput struct {
	ScheduleID string            `json:"schedule_id"`
	Namespace  string            `json:"namespace"`
	Schedule   schedule.Schedule `json:"schedule"`
	Info       struct {
		ActionCount      int64 `json:"action_count"`
		RunningWorkflows []struct {
			WorkflowID string `json:"workflow_id"`
			RunID      string `json:"run_id"`
		} `json:"running_workflows"`
		RecentActions []struct {
			NominalTime time.Time `json:"nominal_time"`
			WorkflowID  string    `json:"workflow_id"`
			RunID       string    `json:"run_id"`
			Status      string    `json:"status"`
		} `json:"recent_actions"`
		FutureActionTimes []time.Time `json:"future_action_times"`
		CreateTime        time.Time   `json:"create_time"`
	} `json:"info"`
	ConflictToken string `json:"conflict_token"`
}

func (b *cliBundle) describe(t *testing.T, id string) describeOutput {
	t.Helper()
	var d describeOutput
	b.runJSON(t, &d, "schedule", "describe", id)
	return d
}

// createHourly creates a schedule firing every hour at :15 with the given
// extra flags.
func (b *cliBundle) createHourly(t *testing.T, id string, extra ...string) {
	t.Helper()
	args := append([]string{"schedule", "create", "--id", id, "--interval", "1h/15m", "--workflow-type", "report", "--task-queue", "reports"}, extra...)
	b.mustRun(t, args...)
}

func TestScheduleCreateDescribeDelete(t *testing.T) {
	t.Parallel()
	b := setupCLI(t)

	var created struct {
		ScheduleID      string      `json:"schedule_id"`
		Namespace       string      `json:"namespace"`
		NextActionTimes []time.Time `json:"next_action_times"`
	}
	b.runJSON(t, &created, "schedule", "create", "nightly",
		"--cron", "0 2 * * *", "--interval", "6h", "--offset", "30m", "--tz", "Europe/Paris", "--jitter", "10s",
		"--start", "2026-01-01T00:00:00Z", "--workflow-type", "report", "--workflow-id", "report-run",
		"--task-queue", "reports", "--input", `{"day":"yesterday"}`, "--overlap", "buffer_one",
		"--catchup-window", "1h", "--coalesce", "--pause-on-failure", "--remaining-actions", "5",
		"--tag", "team=data", "--tag", "tier=gold", "--max-attempts", "3", "--memo", `owner="data"`)
	if created.ScheduleID != "nightly" || created.Namespace != b.namespace {
		t.Errorf("create printed id %q namespace %q, want nightly %q", created.ScheduleID, created.Namespace, b.namespace)
	}
	if len(created.NextActionTimes) != 3 || !created.NextActionTimes[0].After(time.Now().Add(-time.Minute)) {
		t.Errorf("next_action_times = %v, want 3 future times", created.NextActionTimes)
	}

	d := b.describe(t, "nightly")
	s := d.Schedule
	want := schedule.Spec{
		CronExpressions: []string{"0 2 * * *"},
		Intervals:       []schedule.Interval{{Every: 6 * time.Hour, Offset: 30 * time.Minute}},
		TimeZone:        "Europe/Paris",
		Jitter:          10 * time.Second,
		StartTime:       time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	if !slices.Equal(s.Spec.CronExpressions, want.CronExpressions) || !slices.Equal(s.Spec.Intervals, want.Intervals) ||
		s.Spec.TimeZone != want.TimeZone || s.Spec.Jitter != want.Jitter || !s.Spec.StartTime.Equal(want.StartTime) {
		t.Errorf("spec = %+v, want %+v", s.Spec, want)
	}
	if a := s.Action; a.WorkflowType != "report" || a.WorkflowID != "report-run" || a.TaskQueue != "reports" ||
		compactJSON(a.Input) != `{"day":"yesterday"}` || a.RetryPolicy == nil || a.RetryPolicy.MaximumAttempts != 3 {
		t.Errorf("action = %+v", a)
	}
	if compactJSON(s.Action.Memo["owner"]) != `"data"` {
		t.Errorf("memo = %v", s.Action.Memo)
	}
	if p := s.Policy; p.Overlap != schedule.OverlapBufferOne || p.CatchupWindow != time.Hour || !p.Coalesce || !p.PauseOnFailure {
		t.Errorf("policy = %+v", p)
	}
	if st := s.State; st.Paused || !st.LimitedActions || st.RemainingActions != 5 {
		t.Errorf("state = %+v", st)
	}
	if s.Tags["team"] != "data" || s.Tags["tier"] != "gold" {
		t.Errorf("tags = %v", s.Tags)
	}
	if d.ConflictToken == "" || d.Info.CreateTime.IsZero() || len(d.Info.FutureActionTimes) == 0 {
		t.Errorf("info = %+v, token %q: want a create time, future times and a token", d.Info, d.ConflictToken)
	}

	text := b.mustRun(t, "schedule", "describe", "nightly")
	for _, w := range []string{"nightly", "report on task queue reports", "cron '0 2 * * *'", "every 6h offset 30m",
		"in Europe/Paris", "overlap BUFFER_ONE", "Remaining actions:", "team=data", "Recent actions:", "Next action times:"} {
		if !strings.Contains(text, w) {
			t.Errorf("describe text lacks %q:\n%s", w, text)
		}
	}

	out := b.mustRun(t, "schedule", "delete", "nightly")
	if !strings.Contains(out, "Deleted schedule nightly") {
		t.Errorf("delete printed %q", out)
	}
	_, err := b.run(t, "schedule", "describe", "nightly")
	wantCallError(t, err, "schedule nightly not found")
	_, err = b.run(t, "schedule", "delete", "nightly")
	wantCallError(t, err, "not found")
}

func TestScheduleCreateFromFile(t *testing.T) {
	t.Parallel()
	b := setupCLI(t)
	b.createHourly(t, "orig", "--tag", "team=data", "--input", `[1,2]`)
	described := b.mustRun(t, "schedule", "describe", "orig", "-o", "json")
	path := filepath.Join(t.TempDir(), "schedule.json")
	if err := os.WriteFile(path, []byte(described), 0o600); err != nil {
		t.Fatal(err)
	}
	// The describe output names the id; --id and flags override the file.
	b.mustRun(t, "schedule", "create", "--file", path, "--id", "copy", "--note", "copied")
	orig, cp := b.describe(t, "orig").Schedule, b.describe(t, "copy").Schedule
	if cp.State.Note != "copied" {
		t.Errorf("copy note = %q, want the flag's", cp.State.Note)
	}
	cp.State.Note = orig.State.Note
	ob, _ := json.Marshal(orig)
	cb, _ := json.Marshal(cp)
	if string(ob) != string(cb) {
		t.Errorf("copy differs from original:\n%s\n%s", ob, cb)
	}

	// A plain schedule.Schedule from stdin.
	plain, _ := json.Marshal(orig)
	if _, err := b.runStdin(t, string(plain), "schedule", "create", "third", "--file", "-"); err != nil {
		t.Fatalf("create from stdin: %v", err)
	}
	if got := b.describe(t, "third").Schedule.Action.WorkflowType; got != "report" {
		t.Errorf("third workflow type = %q", got)
	}

	_, err := b.runStdin(t, `{"spec": {"cron_expresions": ["* * * * *"]}}`, "schedule", "create", "typo", "--file", "-")
	wantUsageError(t, err, "--file", "cron_expresions")
}

func TestScheduleCreateBadInput(t *testing.T) {
	t.Parallel()
	b := setupCLI(t)
	b.createHourly(t, "dup")
	base := []string{"--workflow-type", "w", "--task-queue", "q"}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"NoID", []string{"--interval", "1h"}, []string{"--id"}},
		{"IDTwice", []string{"a", "--id", "b", "--interval", "1h"}, []string{"twice"}},
		{"BadInterval", []string{"x", "--interval", "soon"}, []string{"--interval", "soon"}},
		{"BadOffset", []string{"x", "--interval", "1h/later"}, []string{"offset"}},
		{"OffsetAlone", []string{"x", "--cron", "* * * * *", "--offset", "1m"}, []string{"--offset"}},
		{"BadOverlap", []string{"x", "--interval", "1h", "--overlap", "sometimes"}, []string{"overlap", "SKIP"}},
		{"BadZone", []string{"x", "--interval", "1h", "--tz", "Mars/Olympus"}, []string{"--tz", "Mars/Olympus"}},
		{"BadInput", []string{"x", "--interval", "1h", "--input", "{oops"}, []string{"--input"}},
		{"BadTag", []string{"x", "--interval", "1h", "--tag", "novalue"}, []string{"--tag", "key=value"}},
		{"BadMemo", []string{"x", "--interval", "1h", "--memo", "k={"}, []string{"--memo"}},
		{"BadStart", []string{"x", "--interval", "1h", "--start", "yesterday"}, []string{"--start"}},
		{"BadCalendar", []string{"x", "--calendar", `{"hour": 9}`}, []string{"--calendar"}},
		{"BadOutput", []string{"x", "--interval", "1h", "--output", "yaml"}, []string{"--output"}},
		{"ServerRejectsInterval", []string{"x", "--interval", "500ms"}, []string{"invalid argument", "interval"}},
		{"ServerRejectsCron", []string{"x", "--cron", "0 0 * * 8"}, []string{"invalid argument", "cron_expressions[0]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := b.run(t, append(append([]string{"schedule", "create"}, tt.args...), base...)...)
			wantUsageError(t, err, tt.want...)
		})
	}
	t.Run("Duplicate", func(t *testing.T) {
		t.Parallel()
		_, err := b.run(t, "schedule", "create", "dup", "--interval", "1h", "--workflow-type", "w", "--task-queue", "q")
		wantCallError(t, err, `"dup" already exists`, "schedule update dup")
	})
	t.Run("NoServer", func(t *testing.T) {
		t.Parallel()
		nb := &cliBundle{addr: "http://127.0.0.1:1", namespace: b.namespace}
		_, err := nb.run(t, "schedule", "list")
		wantCallError(t, err, "does not answer", "SUNDIAL_ADDRESS")
	})
	t.Run("BadAddress", func(t *testing.T) {
		t.Parallel()
		nb := &cliBundle{addr: "ftp://127.0.0.1:7711", namespace: b.namespace}
		_, err := nb.run(t, "schedule", "list")
		wantUsageError(t, err, "--address", "http://host:port")
	})
	// Nothing that failed was stored.
	var entries []map[string]any
	b.runJSON(t, &entries, "schedule", "list")
	if len(entries) != 1 {
		t.Errorf("after bad creates, list = %v, want only dup", entries)
	}
}

func TestScheduleList(t *testing.T) {
	t.Parallel()
	b := setupCLI(t)
	b.createHourly(t, "alpha", "--tag", "team=a", "--tz", "America/New_York")
	b.createHourly(t, "beta", "--tag", "team=b", "--paused", "--note", "maintenance")
	b.mustRun(t, "schedule", "create", "gamma", "--cron", "0 9 * * MON-FRI", "--workflow-type", "other", "--task-queue", "q")

	text := b.mustRun(t, "schedule", "list")
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if len(lines) != 4 {
		t.Fatalf("list printed %d lines, want header + 3:\n%s", len(lines), text)
	}
	for _, w := range []string{"ID", "WORKFLOW TYPE", "SPEC", "NEXT RUN (LOCAL)", "NEXT RUN (UTC)", "PAUSED", "NOTE"} {
		if !strings.Contains(lines[0], w) {
			t.Errorf("header %q lacks %q", lines[0], w)
		}
	}
	if !strings.Contains(text, "maintenance") || !strings.Contains(text, "EST") && !strings.Contains(text, "EDT") {
		t.Errorf("list lacks the note or the schedule's local zone:\n%s", text)
	}

	ids := func(args ...string) []string {
		var entries []struct {
			ID     string `json:"schedule_id"`
			Paused bool   `json:"paused"`
		}
		b.runJSON(t, &entries, append([]string{"schedule", "list"}, args...)...)
		var out []string
		for _, e := range entries {
			out = append(out, e.ID)
		}
		slices.Sort(out)
		return out
	}
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{nil, []string{"alpha", "beta", "gamma"}},
		{[]string{"--paused"}, []string{"beta"}},
		{[]string{"--active"}, []string{"alpha", "gamma"}},
		{[]string{"--tag", "team=a"}, []string{"alpha"}},
		{[]string{"--workflow-type", "other"}, []string{"gamma"}},
		{[]string{"--page-size", "1"}, []string{"alpha", "beta", "gamma"}},
	} {
		if got := ids(tt.args...); !slices.Equal(got, tt.want) {
			t.Errorf("list %v = %v, want %v", tt.args, got, tt.want)
		}
	}
	if got := ids("--limit", "2"); len(got) != 2 {
		t.Errorf("list --limit 2 = %v", got)
	}
	_, err := b.run(t, "schedule", "list", "--paused", "--active")
	wantUsageError(t, err, "--paused", "--active")
}

func TestScheduleUpdate(t *testing.T) {
	t.Parallel()
	b := setupCLI(t)
	b.createHourly(t, "u", "--tag", "team=a", "--input", `"x"`)
	before := b.describe(t, "u")

	out := b.mustRun(t, "schedule", "update", "u", "--cron", "30 2 * * *", "--overlap", "ALLOW_ALL", "--note", "moved")
	if !strings.Contains(out, "Updated schedule u") {
		t.Errorf("update printed %q", out)
	}
	after := b.describe(t, "u")
	s := after.Schedule
	if !slices.Equal(s.Spec.CronExpressions, []string{"30 2 * * *"}) || s.Policy.Overlap != schedule.OverlapAllowAll || s.State.Note != "moved" {
		t.Errorf("changed parts not applied: %+v", s)
	}
	// Everything not given is kept.
	if !slices.Equal(s.Spec.Intervals, before.Schedule.Spec.Intervals) || s.Action.TaskQueue != "reports" ||
		string(s.Action.Input) != `"x"` || s.Tags["team"] != "a" {
		t.Errorf("update changed parts it was not given: %+v", s)
	}
	if after.ConflictToken == before.ConflictToken {
		t.Errorf("conflict token did not change on update")
	}

	_, err := b.run(t, "schedule", "update", "u")
	wantUsageError(t, err, "nothing to update")
	_, err = b.run(t, "schedule", "update", "u", "--output", "json", "--namespace", b.namespace)
	wantUsageError(t, err, "nothing to update")
	_, err = b.run(t, "schedule", "update", "u", "--interval", "1ms")
	wantUsageError(t, err, "invalid argument")
	_, err = b.run(t, "schedule", "update", "u", "--overlap", "never")
	wantUsageError(t, err, "overlap")
	_, err = b.run(t, "schedule", "update", "missing", "--note", "x")
	wantCallError(t, err, "schedule missing not found")
}

func TestSchedulePauseUnpause(t *testing.T) {
	t.Parallel()
	b := setupCLI(t)
	b.createHourly(t, "p")
	var res map[string]any
	b.runJSON(t, &res, "schedule", "pause", "p", "--note", "deploy freeze")
	if res["paused"] != true || res["schedule_id"] != "p" {
		t.Errorf("pause printed %v", res)
	}
	if st := b.describe(t, "p").Schedule.State; !st.Paused || st.Note != "deploy freeze" {
		t.Errorf("after pause, state = %+v", st)
	}
	if out := b.mustRun(t, "schedule", "unpause", "p", "--note", "thawed"); !strings.Contains(out, "Unpaused schedule p") {
		t.Errorf("unpause printed %q", out)
	}
	if st := b.describe(t, "p").Schedule.State; st.Paused || st.Note != "thawed" {
		t.Errorf("after unpause, state = %+v", st)
	}
	_, err := b.run(t, "schedule", "pause", "nope")
	wantCallError(t, err, "not found")
}

func TestScheduleTriggerAndExecutions(t *testing.T) {
	t.Parallel()
	b := setupCLI(t)
	b.createHourly(t, "t", "--paused")
	var res struct {
		ScheduleID string `json:"schedule_id"`
		WorkflowID string `json:"workflow_id"`
		RunID      string `json:"run_id"`
		Outcome    string `json:"outcome"`
	}
	b.runJSON(t, &res, "schedule", "trigger", "t")
	if res.Outcome != "STARTED" || res.RunID == "" || !strings.HasPrefix(res.WorkflowID, "t-") {
		t.Fatalf("trigger printed %+v, want a started run of workflow t-<time>", res)
	}
	// Two manual triggers in one second both start (ALLOW_ALL: the first is still open).
	out := b.mustRun(t, "schedule", "trigger", "t", "--overlap", "allow_all")
	if !strings.Contains(out, "started workflow t-") {
		t.Errorf("second trigger printed %q", out)
	}

	d := b.describe(t, "t")
	if d.Info.ActionCount != 2 || len(d.Info.RecentActions) != 2 {
		t.Errorf("after two triggers: action count %d, recent %v", d.Info.ActionCount, d.Info.RecentActions)
	}
	for _, r := range d.Info.RecentActions {
		if r.RunID == "" || r.Status == "" || r.Status == "UNSPECIFIED" {
			t.Errorf("recent action without run or status: %+v", r)
		}
	}

	var recs []struct {
		ScheduleID string `json:"schedule_id"`
		RunID      string `json:"run_id"`
		Outcome    string `json:"outcome"`
		Trigger    string `json:"trigger"`
	}
	b.runJSON(t, &recs, "schedule", "executions", "t")
	if len(recs) != 2 {
		t.Fatalf("executions = %+v, want 2", recs)
	}
	for _, r := range recs {
		if r.ScheduleID != "t" || r.Outcome != "STARTED" || r.Trigger != "MANUAL" || r.RunID == "" {
			t.Errorf("execution record %+v", r)
		}
	}
	b.runJSON(t, &recs, "schedule", "executions", "--outcome", "missed")
	if len(recs) != 0 {
		t.Errorf("executions --outcome missed = %+v, want none", recs)
	}
	text := b.mustRun(t, "schedule", "executions", "t", "--ascending", "--limit", "1")
	if lines := strings.Split(strings.TrimSpace(text), "\n"); len(lines) != 2 || !strings.Contains(lines[1], "MANUAL") {
		t.Errorf("executions text:\n%s", text)
	}
	_, err := b.run(t, "schedule", "executions", "--outcome", "bogus")
	wantUsageError(t, err, "--outcome")
	_, err = b.run(t, "schedule", "trigger", "t", "--overlap", "bogus")
	wantUsageError(t, err, "overlap")
	_, err = b.run(t, "schedule", "trigger", "gone")
	wantCallError(t, err, "not found")
}

func TestScheduleBackfill(t *testing.T) {
	t.Parallel()
	b := setupCLI(t)
	b.createHourly(t, "bf", "--paused")
	var res struct {
		NominalTimes int64 `json:"nominal_times"`
	}
	// 00:15 .. 05:15: six nominal times.
	b.runJSON(t, &res, "schedule", "backfill", "bf", "--start", "2026-01-01T00:00:00Z", "--end", "2026-01-01T06:00:00Z", "--overlap", "ALLOW_ALL")
	if res.NominalTimes != 6 {
		t.Errorf("backfill took %d nominal times, want 6", res.NominalTimes)
	}
	out := b.mustRun(t, "schedule", "backfill", "bf", "--start", "2026-01-02", "--end", "2026-01-02T01:00:00Z")
	if !strings.Contains(out, "1 nominal time(s)") {
		t.Errorf("backfill printed %q", out)
	}
	_, err := b.run(t, "schedule", "backfill", "bf", "--start", "2026-01-01")
	wantUsageError(t, err, "--end")
	_, err = b.run(t, "schedule", "backfill", "bf", "--start", "2026-01-02", "--end", "2026-01-01")
	wantUsageError(t, err, "invalid argument")
}

func TestSchedulePauseAllResumeAll(t *testing.T) {
	t.Parallel()
	b := setupCLI(t)
	b.createHourly(t, "a1", "--tag", "team=a")
	b.createHourly(t, "a2", "--tag", "team=a")
	b.createHourly(t, "b1", "--tag", "team=b")
	var res struct {
		Count int64 `json:"count"`
	}
	b.runJSON(t, &res, "schedule", "pause-all", "--tag", "team=a", "--note", "incident")
	if res.Count != 2 {
		t.Errorf("pause-all --tag team=a paused %d, want 2", res.Count)
	}
	for id, paused := range map[string]bool{"a1": true, "a2": true, "b1": false} {
		if st := b.describe(t, id).Schedule.State; st.Paused != paused {
			t.Errorf("%s paused = %t, want %t", id, st.Paused, paused)
		}
	}
	out := b.mustRun(t, "schedule", "resume-all")
	if !strings.Contains(out, "Resumed 2 schedule(s)") {
		t.Errorf("resume-all printed %q, want 2 resumed", out)
	}
	if st := b.describe(t, "a1").Schedule.State; st.Paused {
		t.Errorf("a1 still paused after resume-all")
	}
}

func TestScheduleNext(t *testing.T) {
	t.Parallel()
	b := setupCLI(t)
	b.createHourly(t, "n", "--tz", "Asia/Tokyo")
	var res struct {
		NextActionTimes []time.Time `json:"next_action_times"`
	}
	b.runJSON(t, &res, "schedule", "next", "n", "--after", "2026-01-01T00:00:00Z", "--count", "2")
	want := []time.Time{time.Date(2026, 1, 1, 0, 15, 0, 0, time.UTC), time.Date(2026, 1, 1, 1, 15, 0, 0, time.UTC)}
	if !slices.EqualFunc(res.NextActionTimes, want, time.Time.Equal) {
		t.Errorf("next = %v, want %v", res.NextActionTimes, want)
	}
	out := b.mustRun(t, "schedule", "next", "n", "--after", "2026-01-01T00:00:00Z", "--count", "1")
	if want := "2026-01-01T00:15:00Z  (2026-01-01 09:15:00 JST)"; strings.TrimSpace(out) != want {
		t.Errorf("next printed %q, want %q", out, want)
	}
	_, err := b.run(t, "schedule", "next", "n", "--count", "0")
	wantUsageError(t, err, "--count")
	_, err = b.run(t, "schedule", "next", "missing")
	wantCallError(t, err, "not found")
}

// TestScheduleFiresAndDescribeShowsCompletedRuns is the README's tour: a
// schedule firing every second, a worker running its workflow, and describe
// showing completed runs among the recent actions.
func TestScheduleFiresAndDescribeShowsCompletedRuns(t *testing.T) {
	t.Parallel()
	b := setupCLI(t)
	b.startWorker(t)
	b.mustRun(t, "schedule", "create", "--id", "hello", "--interval", "1s", "--workflow-type", "echo", "--task-queue", "wq", "--input", `"hi"`)
	deadline := time.Now().Add(20 * time.Second)
	for {
		d := b.describe(t, "hello")
		completed := 0
		for _, r := range d.Info.RecentActions {
			if r.Status == "COMPLETED" {
				completed++
			}
		}
		if completed >= 2 {
			text := b.mustRun(t, "schedule", "describe", "hello")
			if !strings.Contains(text, "COMPLETED") || !strings.Contains(text, "hello-") {
				t.Errorf("describe text lacks the completed runs:\n%s", text)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no two completed runs within 20s; recent actions: %+v", d.Info.RecentActions)
		}
		// Polling the server's state with a deadline; the schedule fires on
		// the wall clock, which this end-to-end test does not inject.
		<-time.After(100 * time.Millisecond)
	}
	var runs []map[string]any
	b.runJSON(t, &runs, "workflow", "list", "--schedule-id", "hello", "--status", "completed")
	if len(runs) < 2 {
		t.Errorf("workflow list --schedule-id hello --status completed = %d runs, want at least 2", len(runs))
	}
}

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		365 * 24 * time.Hour: "365d", time.Hour: "1h", 90 * time.Minute: "1h30m", 10 * time.Minute: "10m",
		30 * time.Second: "30s", 1500 * time.Millisecond: "1.5s", 25 * time.Hour: "25h",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestScheduleCreateCalendarsAtSkip(t *testing.T) {
	t.Parallel()
	b := setupCLI(t)
	b.mustRun(t, "schedule", "create", "cal", "--workflow-type", "w", "--task-queue", "q", "--tz", "UTC",
		"--calendar", `{"hour":[{"start":9}],"day_of_week":[{"start":1,"end":5}],"comment":"weekdays at nine"}`,
		"--skip", `{"hour":[{"start":9}],"day_of_month":[{"start":25}],"month":[{"start":12}]}`,
		"--at", "2030-06-01T12:00:00Z", "--end", "2031-01-01")
	sp := b.describe(t, "cal").Schedule.Spec
	if len(sp.Calendars) != 1 || sp.Calendars[0].Comment != "weekdays at nine" || len(sp.Calendars[0].DayOfWeek) != 1 || sp.Calendars[0].DayOfWeek[0].End != 5 {
		t.Errorf("calendars = %+v", sp.Calendars)
	}
	if len(sp.Skip) != 1 || len(sp.Skip[0].Month) != 1 || sp.Skip[0].Month[0].Start != 12 {
		t.Errorf("skip = %+v", sp.Skip)
	}
	if len(sp.At) != 1 || !sp.At[0].Equal(time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("at = %v", sp.At)
	}
	if !sp.EndTime.Equal(time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("end = %v", sp.EndTime)
	}
	// 2030-12-25 is a Wednesday: skipped; the 24th and 26th are not.
	var res struct {
		NextActionTimes []time.Time `json:"next_action_times"`
	}
	b.runJSON(t, &res, "schedule", "next", "cal", "--after", "2030-12-24T00:00:00Z", "--count", "2")
	want := []time.Time{time.Date(2030, 12, 24, 9, 0, 0, 0, time.UTC), time.Date(2030, 12, 26, 9, 0, 0, 0, time.UTC)}
	if !slices.EqualFunc(res.NextActionTimes, want, time.Time.Equal) {
		t.Errorf("next = %v, want %v", res.NextActionTimes, want)
	}
}

func TestScheduleAndWorkflowArgumentErrors(t *testing.T) {
	t.Parallel()
	b := setupCLI(t)
	for _, args := range [][]string{
		{"schedule", "describe"}, {"schedule", "delete", "a", "b"}, {"schedule", "pause"}, {"schedule", "unpause"},
		{"schedule", "trigger"}, {"schedule", "backfill"}, {"schedule", "update"}, {"schedule", "next"},
		{"schedule", "list", "extra"}, {"schedule", "pause-all", "extra"}, {"schedule", "create", "a", "b"},
		{"schedule", "describe", "x", "--bogus"}, {"workflow", "describe"}, {"workflow", "result"},
		{"workflow", "cancel"}, {"workflow", "terminate"}, {"workflow", "start", "extra"},
	} {
		if _, err := b.run(t, args...); err == nil {
			t.Errorf("sundial %s: no error", strings.Join(args, " "))
		} else if code := exitCode(&bytes.Buffer{}, err); code != 2 {
			t.Errorf("sundial %s: exit code %d (%v), want 2", strings.Join(args, " "), code, err)
		}
	}
}
