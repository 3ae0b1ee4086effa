package server

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/internal/gen/sundial/v1/sundialv1connect"
	"github.com/sundial-dev/sundial/internal/testredis"
)

type benchRuns struct {
	ns string
	wf sundialv1connect.WorkflowServiceClient
	wk sundialv1connect.WorkerServiceClient
}

func setupBenchRuns(b *testing.B) *benchRuns {
	b.Helper()
	rb := testredis.New(b)
	srv, err := New(Config{Redis: rb.Client, KeyPrefix: rb.Prefix})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = srv.Run(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	hs := httptest.NewUnstartedServer(srv.Handler())
	hs.EnableHTTP2 = true
	hs.StartTLS()
	b.Cleanup(hs.Close)
	return &benchRuns{
		ns: rb.Namespace,
		wf: sundialv1connect.NewWorkflowServiceClient(hs.Client(), hs.URL),
		wk: sundialv1connect.NewWorkerServiceClient(hs.Client(), hs.URL),
	}
}

// BenchmarkRunRoundTrip measures start → poll → complete of a no-op run
// through the handlers (Connect over HTTP/2, in-process), run by parallel
// clients; runs/s = 1e9 / ns/op.
func BenchmarkRunRoundTrip(b *testing.B) {
	br := setupBenchRuns(b)
	ctx := context.Background()
	var mu sync.Mutex
	n := 0
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb_ *testing.PB) {
		for pb_.Next() {
			mu.Lock()
			n++
			id := fmt.Sprintf("rt-%d", n)
			mu.Unlock()
			if _, err := br.wf.StartWorkflow(ctx, connect.NewRequest(&pb.StartWorkflowRequest{Namespace: br.ns, WorkflowId: id, WorkflowType: "T", TaskQueue: "q"})); err != nil {
				b.Error(err)
				return
			}
			res, err := br.wk.PollTasks(ctx, connect.NewRequest(&pb.PollTasksRequest{Namespace: br.ns, TaskQueue: "q", Wait: durationpb.New(5 * time.Second)}))
			if err != nil || len(res.Msg.Tasks) == 0 {
				b.Errorf("poll: %v, %d tasks", err, len(res.Msg.GetTasks()))
				return
			}
			if _, err := br.wk.CompleteTask(ctx, connect.NewRequest(&pb.CompleteTaskRequest{TaskToken: res.Msg.Tasks[0].TaskToken})); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkRunPickupLatency measures, at light load, the time from a
// start's acknowledgement to a waiting long poll returning the task, and
// reports its median and p99.
func BenchmarkRunPickupLatency(b *testing.B) {
	br := setupBenchRuns(b)
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	i := 0
	for b.Loop() {
		i++
		got := make(chan time.Time, 1)
		ready := make(chan struct{})
		go func() {
			close(ready)
			res, err := br.wk.PollTasks(ctx, connect.NewRequest(&pb.PollTasksRequest{Namespace: br.ns, TaskQueue: "lat", Wait: durationpb.New(10 * time.Second)}))
			if err != nil || len(res.Msg.Tasks) == 0 {
				b.Errorf("poll: %v", err)
				got <- time.Time{}
				return
			}
			got <- time.Now()
			_, _ = br.wk.CompleteTask(ctx, connect.NewRequest(&pb.CompleteTaskRequest{TaskToken: res.Msg.Tasks[0].TaskToken}))
		}()
		<-ready
		time.Sleep(2 * time.Millisecond) // let the poll reach its wait: this measures a waiting poller, not a race
		if _, err := br.wf.StartWorkflow(ctx, connect.NewRequest(&pb.StartWorkflowRequest{Namespace: br.ns, WorkflowId: fmt.Sprintf("lat-%d", i), WorkflowType: "T", TaskQueue: "lat"})); err != nil {
			b.Fatal(err)
		}
		acked := time.Now()
		if at := <-got; !at.IsZero() {
			lat = append(lat, at.Sub(acked))
		}
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	}
}
