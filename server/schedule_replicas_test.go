package server

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/sundial-dev/sundial/internal/clock"
	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/internal/runs"
	"github.com/sundial-dev/sundial/internal/testredis"
)

// crashyStarter starts runs through a shared fakeStarter but, when crash
// says so, loses the reply after the run started: the replica "dies"
// between the start and its commit.
type crashyStarter struct {
	*fakeStarter
	crash   func() bool
	crashed *sync.Map // schedule ids that crashed
}

func (c crashyStarter) Start(ctx context.Context, req runs.StartRequest) (runs.StartResult, error) {
	res, err := c.fakeStarter.Start(ctx, req)
	if err == nil && !res.Existing && c.crash() {
		c.crashed.Store(req.Origin.ScheduleID, true)
		return runs.StartResult{}, errors.New("replica crashed after the start")
	}
	return res, err
}

// TestScheduleReplicasExactlyOnce runs three scheduler replicas on one real
// Redis with one fake clock. Replicas stop and start between passes and
// crash between starting a run and committing it; every nominal fire must
// start exactly one run, and none may be missed.
func TestScheduleReplicasExactlyOnce(t *testing.T) {
	t.Parallel()
	rb := testredis.Real(t)
	clk := clock.NewFake(t0)
	shared := newFakeStarter()
	rng := rand.New(rand.NewPCG(1, 2))
	var rngMu sync.Mutex
	chance := func(p float64) bool {
		rngMu.Lock()
		defer rngMu.Unlock()
		return rng.Float64() < p
	}
	var crashes atomic.Int64
	var calm atomic.Bool // no more crashes
	var crashed sync.Map
	var replicas []*schedBundle
	for i := range 3 {
		st := crashyStarter{fakeStarter: shared, crashed: &crashed, crash: func() bool {
			if !calm.Load() && chance(0.03) {
				crashes.Add(1)
				return true
			}
			return false
		}}
		b := schedSetupReplica(t, rb, clk, newFakeStarter(), fmt.Sprintf("replica-%d", i))
		// Rebuild the component around the crashing starter.
		cfg := *b.comp.cfg
		comp, err := newSchedulesComponent(&cfg, st)
		if err != nil {
			t.Fatal(err)
		}
		b.comp, b.h, b.starter = comp, comp.handler, shared
		replicas = append(replicas, b)
	}
	const schedules, steps = 20, 30
	for i := range schedules {
		s := basicSchedule(overlap(pb.OverlapPolicy_OVERLAP_POLICY_ALLOW_ALL))
		s.Spec.CronExpressions = []string{"@every 10s"}
		replicas[i%3].create(t, fmt.Sprintf("r%02d", i), s)
	}
	for range steps {
		clk.Advance(10 * time.Second)
		var wg sync.WaitGroup
		alive := 0
		for i, r := range replicas {
			if !chance(0.6) && !(i == 2 && alive == 0) {
				continue // this replica is stopped for this pass
			}
			alive++
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = r.comp.tick(context.Background()) // crashed fires report errors; they are retried
			}()
		}
		wg.Wait()
	}
	// Let every in-flight claim expire and be recovered, with all replicas up.
	calm.Store(true)
	clk.Advance(claimLease + time.Second)
	for _, r := range replicas {
		if _, err := r.comp.tick(context.Background()); err != nil {
			t.Fatalf("recovery pass: %v", err)
		}
	}
	end := t0.Add(claimLease + time.Second + steps*10*time.Second)
	want := 0
	for i := range schedules {
		id := fmt.Sprintf("r%02d", i)
		for n := t0.Add(10 * time.Second); !n.After(end); n = n.Add(10 * time.Second) {
			want++
			if shared.status(id+"-"+n.Format(time.RFC3339)) == runs.StatusUnspecified {
				t.Errorf("fire %s at %s was missed", id, n.Format(time.RFC3339))
			}
		}
		res, err := replicas[0].h.ListScheduleExecutions(context.Background(), connect.NewRequest(&pb.ListScheduleExecutionsRequest{
			Namespace: rb.Namespace, ScheduleId: id, Outcomes: []pb.ExecutionOutcome{pb.ExecutionOutcome_EXECUTION_OUTCOME_STARTED}, PageSize: 1000}))
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int64]bool{}
		for _, e := range res.Msg.GetExecutions() {
			sec := e.GetNominalTime().GetSeconds()
			if seen[sec] {
				t.Errorf("%s: nominal %d recorded twice", id, sec)
			}
			seen[sec] = true
		}
	}
	if got := len(shared.started()); got != want {
		t.Fatalf("%d runs started, want %d (one per nominal fire)", got, want)
	}
	// A repeated start is legitimate only when a crash made a claim be
	// processed again; otherwise two replicas fired the same time.
	for _, o := range shared.origins {
		if _, ok := crashed.Load(o.ScheduleID); !ok {
			t.Errorf("%s at %s was started twice without a crash", o.ScheduleID, o.NominalTime.Format(time.RFC3339))
		}
	}
	if crashes.Load() == 0 {
		t.Fatal("no crash was injected; the test proves nothing about recovery")
	}
	t.Logf("%d fires, %d crashes recovered, %d repeated starts deduplicated", want, crashes.Load(), shared.existing)
}
