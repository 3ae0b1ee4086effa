package server

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
)

const noWait = time.Millisecond

func (rb *runsBundle) fail(t *testing.T, token, typ string, nonRetryable bool) {
	t.Helper()
	_, err := rb.worker.FailTask(context.Background(), connect.NewRequest(&pb.FailTaskRequest{TaskToken: token, Message: "boom", Type: typ, NonRetryable: nonRetryable}))
	if err != nil {
		t.Fatalf("FailTask: %v", err)
	}
}

func (rb *runsBundle) wantStatus(t *testing.T, wf string, want pb.WorkflowStatus) *pb.WorkflowRun {
	t.Helper()
	r := rb.describe(t, wf, "")
	if r.Status != want {
		t.Fatalf("%s: status = %s, want %s", wf, r.Status, want)
	}
	return r
}

func TestRunStartDelay(t *testing.T) {
	t.Parallel()
	forEachRunsBackend(t, func(t *testing.T, rb *runsBundle) {
		rb.start(t, &pb.StartWorkflowRequest{WorkflowId: "late", StartDelay: durationpb.New(10 * time.Second)})
		r := rb.wantStatus(t, "late", pb.WorkflowStatus_WORKFLOW_STATUS_SCHEDULED)
		if got := r.ScheduledTime.AsTime(); !got.Equal(runsEpoch.Add(10 * time.Second)) {
			t.Fatalf("scheduled_time = %s", got)
		}
		rb.clock.Advance(9 * time.Second)
		rb.tick(t)
		if tasks := rb.poll(t, "", 1, noWait); len(tasks) != 0 {
			t.Fatalf("delivered %d tasks before the delay ended", len(tasks))
		}
		rb.clock.Advance(time.Second)
		rb.tick(t)
		rb.wantStatus(t, "late", pb.WorkflowStatus_WORKFLOW_STATUS_PENDING)
		if tasks := rb.poll(t, "", 1, time.Second); len(tasks) != 1 {
			t.Fatalf("got %d tasks after the delay, want 1", len(tasks))
		}
	})
}

func TestRunRetryBackoff(t *testing.T) {
	t.Parallel()
	forEachRunsBackend(t, func(t *testing.T, rb *runsBundle) {
		rb.start(t, &pb.StartWorkflowRequest{WorkflowId: "flaky", RetryPolicy: &pb.RetryPolicy{
			InitialInterval: durationpb.New(time.Second), BackoffCoefficient: 2, MaximumAttempts: 3,
			NonRetryableErrorTypes: []string{"Fatal"},
		}})
		backoffs := []time.Duration{time.Second, 2 * time.Second}
		for i, b := range backoffs {
			tasks := rb.poll(t, "", 1, time.Second)
			if len(tasks) != 1 || tasks[0].Attempt != int32(i+1) {
				t.Fatalf("attempt %d: polled %v", i+1, tasks)
			}
			rb.fail(t, tasks[0].TaskToken, "Transient", false)
			rb.wantStatus(t, "flaky", pb.WorkflowStatus_WORKFLOW_STATUS_SCHEDULED)
			rb.clock.Advance(b - time.Millisecond)
			rb.tick(t)
			if got := rb.poll(t, "", 1, noWait); len(got) != 0 {
				t.Fatalf("retry %d delivered before its backoff of %s", i+1, b)
			}
			rb.clock.Advance(time.Millisecond)
			rb.tick(t)
		}
		tasks := rb.poll(t, "", 1, time.Second)
		if len(tasks) != 1 || tasks[0].Attempt != 3 {
			t.Fatalf("attempt 3: polled %v", tasks)
		}
		rb.fail(t, tasks[0].TaskToken, "Transient", false)
		r := rb.wantStatus(t, "flaky", pb.WorkflowStatus_WORKFLOW_STATUS_FAILED)
		if len(r.Attempts) != 3 || r.Attempts[2].Failure.GetMessage() != "boom" || r.Failure.GetType() != "Transient" {
			t.Fatalf("attempts = %v, failure = %v", r.Attempts, r.Failure)
		}

		// A non-retryable type fails at once.
		rb.start(t, &pb.StartWorkflowRequest{WorkflowId: "fatal", RetryPolicy: &pb.RetryPolicy{MaximumAttempts: 5, NonRetryableErrorTypes: []string{"Fatal"}}})
		tasks = rb.poll(t, "", 1, time.Second)
		rb.fail(t, tasks[0].TaskToken, "Fatal", false)
		rb.wantStatus(t, "fatal", pb.WorkflowStatus_WORKFLOW_STATUS_FAILED)

		// No retry policy: no retries.
		rb.start(t, &pb.StartWorkflowRequest{WorkflowId: "once"})
		tasks = rb.poll(t, "", 1, time.Second)
		rb.fail(t, tasks[0].TaskToken, "Transient", false)
		rb.wantStatus(t, "once", pb.WorkflowStatus_WORKFLOW_STATUS_FAILED)
	})
}

// TestRunLeaseLapseRedelivers: a worker that stops heartbeating loses the
// run to a new attempt, and its late completion is rejected.
func TestRunLeaseLapseRedelivers(t *testing.T) {
	t.Parallel()
	forEachRunsBackend(t, func(t *testing.T, rb *runsBundle) {
		ctx := context.Background()
		rb.start(t, &pb.StartWorkflowRequest{WorkflowId: "lost", HeartbeatTimeout: durationpb.New(10 * time.Second)})
		first := rb.poll(t, "", 1, time.Second)[0]
		// A heartbeat at +8 s extends the lease to +18 s.
		rb.clock.Advance(8 * time.Second)
		if _, err := rb.worker.HeartbeatTask(ctx, connect.NewRequest(&pb.HeartbeatTaskRequest{TaskToken: first.TaskToken})); err != nil {
			t.Fatal(err)
		}
		rb.clock.Advance(9 * time.Second)
		rb.tick(t)
		rb.wantStatus(t, "lost", pb.WorkflowStatus_WORKFLOW_STATUS_RUNNING)
		// Then silence: at +18 s the lease lapses.
		rb.clock.Advance(time.Second)
		rb.tick(t)
		r := rb.wantStatus(t, "lost", pb.WorkflowStatus_WORKFLOW_STATUS_PENDING)
		if r.Attempts[0].Failure.GetType() != "HeartbeatTimeout" {
			t.Fatalf("attempt 1 failure = %v", r.Attempts[0].Failure)
		}
		second := rb.poll(t, "", 1, time.Second)
		if len(second) != 1 || second[0].Attempt != 2 || second[0].RunId != first.RunId {
			t.Fatalf("redelivery = %v", second)
		}
		wantCode(t, rb.complete(t, first.TaskToken, nil), connect.CodeFailedPrecondition)
		_, err := rb.grpcWorker.HeartbeatTask(ctx, connect.NewRequest(&pb.HeartbeatTaskRequest{TaskToken: first.TaskToken}))
		wantCode(t, err, connect.CodeFailedPrecondition)
		if err := rb.complete(t, second[0].TaskToken, nil); err != nil {
			t.Fatalf("current attempt's completion: %v", err)
		}
		rb.wantStatus(t, "lost", pb.WorkflowStatus_WORKFLOW_STATUS_COMPLETED)
	})
}

func TestRunTimeouts(t *testing.T) {
	t.Parallel()
	forEachRunsBackend(t, func(t *testing.T, rb *runsBundle) {
		rb.start(t, &pb.StartWorkflowRequest{WorkflowId: "slow", RunTimeout: durationpb.New(5 * time.Second)})
		task := rb.poll(t, "", 1, time.Second)[0]
		if got := task.Deadline.AsTime(); !got.Equal(runsEpoch.Add(5 * time.Second)) {
			t.Fatalf("deadline = %s", got)
		}
		rb.start(t, &pb.StartWorkflowRequest{WorkflowId: "stuck", TaskQueue: "q2", ExecutionTimeout: durationpb.New(7 * time.Second)})
		rb.clock.Advance(5 * time.Second)
		rb.tick(t)
		r := rb.wantStatus(t, "slow", pb.WorkflowStatus_WORKFLOW_STATUS_TIMED_OUT)
		if r.Failure.GetType() != "RunTimeout" {
			t.Fatalf("failure = %v", r.Failure)
		}
		wantCode(t, rb.complete(t, task.TaskToken, nil), connect.CodeFailedPrecondition)
		rb.wantStatus(t, "stuck", pb.WorkflowStatus_WORKFLOW_STATUS_PENDING)
		rb.clock.Advance(2 * time.Second)
		rb.tick(t)
		rb.wantStatus(t, "stuck", pb.WorkflowStatus_WORKFLOW_STATUS_TIMED_OUT)
		if tasks := rb.poll(t, "q2", 1, noWait); len(tasks) != 0 {
			t.Fatalf("a timed-out run was delivered: %v", tasks)
		}
	})
}

func TestRunCancelAndTerminate(t *testing.T) {
	t.Parallel()
	forEachRunsBackend(t, func(t *testing.T, rb *runsBundle) {
		ctx := context.Background()
		// Cancel of a running run is cooperative.
		rb.start(t, &pb.StartWorkflowRequest{WorkflowId: "c1"})
		task := rb.poll(t, "", 1, time.Second)[0]
		if _, err := rb.workflow.CancelWorkflow(ctx, connect.NewRequest(&pb.CancelWorkflowRequest{Namespace: rb.ns, WorkflowId: "c1", Reason: "user"})); err != nil {
			t.Fatal(err)
		}
		rb.wantStatus(t, "c1", pb.WorkflowStatus_WORKFLOW_STATUS_RUNNING)
		hb, err := rb.worker.HeartbeatTask(ctx, connect.NewRequest(&pb.HeartbeatTaskRequest{TaskToken: task.TaskToken}))
		if err != nil || !hb.Msg.CancelRequested {
			t.Fatalf("heartbeat after cancel = %v, %v; want cancel_requested", hb, err)
		}
		rb.fail(t, task.TaskToken, "CanceledError", true)
		rb.wantStatus(t, "c1", pb.WorkflowStatus_WORKFLOW_STATUS_CANCELED)

		// Cancel of a pending run closes it: no worker holds it.
		rb.start(t, &pb.StartWorkflowRequest{WorkflowId: "c2", TaskQueue: "q2"})
		if _, err := rb.grpcWorkflow.CancelWorkflow(ctx, connect.NewRequest(&pb.CancelWorkflowRequest{Namespace: rb.ns, WorkflowId: "c2"})); err != nil {
			t.Fatal(err)
		}
		rb.wantStatus(t, "c2", pb.WorkflowStatus_WORKFLOW_STATUS_CANCELED)
		if tasks := rb.poll(t, "q2", 1, noWait); len(tasks) != 0 {
			t.Fatalf("a canceled run was delivered: %v", tasks)
		}

		// Terminate is immediate; the worker's late completion is rejected.
		rb.start(t, &pb.StartWorkflowRequest{WorkflowId: "t1"})
		task = rb.poll(t, "", 1, time.Second)[0]
		if _, err := rb.workflow.TerminateWorkflow(ctx, connect.NewRequest(&pb.TerminateWorkflowRequest{Namespace: rb.ns, WorkflowId: "t1", Reason: "stop"})); err != nil {
			t.Fatal(err)
		}
		r := rb.wantStatus(t, "t1", pb.WorkflowStatus_WORKFLOW_STATUS_TERMINATED)
		if r.Failure.GetMessage() != "terminated: stop" {
			t.Fatalf("failure = %v", r.Failure)
		}
		wantCode(t, rb.complete(t, task.TaskToken, nil), connect.CodeFailedPrecondition)
		_, err = rb.workflow.TerminateWorkflow(ctx, connect.NewRequest(&pb.TerminateWorkflowRequest{Namespace: rb.ns, WorkflowId: "t1"}))
		wantCode(t, err, connect.CodeFailedPrecondition)
		_, err = rb.workflow.TerminateWorkflow(ctx, connect.NewRequest(&pb.TerminateWorkflowRequest{Namespace: rb.ns, WorkflowId: "nope"}))
		wantCode(t, err, connect.CodeNotFound)
	})
}

func TestRunCronChain(t *testing.T) {
	t.Parallel()
	forEachRunsBackend(t, func(t *testing.T, rb *runsBundle) {
		ctx := context.Background()
		first := rb.start(t, &pb.StartWorkflowRequest{WorkflowId: "cron", CronSchedule: "*/5 * * * *"})
		r := rb.wantStatus(t, "cron", pb.WorkflowStatus_WORKFLOW_STATUS_SCHEDULED)
		if got := r.ScheduledTime.AsTime(); !got.Equal(runsEpoch.Add(5 * time.Minute)) {
			t.Fatalf("first run scheduled at %s, want 12:05", got)
		}
		rb.clock.Advance(5 * time.Minute)
		rb.tick(t)
		task := rb.poll(t, "", 1, time.Second)[0]
		rb.clock.Advance(7 * time.Minute) // closes at 12:12; next match 12:15
		if err := rb.complete(t, task.TaskToken, nil); err != nil {
			t.Fatal(err)
		}
		rb.tick(t)
		r = rb.wantStatus(t, "cron", pb.WorkflowStatus_WORKFLOW_STATUS_SCHEDULED)
		if r.RunId == first || r.Origin.GetPreviousRunId() != first || !r.ScheduledTime.AsTime().Equal(runsEpoch.Add(15*time.Minute)) {
			t.Fatalf("second run = %v", r)
		}
		// Cancel ends only the current run.
		if _, err := rb.workflow.CancelWorkflow(ctx, connect.NewRequest(&pb.CancelWorkflowRequest{Namespace: rb.ns, WorkflowId: "cron"})); err != nil {
			t.Fatal(err)
		}
		rb.tick(t)
		third := rb.wantStatus(t, "cron", pb.WorkflowStatus_WORKFLOW_STATUS_SCHEDULED)
		if third.Origin.GetPreviousRunId() != r.RunId {
			t.Fatalf("third run = %v", third)
		}
		// Terminate ends the chain.
		if _, err := rb.workflow.TerminateWorkflow(ctx, connect.NewRequest(&pb.TerminateWorkflowRequest{Namespace: rb.ns, WorkflowId: "cron"})); err != nil {
			t.Fatal(err)
		}
		rb.clock.Advance(time.Hour)
		rb.tick(t)
		if got := rb.wantStatus(t, "cron", pb.WorkflowStatus_WORKFLOW_STATUS_TERMINATED); got.RunId != third.RunId {
			t.Fatalf("a run started after terminate: %v", got)
		}
	})
}
