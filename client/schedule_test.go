package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/sundial-dev/sundial/client"
	"github.com/sundial-dev/sundial/internal/testserver"
	"github.com/sundial-dev/sundial/schedule"
)

// scheduleBundle is a client talking to an in-process server
// (internal/testserver), in a namespace of the test's own.
type scheduleBundle struct {
	c  *client.Client
	sc client.ScheduleClient
}

// setupSchedules starts a server (loops disabled: these tests drive the API,
// not the clock) and dials it; grpc makes the client speak gRPC.
func setupSchedules(t *testing.T, grpc bool) *scheduleBundle {
	t.Helper()
	ts := testserver.Start(t, testserver.Options{DisableLoops: true})
	c, err := client.Dial(t.Context(), client.Options{Address: ts.URL, Namespace: ts.Namespace, GRPC: grpc})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &scheduleBundle{c: c, sc: c.ScheduleClient()}
}

// hourly returns options for a schedule firing every hour at :15.
func hourly(id string) client.ScheduleOptions {
	return client.ScheduleOptions{
		ID:     id,
		Spec:   schedule.Spec{Intervals: []schedule.Interval{{Every: time.Hour, Offset: 15 * time.Minute}}},
		Action: client.ScheduleWorkflowAction{Workflow: "report", TaskQueue: "reports"},
	}
}

func (b *scheduleBundle) create(t *testing.T, opts client.ScheduleOptions) *client.ScheduleHandle {
	t.Helper()
	h, err := b.sc.Create(t.Context(), opts)
	if err != nil {
		t.Fatalf("Create %s: %v", opts.ID, err)
	}
	return h
}

func (b *scheduleBundle) describe(t *testing.T, h *client.ScheduleHandle) *client.ScheduleDescription {
	t.Helper()
	d, err := h.Describe(t.Context())
	if err != nil {
		t.Fatalf("Describe %s: %v", h.GetID(), err)
	}
	return d
}

func TestScheduleCreateDescribe(t *testing.T) {
	t.Parallel()
	for _, proto := range []struct {
		name string
		grpc bool
	}{{"Connect", false}, {"GRPC", true}} {
		t.Run(proto.name, func(t *testing.T) {
			t.Parallel()
			b := setupSchedules(t, proto.grpc)
			opts := hourly("full")
			opts.Spec.CronExpressions = []string{"0 9 * * MON-FRI"}
			opts.Spec.TimeZone = "Europe/Paris"
			opts.Action = client.ScheduleWorkflowAction{
				ID: "base", Workflow: "report", TaskQueue: "reports",
				Input:                    map[string]any{"day": "yesterday", "n": 3},
				WorkflowExecutionTimeout: time.Hour, WorkflowRunTimeout: 10 * time.Minute, HeartbeatTimeout: time.Minute,
				RetryPolicy: &schedule.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 3},
				Memo:        map[string]any{"owner": "data-team"},
			}
			opts.Overlap = schedule.OverlapBufferAll
			opts.CatchupWindow = time.Hour
			opts.Coalesce = true
			opts.PauseOnFailure = true
			opts.Paused = true
			opts.Note = "not yet"
			opts.RemainingActions = 7
			opts.Tags = map[string]string{"team": "data"}
			h := b.create(t, opts)
			if h.GetID() != "full" {
				t.Errorf("GetID = %q", h.GetID())
			}
			d := b.describe(t, h)
			s := d.Schedule
			if !slices.Equal(s.Spec.CronExpressions, opts.Spec.CronExpressions) || !slices.Equal(s.Spec.Intervals, opts.Spec.Intervals) || s.Spec.TimeZone != "Europe/Paris" {
				t.Errorf("spec = %+v", s.Spec)
			}
			a := s.Action
			if a.WorkflowID != "base" || a.WorkflowType != "report" || a.TaskQueue != "reports" || a.ExecutionTimeout != time.Hour ||
				a.RunTimeout != 10*time.Minute || a.HeartbeatTimeout != time.Minute || a.RetryPolicy == nil || a.RetryPolicy.MaximumAttempts != 3 {
				t.Errorf("action = %+v", a)
			}
			var in map[string]any
			if err := json.Unmarshal(a.Input, &in); err != nil || in["day"] != "yesterday" || in["n"] != 3.0 {
				t.Errorf("input = %s (%v)", a.Input, err)
			}
			if string(a.Memo["owner"]) != `"data-team"` {
				t.Errorf("memo = %v", a.Memo)
			}
			if p := s.Policy; p.Overlap != schedule.OverlapBufferAll || p.CatchupWindow != time.Hour || !p.Coalesce || !p.PauseOnFailure {
				t.Errorf("policy = %+v", p)
			}
			if st := s.State; !st.Paused || st.Note != "not yet" || !st.LimitedActions || st.RemainingActions != 7 {
				t.Errorf("state = %+v", st)
			}
			if s.Tags["team"] != "data" {
				t.Errorf("tags = %v", s.Tags)
			}
			// A paused schedule keeps its next times visible.
			if d.ConflictToken == "" || d.Info.CreatedAt.IsZero() || len(d.Info.NextActionTimes) == 0 || d.Info.NumActions != 0 {
				t.Errorf("info = %+v, token %q", d.Info, d.ConflictToken)
			}
		})
	}
}

func TestScheduleErrors(t *testing.T) {
	t.Parallel()
	b := setupSchedules(t, false)
	ctx := t.Context()
	b.create(t, hourly("dup"))

	_, err := b.sc.Create(ctx, hourly("dup"))
	if !errors.Is(err, client.ErrScheduleAlreadyExists) || !errors.Is(err, client.ErrAlreadyExists) {
		t.Errorf("duplicate create: %v, want ErrScheduleAlreadyExists", err)
	}
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Code() != connect.CodeAlreadyExists {
		t.Errorf("duplicate create: *connect.Error not reachable: %v", err)
	}

	bad := hourly("bad")
	bad.Spec.Intervals[0].Every = 500 * time.Millisecond
	_, err = b.sc.Create(ctx, bad)
	var ce2 *client.Error
	if !errors.Is(err, client.ErrInvalidArgument) || !errors.As(err, &ce2) || !strings.HasPrefix(ce2.Field, "schedule.spec.intervals[0]") {
		t.Errorf("sub-second interval: %v, want ErrInvalidArgument naming schedule.spec.intervals[0]", err)
	}

	bad = hourly("bad")
	bad.Action.Input = func() {}
	_, err = b.sc.Create(ctx, bad)
	if !errors.Is(err, client.ErrInvalidArgument) || !errors.As(err, &ce2) || ce2.Field != "schedule.action.input" {
		t.Errorf("unencodable input: %v, want ErrInvalidArgument for schedule.action.input", err)
	}

	missing := b.sc.GetHandle(ctx, "missing")
	for name, call := range map[string]func() error{
		"Describe": func() error { _, err := missing.Describe(ctx); return err },
		"Pause":    func() error { return missing.Pause(ctx, client.SchedulePauseOptions{}) },
		"Unpause":  func() error { return missing.Unpause(ctx, client.ScheduleUnpauseOptions{}) },
		"Trigger":  func() error { _, err := missing.Trigger(ctx, client.ScheduleTriggerOptions{}); return err },
		"Delete":   func() error { return missing.Delete(ctx) },
		"Update": func() error {
			return missing.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
				return &client.ScheduleUpdate{Schedule: &in.Description.Schedule}, nil
			}})
		},
	} {
		if err := call(); !errors.Is(err, client.ErrNotFound) {
			t.Errorf("%s on a missing schedule: %v, want ErrNotFound", name, err)
		}
	}

	// Nothing that failed was stored.
	var ids []string
	for e, err := range b.sc.List(ctx, client.ScheduleListOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
	}
	if !slices.Equal(ids, []string{"dup"}) {
		t.Errorf("stored schedules = %v, want [dup]", ids)
	}
}

func TestScheduleList(t *testing.T) {
	t.Parallel()
	b := setupSchedules(t, false)
	ctx := t.Context()
	for i, id := range []string{"s0", "s1", "s2", "s3", "s4"} {
		o := hourly(id)
		o.Tags = map[string]string{"parity": []string{"even", "odd"}[i%2]}
		o.Paused = i == 4
		if i == 3 {
			o.Action.Workflow = "other"
		}
		b.create(t, o)
	}
	list := func(opts client.ScheduleListOptions) []string {
		t.Helper()
		var ids []string
		for e, err := range b.sc.List(ctx, opts) {
			if err != nil {
				t.Fatalf("List(%+v): %v", opts, err)
			}
			ids = append(ids, e.ID)
		}
		slices.Sort(ids)
		return ids
	}
	for _, tt := range []struct {
		name string
		opts client.ScheduleListOptions
		want []string
	}{
		{"PagesOfTwo", client.ScheduleListOptions{PageSize: 2}, []string{"s0", "s1", "s2", "s3", "s4"}},
		{"Paused", client.ScheduleListOptions{Paused: client.ScheduleListPaused}, []string{"s4"}},
		{"Active", client.ScheduleListOptions{Paused: client.ScheduleListActive, PageSize: 1}, []string{"s0", "s1", "s2", "s3"}},
		{"Tag", client.ScheduleListOptions{Tags: map[string]string{"parity": "odd"}}, []string{"s1", "s3"}},
		{"WorkflowType", client.ScheduleListOptions{WorkflowType: "other"}, []string{"s3"}},
	} {
		if got := list(tt.opts); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}

	// Breaking out of the loop stops paging; entries carry the summary.
	n := 0
	for e, err := range b.sc.List(ctx, client.ScheduleListOptions{PageSize: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		if e.WorkflowType == "" || e.SpecSummary == "" || e.NextActionTime.IsZero() {
			t.Errorf("entry lacks type, summary or next time: %+v", e)
		}
		n++
		if n == 3 {
			break
		}
	}
	if n != 3 {
		t.Errorf("iterated %d entries, want 3", n)
	}

	// A failing call is yielded once, as an error.
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	errs := 0
	for _, err := range b.sc.List(canceled, client.ScheduleListOptions{}) {
		if err == nil {
			t.Fatal("got an entry from a canceled context")
		}
		errs++
	}
	if errs != 1 {
		t.Errorf("canceled List yielded %d errors, want 1", errs)
	}
}

func TestScheduleUpdate(t *testing.T) {
	t.Parallel()
	b := setupSchedules(t, false)
	ctx := t.Context()
	h := b.create(t, hourly("u"))

	t.Run("Applies", func(t *testing.T) {
		err := h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			s := in.Description.Schedule
			s.Spec.CronExpressions = []string{"@daily"}
			s.Policy.Overlap = schedule.OverlapAllowAll
			return &client.ScheduleUpdate{Schedule: &s}, nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		s := b.describe(t, h).Schedule
		if !slices.Equal(s.Spec.CronExpressions, []string{"@daily"}) || s.Policy.Overlap != schedule.OverlapAllowAll || len(s.Spec.Intervals) != 1 {
			t.Errorf("after update: %+v", s)
		}
	})

	t.Run("Skip", func(t *testing.T) {
		before := b.describe(t, h)
		for _, ret := range []func(client.ScheduleUpdateInput) (*client.ScheduleUpdate, error){
			func(client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
				return nil, client.ErrSkipScheduleUpdate
			},
			func(client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) { return &client.ScheduleUpdate{}, nil },
		} {
			if err := h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: ret}); err != nil {
				t.Errorf("skipped update: %v", err)
			}
		}
		if after := b.describe(t, h); after.ConflictToken != before.ConflictToken {
			t.Errorf("a skipped update changed the schedule")
		}
	})

	t.Run("CallbackError", func(t *testing.T) {
		boom := errors.New("boom")
		err := h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) { return nil, boom }})
		if !errors.Is(err, boom) {
			t.Errorf("got %v, want the callback's error", err)
		}
	})

	t.Run("RetriesOnStaleToken", func(t *testing.T) {
		calls := 0
		err := h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			calls++
			if calls == 1 {
				// Someone else changes the schedule between our read and write.
				if err := h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
					s := in.Description.Schedule
					s.Tags = map[string]string{"other": "writer"}
					return &client.ScheduleUpdate{Schedule: &s}, nil
				}}); err != nil {
					return nil, err
				}
			}
			s := in.Description.Schedule
			s.Policy.Coalesce = true
			return &client.ScheduleUpdate{Schedule: &s}, nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		if calls != 2 {
			t.Errorf("DoUpdate called %d times, want 2", calls)
		}
		s := b.describe(t, h).Schedule
		if !s.Policy.Coalesce || s.Tags["other"] != "writer" {
			t.Errorf("lost an update: %+v", s)
		}
	})

	t.Run("GivesUp", func(t *testing.T) {
		calls := 0
		err := h.Update(ctx, client.ScheduleUpdateOptions{MaxAttempts: 2, DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			calls++
			// Someone else changes the schedule before each of our writes.
			if err := h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
				s := in.Description.Schedule
				s.Tags = map[string]string{"writer": strconv.Itoa(calls)}
				return &client.ScheduleUpdate{Schedule: &s}, nil
			}}); err != nil {
				return nil, err
			}
			s := in.Description.Schedule
			s.State.Note = "mine"
			return &client.ScheduleUpdate{Schedule: &s}, nil
		}})
		if !errors.Is(err, client.ErrConflict) || calls != 2 {
			t.Errorf("got %v after %d calls, want ErrConflict after 2", err, calls)
		}
	})
}

func TestScheduleLifecycle(t *testing.T) {
	t.Parallel()
	b := setupSchedules(t, false)
	ctx := t.Context()
	opts := hourly("life")
	opts.TriggerImmediately = true
	opts.Tags = map[string]string{"team": "a"}
	h := b.create(t, opts)

	d := b.describe(t, h)
	if d.Info.NumActions != 1 || len(d.Info.RecentActions) != 1 || d.Info.RecentActions[0].RunID == "" {
		t.Fatalf("TriggerImmediately: info = %+v", d.Info)
	}
	if st := d.Info.RecentActions[0].Status; st == client.WorkflowStatusUnspecified {
		t.Errorf("recent action has no status")
	}

	res, err := h.Trigger(ctx, client.ScheduleTriggerOptions{Overlap: schedule.OverlapAllowAll})
	if err != nil || res.Outcome != client.ScheduleExecutionStarted || res.RunID == "" {
		t.Errorf("Trigger = %+v, %v", res, err)
	}

	if err := h.Pause(ctx, client.SchedulePauseOptions{Note: "freeze"}); err != nil {
		t.Fatal(err)
	}
	if st := b.describe(t, h).Schedule.State; !st.Paused || st.Note != "freeze" {
		t.Errorf("after Pause: %+v", st)
	}
	if err := h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: "thaw"}); err != nil {
		t.Fatal(err)
	}
	if st := b.describe(t, h).Schedule.State; st.Paused || st.Note != "thaw" {
		t.Errorf("after Unpause: %+v", st)
	}

	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	n, err := h.Backfill(ctx, client.ScheduleBackfillOptions{Backfill: []client.ScheduleBackfill{
		{Start: day, End: day.Add(3 * time.Hour), Overlap: schedule.OverlapAllowAll},
	}})
	if err != nil || n != 3 {
		t.Errorf("Backfill = %d, %v; want 3 nominal times (00:15, 01:15, 02:15)", n, err)
	}
	_, err = h.Backfill(ctx, client.ScheduleBackfillOptions{Backfill: []client.ScheduleBackfill{{Start: day, End: day.Add(-time.Hour)}}})
	if !errors.Is(err, client.ErrInvalidArgument) {
		t.Errorf("inverted backfill: %v, want ErrInvalidArgument", err)
	}

	var outcomes []client.ScheduleExecutionOutcome
	var triggers []client.ScheduleExecutionTrigger
	for e, err := range b.sc.ListExecutions(ctx, client.ScheduleExecutionListOptions{ScheduleID: "life", Ascending: true, PageSize: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		outcomes = append(outcomes, e.Outcome)
		triggers = append(triggers, e.Trigger)
	}
	if len(outcomes) < 2 || triggers[0] != client.ScheduleTriggerManual && triggers[0] != client.ScheduleTriggerBackfill {
		t.Errorf("executions: outcomes %v triggers %v", outcomes, triggers)
	}

	if err := h.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Describe(ctx); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("Describe after Delete: %v, want ErrNotFound", err)
	}
}

func TestScheduleMatchingTimes(t *testing.T) {
	t.Parallel()
	b := setupSchedules(t, false)
	ctx := t.Context()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	want := []time.Time{start.Add(15 * time.Minute), start.Add(75 * time.Minute), start.Add(135 * time.Minute)}

	spec := hourly("").Spec
	got, err := b.sc.ListMatchingTimes(ctx, client.ScheduleMatchingTimesOptions{Spec: &spec, Start: start, Limit: 3})
	if err != nil || !slices.EqualFunc(got, want, time.Time.Equal) {
		t.Errorf("inline spec: %v, %v; want %v", got, err, want)
	}
	h := b.create(t, hourly("m"))
	got, err = h.ListMatchingTimes(ctx, start, 3)
	if err != nil || !slices.EqualFunc(got, want, time.Time.Equal) {
		t.Errorf("stored schedule: %v, %v; want %v", got, err, want)
	}
	bad := schedule.Spec{CronExpressions: []string{"61 * * * *"}}
	if _, err := b.sc.ListMatchingTimes(ctx, client.ScheduleMatchingTimesOptions{Spec: &bad}); !errors.Is(err, client.ErrInvalidArgument) {
		t.Errorf("bad cron: %v, want ErrInvalidArgument", err)
	}
}

func TestSchedulePauseAll(t *testing.T) {
	t.Parallel()
	b := setupSchedules(t, false)
	ctx := t.Context()
	for id, team := range map[string]string{"a1": "a", "a2": "a", "b1": "b"} {
		o := hourly(id)
		o.Tags = map[string]string{"team": team}
		b.create(t, o)
	}
	n, err := b.sc.PauseAll(ctx, client.SchedulePauseAllOptions{Tags: map[string]string{"team": "a"}, Note: "incident"})
	if err != nil || n != 2 {
		t.Errorf("PauseAll team=a = %d, %v; want 2", n, err)
	}
	for id, want := range map[string]bool{"a1": true, "a2": true, "b1": false} {
		if got := b.describe(t, b.sc.GetHandle(ctx, id)).Schedule.State.Paused; got != want {
			t.Errorf("%s paused = %t, want %t", id, got, want)
		}
	}
	n, err = b.sc.ResumeAll(ctx, client.SchedulePauseAllOptions{})
	if err != nil || n != 2 {
		t.Errorf("ResumeAll = %d, %v; want 2", n, err)
	}
}

func TestNewScheduleOptionsRoundTrip(t *testing.T) {
	t.Parallel()
	s := schedule.Schedule{
		Spec:   schedule.Spec{CronExpressions: []string{"@hourly"}, Jitter: time.Second},
		Action: schedule.Action{WorkflowType: "w", TaskQueue: "q", Input: json.RawMessage(`{"a":1}`), Memo: map[string]json.RawMessage{"k": json.RawMessage(`[1]`)}},
		Policy: schedule.Policy{Overlap: schedule.OverlapBufferOne, Coalesce: true},
		State:  schedule.State{Paused: true, Note: "n", LimitedActions: true, RemainingActions: 2},
		Tags:   map[string]string{"t": "v"},
	}
	opts := client.NewScheduleOptions("id", s)
	a, err := opts.Action.ToAction()
	if err != nil {
		t.Fatal(err)
	}
	if string(a.Input) != `{"a":1}` || string(a.Memo["k"]) != `[1]` || a.WorkflowType != "w" || a.TaskQueue != "q" {
		t.Errorf("action = %+v", a)
	}
	if opts.ID != "id" || opts.Overlap != schedule.OverlapBufferOne || !opts.Coalesce || !opts.Paused || opts.Note != "n" || opts.RemainingActions != 2 || opts.Tags["t"] != "v" {
		t.Errorf("options = %+v", opts)
	}
}
