package server

import (
	"context"
	"fmt"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
)

// TestWorkerPollWakesOnStart: a long poll that began before the start
// returns the task, woken by the start's event rather than its wait.
func TestWorkerPollWakesOnStart(t *testing.T) {
	t.Parallel()
	forEachRunsBackend(t, func(t *testing.T, rb *runsBundle) {
		type result struct {
			tasks []*pb.Task
			err   error
		}
		got := make(chan result, 1)
		go func() {
			res, err := rb.grpcWorker.PollTasks(context.Background(), connect.NewRequest(&pb.PollTasksRequest{
				Namespace: rb.ns, TaskQueue: "wake", MaxTasks: 1, Wait: durationpb.New(60 * time.Second),
			}))
			if err != nil {
				got <- result{err: err}
				return
			}
			got <- result{tasks: res.Msg.Tasks}
		}()
		rid := rb.start(t, &pb.StartWorkflowRequest{WorkflowId: "wake-1", TaskQueue: "wake"})
		select {
		case r := <-got:
			if r.err != nil || len(r.tasks) != 1 || r.tasks[0].RunId != rid {
				t.Fatalf("poll = %v, %v", r.tasks, r.err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the long poll did not return within 30 s of the start")
		}
	})
}

func TestWorkerPollReturnsUpToN(t *testing.T) {
	t.Parallel()
	forEachRunsBackend(t, func(t *testing.T, rb *runsBundle) {
		for i := range 7 {
			rb.start(t, &pb.StartWorkflowRequest{WorkflowId: fmt.Sprintf("n-%d", i)})
		}
		seen := map[string]bool{}
		for _, want := range []int{5, 2, 0} {
			tasks := rb.poll(t, "", 5, noWait)
			if len(tasks) != want {
				t.Fatalf("poll got %d tasks, want %d", len(tasks), want)
			}
			for _, task := range tasks {
				if seen[task.WorkflowId] {
					t.Fatalf("%s delivered twice", task.WorkflowId)
				}
				seen[task.WorkflowId] = true
			}
		}
		_, err := rb.worker.PollTasks(context.Background(), connect.NewRequest(&pb.PollTasksRequest{Namespace: rb.ns, TaskQueue: "bad queue"}))
		wantCode(t, err, connect.CodeInvalidArgument)
		_, err = rb.worker.CompleteTask(context.Background(), connect.NewRequest(&pb.CompleteTaskRequest{TaskToken: "garbage"}))
		wantCode(t, err, connect.CodeInvalidArgument)
	})
}

func TestWorkflowResultLongPoll(t *testing.T) {
	t.Parallel()
	forEachRunsBackend(t, func(t *testing.T, rb *runsBundle) {
		ctx := context.Background()
		rb.start(t, &pb.StartWorkflowRequest{WorkflowId: "res"})
		// A short wait on an open run ends with closed=false.
		res, err := rb.workflow.GetWorkflowResult(ctx, connect.NewRequest(&pb.GetWorkflowResultRequest{Namespace: rb.ns, WorkflowId: "res", Wait: durationpb.New(20 * time.Millisecond)}))
		if err != nil || res.Msg.Closed || res.Msg.Run.GetStatus() != pb.WorkflowStatus_WORKFLOW_STATUS_PENDING {
			t.Fatalf("short wait = %v, %v", res, err)
		}
		got := make(chan *pb.GetWorkflowResultResponse, 1)
		go func() {
			res, err := rb.grpcWorkflow.GetWorkflowResult(ctx, connect.NewRequest(&pb.GetWorkflowResultRequest{Namespace: rb.ns, WorkflowId: "res", Wait: durationpb.New(60 * time.Second)}))
			if err != nil {
				t.Errorf("GetWorkflowResult: %v", err)
			}
			got <- res.Msg
		}()
		task := rb.poll(t, "", 1, time.Second)[0]
		if err := rb.complete(t, task.TaskToken, nil); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-got:
			if r == nil || !r.Closed || r.Run.Status != pb.WorkflowStatus_WORKFLOW_STATUS_COMPLETED {
				t.Fatalf("result = %v", r)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("GetWorkflowResult did not return within 30 s of the close")
		}
		_, err = rb.workflow.GetWorkflowResult(ctx, connect.NewRequest(&pb.GetWorkflowResultRequest{Namespace: rb.ns, WorkflowId: "missing"}))
		wantCode(t, err, connect.CodeNotFound)
	})
}

// TestWorkerIdlePollersShareOneConnection: many idle long polls hold no
// Redis connection each, and a start on another replica wakes one of them
// per task, until every poller has one.
func TestWorkerIdlePollersShareOneConnection(t *testing.T) {
	t.Parallel()
	rb := setupRuns(t, nil)
	// A second replica on the same Redis and prefix.
	other, err := New(Config{Redis: rb.redis.Client, KeyPrefix: rb.redis.Prefix, Clock: rb.clock, DisableLoops: true, Partitions: 4})
	if err != nil {
		t.Fatal(err)
	}
	const pollers = 20
	rb.rc.hub.idled = make(chan string, 1000)
	got := make(chan *pb.Task, pollers)
	for range pollers {
		go func() {
			res, err := rb.worker.PollTasks(context.Background(), connect.NewRequest(&pb.PollTasksRequest{
				Namespace: rb.ns, TaskQueue: "idle", MaxTasks: 1, Wait: durationpb.New(60 * time.Second),
			}))
			if err != nil || len(res.Msg.Tasks) != 1 {
				t.Errorf("poll: %v", err)
				got <- nil
				return
			}
			got <- res.Msg.Tasks[0]
		}()
	}
	for range pollers {
		<-rb.rc.hub.idled
	}
	type pooled interface{ PoolStats() *redis.PoolStats }
	if p, ok := rb.redis.Client.(pooled); ok {
		// Connections in use (not idle in the pool): the one subscription,
		// plus any poller's periodic re-check that happens to run now;
		// a connection per poller would be 20.
		st := p.PoolStats()
		if inUse := st.TotalConns - st.IdleConns; inUse >= pollers/2 {
			t.Fatalf("%d idle pollers hold %d connections (%+v)", pollers, inUse, st)
		}
	}
	for i := range pollers {
		if _, err := other.runs.store.Start(context.Background(), runsStartReqQueue(rb.ns, fmt.Sprintf("idle-%d", i), "idle")); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	for range pollers {
		select {
		case task := <-got:
			if task == nil || seen[task.WorkflowId] {
				t.Fatalf("poller got %v (seen before: %v)", task, task != nil && seen[task.WorkflowId])
			}
			seen[task.WorkflowId] = true
		case <-time.After(30 * time.Second):
			t.Fatalf("only %d of %d pollers got a task", len(seen), pollers)
		}
	}
}

func TestWorkerHubIgnoresStrayMessages(t *testing.T) {
	t.Parallel()
	h := newHub(nil, "unused", nil)
	ch := h.waitQueue("ns|q")
	for _, m := range []string{"", "q|", "q|x", "q|ns|q|notanumber", "c|", "zzz"} {
		h.dispatch(m)
	}
	h.dispatch("q|ns|q|3")
	if p := <-ch; p != 3 {
		t.Fatalf("hint = %d, want 3", p)
	}
}
