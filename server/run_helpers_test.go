package server

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/sundial-dev/sundial/internal/clock"
	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/internal/gen/sundial/v1/sundialv1connect"
	"github.com/sundial-dev/sundial/internal/runs"
	"github.com/sundial-dev/sundial/internal/testredis"
)

// runsBundle is what a runs test works with: a server with its loops off,
// a fake clock, and clients of both protocols.
type runsBundle struct {
	redis    *testredis.Bundle
	clock    *clock.Fake
	srv      *Server
	rc       *runsComponent
	ns       string
	workflow sundialv1connect.WorkflowServiceClient
	worker   sundialv1connect.WorkerServiceClient
	// grpcWorkflow and grpcWorker speak gRPC to the same handler.
	grpcWorkflow sundialv1connect.WorkflowServiceClient
	grpcWorker   sundialv1connect.WorkerServiceClient
}

var runsEpoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// setupRuns builds a runsBundle on backend b (nil: testredis.New).
func setupRuns(t testing.TB, b *testredis.Bundle) *runsBundle {
	t.Helper()
	if b == nil {
		b = testredis.New(t)
	}
	fc := clock.NewFake(runsEpoch)
	srv, err := New(Config{Redis: b.Client, KeyPrefix: b.Prefix, Clock: fc, DisableLoops: true, Partitions: 4})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	hs := httptest.NewUnstartedServer(srv.Handler())
	hs.EnableHTTP2 = true
	hs.StartTLS()
	t.Cleanup(hs.Close)
	hc := hs.Client()
	return &runsBundle{
		redis:        b,
		clock:        fc,
		srv:          srv,
		rc:           srv.runs,
		ns:           b.Namespace,
		workflow:     sundialv1connect.NewWorkflowServiceClient(hc, hs.URL),
		worker:       sundialv1connect.NewWorkerServiceClient(hc, hs.URL),
		grpcWorkflow: sundialv1connect.NewWorkflowServiceClient(hc, hs.URL, connect.WithGRPC()),
		grpcWorker:   sundialv1connect.NewWorkerServiceClient(hc, hs.URL, connect.WithGRPC()),
	}
}

// forEachRunsBackend runs f as a parallel subtest against every Redis backend.
func forEachRunsBackend(t *testing.T, f func(t *testing.T, rb *runsBundle)) {
	t.Helper()
	for _, be := range testredis.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			t.Parallel()
			f(t, setupRuns(t, be.New(t)))
		})
	}
}

func (rb *runsBundle) start(t *testing.T, req *pb.StartWorkflowRequest) string {
	t.Helper()
	if req.Namespace == "" {
		req.Namespace = rb.ns
	}
	if req.TaskQueue == "" {
		req.TaskQueue = "q1"
	}
	if req.WorkflowType == "" {
		req.WorkflowType = "Echo"
	}
	res, err := rb.workflow.StartWorkflow(context.Background(), connect.NewRequest(req))
	if err != nil {
		t.Fatalf("StartWorkflow(%s): %v", req.WorkflowId, err)
	}
	return res.Msg.RunId
}

// poll polls queue q (default "q1") for up to n tasks, waiting at most wait.
func (rb *runsBundle) poll(t *testing.T, q string, n int, wait time.Duration) []*pb.Task {
	t.Helper()
	if q == "" {
		q = "q1"
	}
	res, err := rb.worker.PollTasks(context.Background(), connect.NewRequest(&pb.PollTasksRequest{
		Namespace: rb.ns, TaskQueue: q, MaxTasks: int32(n), Wait: durationpb.New(wait), Identity: "test-worker",
	}))
	if err != nil {
		t.Fatalf("PollTasks: %v", err)
	}
	return res.Msg.Tasks
}

func (rb *runsBundle) describe(t *testing.T, wf, rid string) *pb.WorkflowRun {
	t.Helper()
	res, err := rb.workflow.DescribeWorkflow(context.Background(), connect.NewRequest(&pb.DescribeWorkflowRequest{Namespace: rb.ns, WorkflowId: wf, RunId: rid}))
	if err != nil {
		t.Fatalf("DescribeWorkflow(%s): %v", wf, err)
	}
	return res.Msg.Run
}

func (rb *runsBundle) complete(t *testing.T, token string, result *structpb.Value) error {
	t.Helper()
	_, err := rb.worker.CompleteTask(context.Background(), connect.NewRequest(&pb.CompleteTaskRequest{TaskToken: token, Result: result}))
	return err
}

func (rb *runsBundle) tick(t *testing.T) {
	t.Helper()
	if err := rb.rc.tick(context.Background()); err != nil {
		t.Fatalf("tick: %v", err)
	}
}

func wantCode(t *testing.T, err error, code connect.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	if got := connect.CodeOf(err); got != code {
		t.Fatalf("got %s (%v), want %s", got, err, code)
	}
}

// runsStartReq is a start as the scheduler makes it.
func runsStartReq(ns, wf string) runs.StartRequest {
	return runs.StartRequest{
		Namespace: ns, WorkflowID: wf, WorkflowType: "Echo", TaskQueue: "q1", IfNotExists: true,
		Origin: runs.Origin{ScheduleID: "sched-1", NominalTime: runsEpoch, Trigger: runs.TriggerScheduled},
	}
}

// runsStartReqQueue is a client start on queue q.
func runsStartReqQueue(ns, wf, q string) runs.StartRequest {
	return runs.StartRequest{Namespace: ns, WorkflowID: wf, WorkflowType: "Echo", TaskQueue: q}
}
