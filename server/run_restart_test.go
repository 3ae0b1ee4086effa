package server

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/redis/go-redis/v9"

	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/internal/testredis"
)

// TestRunRedisRestartLosesNoAcknowledgedStart kills the server's own
// redis-server (AOF, fsync always) in the middle of a stream of starts and
// restarts it: every start that was acknowledged must still be there.
func TestRunRedisRestartLosesNoAcknowledgedStart(t *testing.T) {
	t.Parallel()
	rs := testredis.StartServer(t)
	client := redis.NewClient(&redis.Options{Addr: rs.Addr(), MaxRetries: -1, DialTimeout: time.Second, ReadTimeout: time.Second})
	t.Cleanup(func() { _ = client.Close() })
	rb := setupRuns(t, &testredis.Bundle{Client: client, Prefix: "restart", Namespace: "ns-restart", Backend: "redis"})

	const before, after, writers = 100, 100, 4
	var (
		mu       sync.Mutex
		acked    = map[string]string{} // workflow id -> run id
		failures int
	)
	ackedCount := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	stop := make(chan struct{})
	progress := make(chan struct{}, 1)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				wf := fmt.Sprintf("w%d-%d", w, i)
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				res, err := rb.workflow.StartWorkflow(ctx, connect.NewRequest(&pb.StartWorkflowRequest{
					Namespace: rb.ns, WorkflowId: wf, WorkflowType: "T", TaskQueue: "q1",
				}))
				cancel()
				mu.Lock()
				if err == nil {
					acked[wf] = res.Msg.RunId
				} else {
					failures++
				}
				mu.Unlock()
				select {
				case progress <- struct{}{}:
				default:
				}
			}
		})
	}
	waitFor := func(n int) {
		t.Helper()
		deadline := time.After(60 * time.Second)
		for ackedCount() < n {
			select {
			case <-progress:
			case <-deadline:
				t.Fatalf("only %d starts acknowledged, waiting for %d", ackedCount(), n)
			}
		}
	}
	waitFor(before)
	rs.Kill()
	atKill := ackedCount()
	rs.Start()
	waitFor(atKill + after)
	close(stop)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d starts acknowledged, %d failed while Redis was down", len(acked), failures)
	for wf, rid := range acked {
		r := rb.describe(t, wf, "")
		if r.RunId != rid || r.Status != pb.WorkflowStatus_WORKFLOW_STATUS_PENDING {
			t.Errorf("%s: got run %s (%s), want acknowledged run %s PENDING", wf, r.RunId, r.Status, rid)
		}
	}
	lens, err := rb.rc.store.QueueLengths(context.Background(), rb.ns, "q1")
	if err != nil {
		t.Fatal(err)
	}
	var queued int64
	for _, n := range lens {
		queued += n
	}
	if queued < int64(len(acked)) {
		t.Errorf("%d entries queued, want at least the %d acknowledged starts", queued, len(acked))
	}
}
