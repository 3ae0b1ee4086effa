package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/internal/runs"
	"github.com/sundial-dev/sundial/internal/runstore"
	"github.com/sundial-dev/sundial/internal/testsync"
)

// TestRunClosedEventsReachScheduler: every closed run a schedule started is
// handed to the closed handler, again after the handler fails, and never
// again after it succeeded; runs without a schedule are not.
func TestRunClosedEventsReachScheduler(t *testing.T) {
	t.Parallel()
	forEachRunsBackend(t, func(t *testing.T, rb *runsBundle) {
		ctx := context.Background()
		var mu sync.Mutex
		var got []runs.Closed
		failNext := true
		rb.rc.setClosedHandler(func(_ context.Context, ev runs.Closed) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, ev)
			if failNext {
				failNext = false
				return errors.New("scheduler busy")
			}
			return nil
		})
		st := rb.rc.starter()
		res, err := st.Start(ctx, runsStartReq(rb.ns, "s-1"))
		if err != nil {
			t.Fatal(err)
		}
		rb.start(t, &pb.StartWorkflowRequest{WorkflowId: "manual"})
		for range 2 {
			task := rb.poll(t, "", 1, time.Second)[0]
			if err := rb.complete(t, task.TaskToken, nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := rb.rc.tick(ctx); err == nil {
			t.Fatal("tick hid the handler's error")
		}
		rb.tick(t)
		rb.tick(t)
		mu.Lock()
		defer mu.Unlock()
		if len(got) != 2 {
			t.Fatalf("handler saw %d events, want 2 (one failed, one redelivery): %+v", len(got), got)
		}
		for _, ev := range got {
			if ev.RunID != res.RunID || ev.ScheduleID != "sched-1" || ev.Status != runs.StatusCompleted || !ev.NominalTime.Equal(runsEpoch) || !ev.CloseTime.Equal(runsEpoch) {
				t.Fatalf("event = %+v", ev)
			}
		}
	})
}

// TestClosedEventsOfOneScheduleAreHandledOneAtATime: a pass hands the
// events of different schedules to the handler at once (the first event of
// each waits until one of every schedule is in the handler), but never two
// of one schedule, and every event is handled and acknowledged once.
func TestClosedEventsOfOneScheduleAreHandledOneAtATime(t *testing.T) {
	t.Parallel()
	forEachRunsBackend(t, func(t *testing.T, rb *runsBundle) {
		ctx := context.Background()
		const schedules, perSchedule = 4, 5
		var (
			mu     sync.Mutex
			busy   = map[string]bool{}
			seen   = map[string]int{}
			errOut error
			ready  = make(chan struct{}) // closed once every schedule is in the handler
			all    bool
		)
		rb.rc.setClosedHandler(func(_ context.Context, ev runs.Closed) error {
			mu.Lock()
			if busy[ev.ScheduleID] {
				errOut = errors.Join(errOut, fmt.Errorf("two events of schedule %s handled at once", ev.ScheduleID))
			}
			busy[ev.ScheduleID] = true
			seen[ev.WorkflowID]++
			if !all && len(busy) == schedules {
				all = true
				close(ready)
			}
			mu.Unlock()
			select {
			case <-ready:
			case <-time.After(testsync.Timeout):
				mu.Lock()
				errOut = errors.Join(errOut, errors.New("the schedules' events were not handled at once"))
				if !all { // fail once, not once per event
					all = true
					close(ready)
				}
				mu.Unlock()
			}
			mu.Lock()
			delete(busy, ev.ScheduleID)
			mu.Unlock()
			return nil
		})
		st := rb.rc.starter()
		for i := range schedules * perSchedule {
			req := runsStartReq(rb.ns, fmt.Sprint("c-", i))
			req.Origin.ScheduleID = fmt.Sprint("sched-", i%schedules)
			if _, err := st.Start(ctx, req); err != nil {
				t.Fatal(err)
			}
		}
		for _, task := range rb.poll(t, "", schedules*perSchedule, time.Second) {
			if err := rb.complete(t, task.TaskToken, nil); err != nil {
				t.Fatal(err)
			}
		}
		rb.tick(t)
		rb.tick(t) // acknowledged events are not handed out again
		mu.Lock()
		defer mu.Unlock()
		if errOut != nil {
			t.Fatal(errOut)
		}
		if len(seen) != schedules*perSchedule {
			t.Fatalf("handler saw %d runs, want %d", len(seen), schedules*perSchedule)
		}
		for wf, n := range seen {
			if n != 1 {
				t.Fatalf("run %s handled %d times, want once", wf, n)
			}
		}
	})
}

// BenchmarkDeliverClosed hands the closed-run events of 1,000 runs of 100
// schedules to a handler that makes one Redis round trip (the scheduler's
// makes a few), and reports events per second.
func BenchmarkDeliverClosed(b *testing.B) {
	rb := setupRuns(b, nil)
	ctx := context.Background()
	var handled atomic.Int64
	rb.rc.setClosedHandler(func(ctx context.Context, ev runs.Closed) error {
		handled.Add(1)
		return rb.redis.Client.Exists(ctx, rb.redis.Prefix+":none").Err()
	})
	const n, schedules = 1000, 100
	st := rb.rc.store
	for i := range b.N {
		b.StopTimer()
		reqs := make([]runs.StartRequest, n)
		for j := range reqs {
			reqs[j] = runsStartReq(rb.ns, fmt.Sprint("dc-", i, "-", j))
			reqs[j].Origin.ScheduleID = fmt.Sprint("sched-", j%schedules)
		}
		for _, o := range st.StartMany(ctx, reqs) {
			if o.Err != nil {
				b.Fatal(o.Err)
			}
		}
		var cs []runstore.Completion
		for p := range st.Partitions() {
			ts, err := st.Claim(ctx, rb.ns, "q1", p, n, "bench")
			if err != nil {
				b.Fatal(err)
			}
			for _, task := range ts {
				ref, err := runstore.ParseToken(task.Token)
				if err != nil {
					b.Fatal(err)
				}
				cs = append(cs, runstore.Completion{Ref: ref})
			}
		}
		for _, err := range st.CompleteMany(ctx, cs) {
			if err != nil {
				b.Fatal(err)
			}
		}
		handled.Store(0)
		b.StartTimer()
		for handled.Load() < n {
			if err := rb.rc.deliverClosed(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
}
