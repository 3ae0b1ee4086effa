package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/sundial-dev/sundial/internal/clock"
	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/internal/runs"
	"github.com/sundial-dev/sundial/internal/testredis"
)

// fakeStarter is an in-memory runs.Starter: it records starts, dedupes on
// workflow id (IfNotExists) and lets a test close runs.
type fakeStarter struct {
	mu       sync.Mutex
	runs     map[string]*fakeRun // by workflow id
	order    []string            // workflow ids in start order
	existing int                 // Start calls that found a run
	origins  []runs.Origin       // the origins of those calls
	canceled []string
	// failAfterStart, when set, makes Start return this error after it
	// started the run (a reply lost in a crash).
	failAfterStart func(wf string) error
	// failBefore, when set, makes Start fail without starting.
	failBefore func(wf string) error
	// stopErr, when set, is what Cancel and Terminate return (after
	// recording the call): runs.ErrAlreadyClosed plays a run that closed
	// between the scheduler's Status check and its cancel.
	stopErr error
}

type fakeRun struct {
	id     string
	status runs.Status
	req    runs.StartRequest
}

func newFakeStarter() *fakeStarter { return &fakeStarter{runs: map[string]*fakeRun{}} }

func (f *fakeStarter) Start(_ context.Context, req runs.StartRequest) (runs.StartResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failBefore != nil {
		if err := f.failBefore(req.WorkflowID); err != nil {
			return runs.StartResult{}, err
		}
	}
	if r, ok := f.runs[req.WorkflowID]; ok {
		if !req.IfNotExists {
			return runs.StartResult{}, runs.ErrAlreadyStarted
		}
		f.existing++
		f.origins = append(f.origins, req.Origin)
		return runs.StartResult{RunID: r.id, Existing: true}, nil
	}
	r := &fakeRun{id: fmt.Sprintf("run-%d", len(f.order)+1), status: runs.StatusRunning, req: req}
	f.runs[req.WorkflowID] = r
	f.order = append(f.order, req.WorkflowID)
	if f.failAfterStart != nil {
		if err := f.failAfterStart(req.WorkflowID); err != nil {
			return runs.StartResult{}, err
		}
	}
	return runs.StartResult{RunID: r.id}, nil
}

func (f *fakeStarter) Statuses(_ context.Context, _ string, refs []runs.RunRef) ([]runs.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]runs.Status, len(refs))
	for i, ref := range refs {
		if r, ok := f.runs[ref.WorkflowID]; ok && r.id == ref.RunID {
			out[i] = r.status
		}
	}
	return out, nil
}

func (f *fakeStarter) Cancel(_ context.Context, _, wf, _, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.canceled = append(f.canceled, wf)
	return f.stopErr
}

func (f *fakeStarter) Terminate(_ context.Context, _, wf, _, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopErr != nil {
		return f.stopErr
	}
	if r, ok := f.runs[wf]; ok && !r.status.Closed() {
		r.status = runs.StatusTerminated
	}
	return nil
}

// close closes a run and returns the event the run store would deliver.
func (f *fakeStarter) close(wf string, st runs.Status) runs.Closed {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.runs[wf]
	r.status = st
	ev := runs.Closed{Namespace: r.req.Namespace, WorkflowID: wf, RunID: r.id, ScheduleID: r.req.Origin.ScheduleID, NominalTime: r.req.Origin.NominalTime, Status: st}
	if st == runs.StatusFailed {
		ev.FailureMessage = "boom"
	}
	return ev
}

// started returns the workflow ids started so far, in order.
func (f *fakeStarter) started() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.order...)
}

func (f *fakeStarter) status(wf string) runs.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.runs[wf]; ok {
		return r.status
	}
	return runs.StatusUnspecified
}

// schedBundle is what a schedule test works with.
type schedBundle struct {
	redis   *testredis.Bundle
	clock   *clock.Fake
	starter *fakeStarter
	comp    *schedulesComponent
	h       *scheduleHandler
	ns      string
}

// t0 is the fake clock's start: a round minute, so interval fires are easy to name.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func schedSetup(t testing.TB, rb *testredis.Bundle) *schedBundle {
	t.Helper()
	return schedSetupReplica(t, rb, clock.NewFake(t0), newFakeStarter(), "r1")
}

func schedSetupReplica(t testing.TB, rb *testredis.Bundle, clk *clock.Fake, st *fakeStarter, replica string) *schedBundle {
	t.Helper()
	b := schedSetupWith(t, rb, clk, st, replica)
	b.starter = st
	return b
}

// schedSetupWith is schedSetupReplica with any starter; the bundle's
// starter field is left nil.
func schedSetupWith(t testing.TB, rb *testredis.Bundle, clk *clock.Fake, st runs.Starter, replica string) *schedBundle {
	t.Helper()
	comp, err := newSchedulesComponent(schedConfig(rb, clk, replica), st)
	if err != nil {
		t.Fatal(err)
	}
	return &schedBundle{redis: rb, clock: clk, comp: comp, h: comp.handler, ns: rb.Namespace}
}

// schedConfig is a test server's configuration on rb for replica.
func schedConfig(rb *testredis.Bundle, clk *clock.Fake, replica string) *Config {
	cfg := Config{Redis: rb.Client, KeyPrefix: rb.Prefix, Clock: clk, Partitions: 4, ReplicaID: replica,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}.WithDefaults()
	return &cfg
}

// basicSchedule fires every minute, starting "wf" on queue "q".
func basicSchedule(mut ...func(*pb.Schedule)) *pb.Schedule {
	s := &pb.Schedule{
		Spec:   &pb.ScheduleSpec{CronExpressions: []string{"@every 1m"}},
		Action: &pb.StartWorkflowAction{WorkflowType: "wf", TaskQueue: "q"},
	}
	for _, m := range mut {
		m(s)
	}
	return s
}

func (b *schedBundle) create(t *testing.T, id string, s *pb.Schedule) string {
	t.Helper()
	res, err := b.h.CreateSchedule(context.Background(), connect.NewRequest(&pb.CreateScheduleRequest{Namespace: b.ns, ScheduleId: id, Schedule: s}))
	if err != nil {
		t.Fatalf("create %s: %v", id, err)
	}
	return res.Msg.GetConflictToken()
}

func (b *schedBundle) describe(t *testing.T, id string) *pb.DescribeScheduleResponse {
	t.Helper()
	res, err := b.h.DescribeSchedule(context.Background(), connect.NewRequest(&pb.DescribeScheduleRequest{Namespace: b.ns, ScheduleId: id}))
	if err != nil {
		t.Fatalf("describe %s: %v", id, err)
	}
	return res.Msg
}

// advance moves the clock and runs one scheduler pass.
func (b *schedBundle) advance(t *testing.T, d time.Duration) {
	t.Helper()
	b.clock.Advance(d)
	b.tick(t)
}

func (b *schedBundle) tick(t *testing.T) {
	t.Helper()
	if _, err := b.comp.tick(context.Background()); err != nil {
		t.Fatalf("tick: %v", err)
	}
}

func (b *schedBundle) closeRun(t *testing.T, wf string, st runs.Status) {
	t.Helper()
	if err := b.comp.closedHandler()(context.Background(), b.starter.close(wf, st)); err != nil {
		t.Fatalf("closed handler: %v", err)
	}
}

func (b *schedBundle) executions(t *testing.T, id string, outcomes ...pb.ExecutionOutcome) []*pb.ScheduleExecution {
	t.Helper()
	res, err := b.h.ListScheduleExecutions(context.Background(), connect.NewRequest(&pb.ListScheduleExecutionsRequest{Namespace: b.ns, ScheduleId: id, Outcomes: outcomes, Ascending: true, PageSize: 1000}))
	if err != nil {
		t.Fatalf("executions: %v", err)
	}
	return res.Msg.GetExecutions()
}

// wfAt names the workflow id of a fire of base at t0+d.
func wfAt(base string, d time.Duration) string {
	return base + "-" + t0.Add(d).Format(time.RFC3339)
}

func forEachBackend(t *testing.T, fn func(t *testing.T, b *schedBundle)) {
	t.Helper()
	for _, be := range testredis.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, schedSetup(t, be.New(t)))
		})
	}
}
