package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"connectrpc.com/connect"

	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/internal/testsync"
)

// gatedService holds its first ReportTasks calls until release closes, so
// a test can make reports queue up behind them.
type gatedService struct {
	*fakeService
	release chan struct{}
	entered chan struct{}
	mu      sync.Mutex
	held    int
}

func (g *gatedService) ReportTasks(ctx context.Context, req *connect.Request[pb.ReportTasksRequest]) (*connect.Response[pb.ReportTasksResponse], error) {
	g.mu.Lock()
	hold := g.held < maxReportsInFlight
	g.held++
	g.mu.Unlock()
	if hold {
		g.entered <- struct{}{}
		<-g.release
	}
	return g.fakeService.ReportTasks(ctx, req)
}

// TestReportsAreBatchedWhileCallsAreOut: reports made while
// maxReportsInFlight ReportTasks calls are out go together in the next
// call, and every run's completion arrives.
func TestReportsAreBatchedWhileCallsAreOut(t *testing.T) {
	t.Parallel()
	testQueuedReports(t, 0, []int{1, 1, queuedReportRuns - maxReportsInFlight})
}

// TestBatchTooBigForTheServerIsReportedOneByOne: a server that refuses a
// batch as too big (ResourceExhausted) gets its reports one by one, and
// every completion arrives.
func TestBatchTooBigForTheServerIsReportedOneByOne(t *testing.T) {
	t.Parallel()
	testQueuedReports(t, 1, []int{1, 1, queuedReportRuns - maxReportsInFlight})
}

const queuedReportRuns = 12

// testQueuedReports holds the first ReportTasks calls, queues the other
// reports behind them, releases them and checks every completion arrives.
func testQueuedReports(t *testing.T, refuseOver int, wantBatches []int) {
	t.Helper()
	const runs = queuedReportRuns
	b := setup(t, Options{MaxConcurrentRuns: runs})
	b.svc.batch = true
	b.svc.refuseOver = refuseOver
	g := &gatedService{fakeService: b.svc, release: make(chan struct{}), entered: make(chan struct{}, maxReportsInFlight)}
	b.w.svc = g
	b.w.reports.svc = g
	queuedAll := make(chan struct{})
	var once sync.Once
	b.w.reports.batches.OnQueue = func(n int) {
		if n == runs-maxReportsInFlight {
			once.Do(func() { close(queuedAll) })
		}
	}
	b.w.RegisterWorkflow("ok", func(context.Context) error { return nil })
	b.start(t)
	// One at a time, so that each report has a call of its own.
	for i := range maxReportsInFlight {
		b.svc.push(t, fmt.Sprint("first-", i), "ok", nil, 0)
		testsync.Recv(t, g.entered, "a held ReportTasks call")
	}
	for i := range runs - maxReportsInFlight {
		b.svc.push(t, fmt.Sprint("rest-", i), "ok", nil, 0)
	}
	testsync.Recv(t, queuedAll, "the other reports to queue")
	close(g.release)
	seen := map[string]bool{}
	for range runs {
		seen[testsync.Recv(t, b.svc.completed, "a completion").GetTaskToken()] = true
	}
	if len(seen) != runs {
		t.Errorf("%d distinct completions, want %d", len(seen), runs)
	}
	b.stop()
	b.svc.mu.Lock()
	defer b.svc.mu.Unlock()
	slices.Sort(b.svc.batches)
	if fmt.Sprint(b.svc.batches) != fmt.Sprint(wantBatches) {
		t.Errorf("ReportTasks batch sizes %v, want %v", b.svc.batches, wantBatches)
	}
}

// TestBatchedReportRetriesAndStaleItems: through ReportTasks, an item the
// server could not apply (Unavailable) is sent again, and an item for a
// stale attempt is dropped, as with CompleteTask.
func TestBatchedReportRetriesAndStaleItems(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	b.svc.batch = true
	b.svc.completeErrs = []error{
		connect.NewError(connect.CodeUnavailable, errors.New("redis down")),
		connect.NewError(connect.CodeFailedPrecondition, errors.New("attempt 1 is no longer current")),
	}
	b.w.RegisterWorkflow("ok", func(context.Context) (string, error) { return "yes", nil })
	b.start(t)
	b.svc.push(t, "r", "ok", nil, 0)
	// The first answer (Unavailable) makes the worker retry; the second
	// (stale) makes it give up: no completion arrives for "r".
	b.svc.push(t, "r2", "ok", nil, 0)
	c := testsync.Recv(t, b.svc.completed, "a completion")
	b.stop()
	expectNone(t, b.svc.completed, "a completion after a stale rejection")
	if c.GetResult().GetStringValue() != "yes" {
		t.Errorf("result = %v", c.GetResult())
	}
	b.svc.mu.Lock()
	defer b.svc.mu.Unlock()
	if len(b.svc.completeErrs) != 0 {
		t.Errorf("%d injected errors left unconsumed", len(b.svc.completeErrs))
	}
	if len(b.svc.batches) == 0 {
		t.Error("no ReportTasks call")
	}
}
