package server

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sundial-dev/sundial/internal/clock"
	"github.com/sundial-dev/sundial/internal/runs"
	"github.com/sundial-dev/sundial/internal/testredis"
)

// TestConfigRunRetentionDeletesClosedRuns checks that Config.RunRetention
// reaches the run store: a closed run is kept until the retention has passed
// on the server's clock, then deleted by the timer pass.
func TestConfigRunRetentionDeletesClosedRuns(t *testing.T) {
	t.Parallel()
	b := testredis.New(t)
	fc := clock.NewFake(runsEpoch)
	srv, err := New(Config{Redis: b.Client, KeyPrefix: b.Prefix, Clock: fc, DisableLoops: true, Partitions: 4, RunRetention: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st := srv.runs.starter()
	res, err := st.Start(ctx, runsStartReq(b.Namespace, "wf-retention"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Terminate(ctx, b.Namespace, "wf-retention", res.RunID, "closing it for the test"); err != nil {
		t.Fatal(err)
	}

	fc.Advance(59 * time.Minute)
	if err := srv.runs.tick(ctx); err != nil {
		t.Fatal(err)
	}
	if r, err := srv.runs.store.Get(ctx, b.Namespace, "wf-retention", res.RunID); err != nil || r.Status != runs.StatusTerminated {
		t.Fatalf("before the retention passed: run %+v, %v; want TERMINATED", r, err)
	}

	fc.Advance(2 * time.Minute)
	if err := srv.runs.tick(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.runs.store.Get(ctx, b.Namespace, "wf-retention", res.RunID); !errors.Is(err, runs.ErrNotFound) {
		t.Fatalf("after the retention passed: got %v, want runs.ErrNotFound", err)
	}
}
