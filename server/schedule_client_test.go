package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundial-dev/sundial/internal/clock"
	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/internal/gen/sundial/v1/sundialv1connect"
	"github.com/sundial-dev/sundial/internal/testredis"
)

// stackBundle is the real server (every component, real run store) behind
// an in-process HTTP/2 test server, with a Connect and a gRPC client.
type stackBundle struct {
	srv     *Server
	clock   *clock.Fake
	ns      string
	connect sundialv1connect.ScheduleServiceClient
	grpc    sundialv1connect.ScheduleServiceClient
	// http and url reach the test server directly (/metrics).
	http *http.Client
	url  string
}

// maxTestRequest is the request size limit of the test stack.
const maxTestRequest = 16 << 10

func stackSetup(t *testing.T) *stackBundle {
	t.Helper()
	rb := testredis.New(t)
	clk := clock.NewFake(t0)
	s, err := New(Config{Redis: rb.Client, KeyPrefix: rb.Prefix, Clock: clk, DisableLoops: true, Partitions: 4,
		MaxRequestBytes: maxTestRequest, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(s.Handler())
	hs.EnableHTTP2 = true
	hs.StartTLS()
	t.Cleanup(hs.Close)
	return &stackBundle{
		srv: s, clock: clk, ns: rb.Namespace, http: hs.Client(), url: hs.URL,
		connect: sundialv1connect.NewScheduleServiceClient(hs.Client(), hs.URL),
		grpc:    sundialv1connect.NewScheduleServiceClient(hs.Client(), hs.URL, connect.WithGRPC()),
	}
}

func TestScheduleClientsEndToEnd(t *testing.T) {
	t.Parallel()
	b := stackSetup(t)
	ctx := context.Background()
	for name, c := range map[string]sundialv1connect.ScheduleServiceClient{"connect": b.connect, "grpc": b.grpc} {
		t.Run(name, func(t *testing.T) {
			id := "e2e-" + name
			_, err := c.CreateSchedule(ctx, connect.NewRequest(&pb.CreateScheduleRequest{Namespace: b.ns, ScheduleId: id, Schedule: basicSchedule(overlap(pb.OverlapPolicy_OVERLAP_POLICY_ALLOW_ALL))}))
			if err != nil {
				t.Fatal(err)
			}
			d, err := c.DescribeSchedule(ctx, connect.NewRequest(&pb.DescribeScheduleRequest{Namespace: b.ns, ScheduleId: id}))
			if err != nil || d.Msg.GetConflictToken() == "" {
				t.Fatalf("describe: %v %v", d, err)
			}
			_, err = c.CreateSchedule(ctx, connect.NewRequest(&pb.CreateScheduleRequest{Namespace: b.ns, ScheduleId: id, Schedule: basicSchedule()}))
			if connect.CodeOf(err) != connect.CodeAlreadyExists {
				t.Fatalf("duplicate: %v", err)
			}
			tr, err := c.TriggerSchedule(ctx, connect.NewRequest(&pb.TriggerScheduleRequest{Namespace: b.ns, ScheduleId: id}))
			if err != nil || tr.Msg.GetRunId() == "" || tr.Msg.GetOutcome() != pb.ExecutionOutcome_EXECUTION_OUTCOME_STARTED {
				t.Fatalf("trigger through the real run store: %v %v", tr, err)
			}
			_, err = c.DeleteSchedule(ctx, connect.NewRequest(&pb.DeleteScheduleRequest{Namespace: b.ns, ScheduleId: id}))
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestScheduleFiresThroughRealRunStore runs one scheduled fire on the real
// server stack: the run store starts the run and dedupes a re-fire.
func TestScheduleFiresThroughRealRunStore(t *testing.T) {
	t.Parallel()
	b := stackSetup(t)
	ctx := context.Background()
	_, err := b.connect.CreateSchedule(ctx, connect.NewRequest(&pb.CreateScheduleRequest{Namespace: b.ns, ScheduleId: "real", Schedule: basicSchedule()}))
	if err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(time.Minute)
	if _, err := b.srv.schedules.tick(ctx); err != nil {
		t.Fatal(err)
	}
	d, err := b.connect.DescribeSchedule(ctx, connect.NewRequest(&pb.DescribeScheduleRequest{Namespace: b.ns, ScheduleId: "real"}))
	if err != nil {
		t.Fatal(err)
	}
	ra := d.Msg.GetInfo().GetRecentActions()
	if len(ra) != 1 || ra[0].GetWorkflowId() != wfAt("real", time.Minute) || ra[0].GetRunId() == "" {
		t.Fatalf("recent actions %v", ra)
	}
	if s := ra[0].GetStatus(); s == pb.WorkflowStatus_WORKFLOW_STATUS_UNSPECIFIED || s >= pb.WorkflowStatus_WORKFLOW_STATUS_COMPLETED {
		t.Fatalf("run status %v", s)
	}
}

// A fire shows in /metrics: the outcome counter and the lag histogram.
func TestScheduleFireMetrics(t *testing.T) {
	t.Parallel()
	b := stackSetup(t)
	ctx := context.Background()
	_, err := b.connect.CreateSchedule(ctx, connect.NewRequest(&pb.CreateScheduleRequest{Namespace: b.ns, ScheduleId: "met", Schedule: basicSchedule()}))
	if err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(time.Minute)
	if _, err := b.srv.schedules.tick(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := b.http.Get(b.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`sundial_schedule_fires_total{outcome="STARTED"} 1`, "sundial_schedule_fire_lag_seconds_count 1"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestScheduleBadInput(t *testing.T) {
	t.Parallel()
	b := stackSetup(t)
	ctx := context.Background()
	c := b.connect
	_, err := c.CreateSchedule(ctx, connect.NewRequest(&pb.CreateScheduleRequest{Namespace: b.ns, ScheduleId: "keep", Schedule: basicSchedule()}))
	if err != nil {
		t.Fatal(err)
	}
	describe := func() *pb.DescribeScheduleResponse {
		d, err := c.DescribeSchedule(ctx, connect.NewRequest(&pb.DescribeScheduleRequest{Namespace: b.ns, ScheduleId: "keep"}))
		if err != nil {
			t.Fatal(err)
		}
		return d.Msg
	}
	before := describe()
	create := func(id string, mut func(*pb.Schedule)) func() error {
		return func() error {
			_, err := c.CreateSchedule(ctx, connect.NewRequest(&pb.CreateScheduleRequest{Namespace: b.ns, ScheduleId: id, Schedule: basicSchedule(mut)}))
			return err
		}
	}
	update := func(tok string, mut func(*pb.Schedule)) func() error {
		return func() error {
			_, err := c.UpdateSchedule(ctx, connect.NewRequest(&pb.UpdateScheduleRequest{Namespace: b.ns, ScheduleId: "keep", Schedule: basicSchedule(mut), ConflictToken: tok}))
			return err
		}
	}
	backfill := func(start, end time.Time) func() error {
		return func() error {
			_, err := c.BackfillSchedule(ctx, connect.NewRequest(&pb.BackfillScheduleRequest{Namespace: b.ns, ScheduleId: "keep",
				Ranges: []*pb.BackfillRange{{StartTime: timestamppb.New(start), EndTime: timestamppb.New(end)}}}))
			return err
		}
	}
	noop := func(*pb.Schedule) {}
	tests := []struct {
		name  string
		call  func() error
		code  connect.Code
		field string
	}{
		{"empty id", create("", noop), connect.CodeInvalidArgument, "schedule_id"},
		{"long id", create(strings.Repeat("x", 201), noop), connect.CodeInvalidArgument, "schedule_id"},
		{"bad namespace", func() error {
			_, err := c.CreateSchedule(ctx, connect.NewRequest(&pb.CreateScheduleRequest{Namespace: "no spaces", ScheduleId: "x", Schedule: basicSchedule()}))
			return err
		}, connect.CodeInvalidArgument, "namespace"},
		{"empty workflow type", create("x", func(s *pb.Schedule) { s.Action.WorkflowType = "" }), connect.CodeInvalidArgument, "schedule.action.workflow_type"},
		{"long workflow type", create("x", func(s *pb.Schedule) { s.Action.WorkflowType = strings.Repeat("t", 300) }), connect.CodeInvalidArgument, "schedule.action.workflow_type"},
		{"missing action", create("x", func(s *pb.Schedule) { s.Action = nil }), connect.CodeInvalidArgument, "schedule.action"},
		{"unknown zone", create("x", func(s *pb.Schedule) { s.Spec.TimeZone = "Mars/Olympus" }), connect.CodeInvalidArgument, "schedule.spec.time_zone"},
		{"invalid cron", create("x", func(s *pb.Schedule) { s.Spec.CronExpressions = []string{"61 * * * *"} }), connect.CodeInvalidArgument, "schedule.spec.cron_expressions[0]"},
		{"interval below 1s", create("x", func(s *pb.Schedule) {
			s.Spec = &pb.ScheduleSpec{Intervals: []*pb.IntervalSpec{{Every: durationpb.New(500 * time.Millisecond)}}}
		}), connect.CodeInvalidArgument, "schedule.spec.intervals[0]"},
		{"offset not below interval", create("x", func(s *pb.Schedule) {
			s.Spec = &pb.ScheduleSpec{Intervals: []*pb.IntervalSpec{{Every: durationpb.New(time.Minute), Offset: durationpb.New(time.Minute)}}}
		}), connect.CodeInvalidArgument, "schedule.spec.intervals[0].offset"},
		{"negative jitter", create("x", func(s *pb.Schedule) { s.Spec.Jitter = durationpb.New(-time.Second) }), connect.CodeInvalidArgument, "schedule.spec.jitter"},
		{"end before start", create("x", func(s *pb.Schedule) {
			s.Spec.StartTime, s.Spec.EndTime = timestamppb.New(t0.Add(time.Hour)), timestamppb.New(t0)
		}), connect.CodeInvalidArgument, "schedule.spec"},
		{"unknown overlap", create("x", func(s *pb.Schedule) { s.Policy = &pb.SchedulePolicy{Overlap: 99} }), connect.CodeInvalidArgument, "schedule.policy.overlap"},
		{"short catchup window", create("x", func(s *pb.Schedule) { s.Policy = &pb.SchedulePolicy{CatchupWindow: durationpb.New(time.Second)} }), connect.CodeInvalidArgument, "schedule.policy.catchup_window"},
		{"negative remaining", create("x", func(s *pb.Schedule) { s.State = &pb.ScheduleState{LimitedActions: true, RemainingActions: -1} }), connect.CodeInvalidArgument, "schedule.state.remaining_actions"},
		{"duplicate", create("keep", noop), connect.CodeAlreadyExists, ""},
		{"stale token", update("999", func(s *pb.Schedule) { s.Spec.CronExpressions = []string{"@every 1h"} }), connect.CodeFailedPrecondition, ""},
		{"invalid update", update("", func(s *pb.Schedule) { s.Spec.CronExpressions = []string{"bad"} }), connect.CodeInvalidArgument, "schedule.spec.cron_expressions[0]"},
		{"missing schedule", func() error {
			_, err := c.DescribeSchedule(ctx, connect.NewRequest(&pb.DescribeScheduleRequest{Namespace: b.ns, ScheduleId: "nope"}))
			return err
		}, connect.CodeNotFound, ""},
		{"inverted backfill", backfill(t0, t0.Add(-time.Hour)), connect.CodeInvalidArgument, "ranges[0].end_time"},
		{"backfill over the limit", backfill(t0.Add(-30*24*time.Hour), t0), connect.CodeInvalidArgument, "ranges[0]"},
		{"page size", func() error {
			_, err := c.ListSchedules(ctx, connect.NewRequest(&pb.ListSchedulesRequest{Namespace: b.ns, PageSize: 5000}))
			return err
		}, connect.CodeInvalidArgument, "page_size"},
		{"bad page token", func() error {
			_, err := c.ListSchedules(ctx, connect.NewRequest(&pb.ListSchedulesRequest{Namespace: b.ns, PageToken: "garbage"}))
			return err
		}, connect.CodeInvalidArgument, "page_token"},
		{"over the size limit", create("big", func(s *pb.Schedule) {
			s.Tags = map[string]string{"k": strings.Repeat("v", 250)}
			s.Spec.CronExpressions = make([]string, 200)
			for i := range s.Spec.CronExpressions {
				s.Spec.CronExpressions[i] = "@every 1m" + strings.Repeat(" ", 100)
			}
		}), connect.CodeResourceExhausted, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if connect.CodeOf(err) != tc.code {
				t.Fatalf("code %v (%v), want %v", connect.CodeOf(err), err, tc.code)
			}
			if tc.field != "" && !strings.Contains(err.Error(), tc.field+":") && !strings.Contains(err.Error(), tc.field+".") {
				t.Fatalf("error %q does not name field %q", err, tc.field)
			}
		})
	}
	after := describe()
	if after.GetConflictToken() != before.GetConflictToken() || after.GetInfo().GetActionCount() != 0 {
		t.Fatalf("bad input changed the schedule: token %s -> %s", before.GetConflictToken(), after.GetConflictToken())
	}
	l, err := c.ListSchedules(ctx, connect.NewRequest(&pb.ListSchedulesRequest{Namespace: b.ns}))
	if err != nil || len(l.Msg.GetSchedules()) != 1 {
		t.Fatalf("bad input created schedules: %v %v", l, err)
	}
}
