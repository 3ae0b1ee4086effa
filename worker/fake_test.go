package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/sundial-dev/sundial/internal/convert"
	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
)

// fakeService is a WorkerServiceClient that hands out queued tasks and
// records what the worker reports, for unit tests without a server.
type fakeService struct {
	tasks chan *pb.Task

	mu           sync.Mutex
	maxAsked     int
	completeErrs []error          // returned, in order, by the first CompleteTask calls
	hbCancel     map[string]bool  // task token -> answer cancel_requested
	hbErr        map[string]error // task token -> heartbeat error
	heartbeats   map[string]int
	// batch makes ReportTasks apply reports (as CompleteTask and FailTask
	// would, item by item); without it ReportTasks is Unimplemented, like
	// a server that predates it.
	batch   bool
	batches []int // the size of every ReportTasks call, when batch
	// refuseOver, when set, makes ReportTasks answer ResourceExhausted to
	// a call of more reports, like a server whose request limit it passes.
	refuseOver int

	completed chan *pb.CompleteTaskRequest
	failed    chan *pb.FailTaskRequest
	beat      chan string
}

func newFakeService() *fakeService {
	return &fakeService{
		tasks:      make(chan *pb.Task, 100),
		hbCancel:   map[string]bool{},
		hbErr:      map[string]error{},
		heartbeats: map[string]int{},
		completed:  make(chan *pb.CompleteTaskRequest, 100),
		failed:     make(chan *pb.FailTaskRequest, 100),
		beat:       make(chan string, 1000),
	}
}

func (f *fakeService) PollTasks(ctx context.Context, req *connect.Request[pb.PollTasksRequest]) (*connect.Response[pb.PollTasksResponse], error) {
	n := int(req.Msg.GetMaxTasks())
	f.mu.Lock()
	f.maxAsked = max(f.maxAsked, n)
	f.mu.Unlock()
	wait := time.NewTimer(req.Msg.GetWait().AsDuration())
	defer wait.Stop()
	var got []*pb.Task
	select {
	case <-ctx.Done():
		return nil, connect.NewError(connect.CodeCanceled, ctx.Err())
	case <-wait.C:
		return connect.NewResponse(&pb.PollTasksResponse{}), nil
	case t := <-f.tasks:
		got = append(got, t)
	}
	for len(got) < n {
		select {
		case t := <-f.tasks:
			got = append(got, t)
		default:
			return connect.NewResponse(&pb.PollTasksResponse{Tasks: got}), nil
		}
	}
	return connect.NewResponse(&pb.PollTasksResponse{Tasks: got}), nil
}

func (f *fakeService) CompleteTask(_ context.Context, req *connect.Request[pb.CompleteTaskRequest]) (*connect.Response[pb.CompleteTaskResponse], error) {
	f.mu.Lock()
	if len(f.completeErrs) > 0 {
		err := f.completeErrs[0]
		f.completeErrs = f.completeErrs[1:]
		f.mu.Unlock()
		return nil, err
	}
	f.mu.Unlock()
	f.completed <- req.Msg
	return connect.NewResponse(&pb.CompleteTaskResponse{}), nil
}

func (f *fakeService) FailTask(_ context.Context, req *connect.Request[pb.FailTaskRequest]) (*connect.Response[pb.FailTaskResponse], error) {
	f.failed <- req.Msg
	return connect.NewResponse(&pb.FailTaskResponse{}), nil
}

func (f *fakeService) ReportTasks(ctx context.Context, req *connect.Request[pb.ReportTasksRequest]) (*connect.Response[pb.ReportTasksResponse], error) {
	f.mu.Lock()
	batch, n := f.batch, len(req.Msg.GetCompletions())+len(req.Msg.GetFailures())
	if batch {
		f.batches = append(f.batches, n)
	}
	refuse := f.refuseOver > 0 && n > f.refuseOver
	f.mu.Unlock()
	if !batch {
		return nil, connect.NewError(connect.CodeUnimplemented, errors.New("no ReportTasks"))
	}
	if refuse {
		return nil, connect.NewError(connect.CodeResourceExhausted, fmt.Errorf("%d reports exceed the request limit", n))
	}
	res := &pb.ReportTasksResponse{}
	item := func(err error) *pb.TaskReportResult {
		if err == nil {
			return &pb.TaskReportResult{}
		}
		return &pb.TaskReportResult{Code: uint32(connect.CodeOf(err)), Message: err.Error()}
	}
	for _, c := range req.Msg.GetCompletions() {
		_, err := f.CompleteTask(ctx, connect.NewRequest(c))
		res.Completions = append(res.Completions, item(err))
	}
	for _, fl := range req.Msg.GetFailures() {
		_, err := f.FailTask(ctx, connect.NewRequest(fl))
		res.Failures = append(res.Failures, item(err))
	}
	return connect.NewResponse(res), nil
}

func (f *fakeService) HeartbeatTask(_ context.Context, req *connect.Request[pb.HeartbeatTaskRequest]) (*connect.Response[pb.HeartbeatTaskResponse], error) {
	tok := req.Msg.GetTaskToken()
	f.mu.Lock()
	f.heartbeats[tok]++
	cancel, err := f.hbCancel[tok], f.hbErr[tok]
	f.mu.Unlock()
	select {
	case f.beat <- tok:
	default:
	}
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&pb.HeartbeatTaskResponse{CancelRequested: cancel}), nil
}

// push queues a task of type typ with JSON input (nil for none).
func (f *fakeService) push(t *testing.T, token, typ string, input any, hbTimeout time.Duration) {
	t.Helper()
	task := &pb.Task{TaskToken: token, Namespace: "ns", WorkflowId: "wf-" + token, RunId: "run-" + token, WorkflowType: typ, Attempt: 1}
	if input != nil {
		b, err := json.Marshal(input)
		if err != nil {
			t.Fatal(err)
		}
		v, err := convert.JSONValue(b)
		if err != nil {
			t.Fatal(err)
		}
		task.Input = v
	}
	if hbTimeout > 0 {
		task.HeartbeatTimeout = durationpb.New(hbTimeout)
	}
	f.tasks <- task
}

// expectNone asserts that nothing is waiting on ch.
func expectNone[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("unexpected %s: %v", what, v)
	default:
	}
}
