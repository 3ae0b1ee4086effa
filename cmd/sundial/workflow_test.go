package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/sundial-dev/sundial/client"
	"github.com/sundial-dev/sundial/worker"
)

// startWorker runs a worker on task queue "wq" of the bundle's namespace with
// two workflows: "echo" returns its input, "fail" fails for good.
func (b *cliBundle) startWorker(t *testing.T) {
	t.Helper()
	c, err := client.Dial(t.Context(), client.Options{Address: b.addr, Namespace: b.namespace})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	w := worker.New(c, "wq", worker.Options{Logger: slog.New(slog.DiscardHandler)})
	w.RegisterWorkflow("echo", func(_ context.Context, in json.RawMessage) (json.RawMessage, error) { return in, nil })
	w.RegisterWorkflow("fail", func(context.Context) error { return worker.NewNonRetryableError("Boom", "exploded") })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && ctx.Err() == nil {
			t.Errorf("worker: %v", err)
		}
		_ = c.Close()
	})
}

func TestWorkflowStartResultDescribe(t *testing.T) {
	t.Parallel()
	b := setupCLI(t)
	b.startWorker(t)

	// --wait prints the result.
	out := b.mustRun(t, "workflow", "start", "--workflow-type", "echo", "--task-queue", "wq", "--workflow-id", "w1",
		"--input", `{"hello":"world"}`, "--memo", `owner="me"`, "--wait", "--timeout", "30s")
	if !strings.Contains(out, "Started workflow w1") || !strings.Contains(out, `{"hello":"world"}`) {
		t.Errorf("start --wait printed %q", out)
	}

	var res struct {
		WorkflowID string          `json:"workflow_id"`
		Status     string          `json:"status"`
		Result     json.RawMessage `json:"result"`
	}
	b.runJSON(t, &res, "workflow", "result", "w1", "--timeout", "30s")
	if res.WorkflowID != "w1" || res.Status != "COMPLETED" || compactJSON(res.Result) != `{"hello":"world"}` {
		t.Errorf("result printed %+v", res)
	}

	var d map[string]any
	b.runJSON(t, &d, "workflow", "describe", "w1")
	if d["status"] != "COMPLETED" || d["workflow_type"] != "echo" || d["task_queue"] != "wq" || d["run_id"] == "" || d["close_time"] == nil {
		t.Errorf("describe printed %v", d)
	}
	text := b.mustRun(t, "workflow", "describe", "w1")
	for _, w := range []string{"Workflow:", "w1", "echo on task queue wq", "COMPLETED", "Attempts:"} {
		if !strings.Contains(text, w) {
			t.Errorf("describe text lacks %q:\n%s", w, text)
		}
	}

	// A failing workflow: result is an error (exit 1) naming the failure.
	var started struct {
		WorkflowID string `json:"workflow_id"`
		RunID      string `json:"run_id"`
	}
	b.runJSON(t, &started, "workflow", "start", "--workflow-type", "fail", "--task-queue", "wq")
	if started.WorkflowID == "" || started.RunID == "" {
		t.Fatalf("start printed %+v", started)
	}
	_, err := b.run(t, "workflow", "result", started.WorkflowID, "--run-id", started.RunID, "--timeout", "30s")
	wantCallError(t, err, "FAILED", "exploded")

	// A closed run cannot be cancelled or terminated.
	_, err = b.run(t, "workflow", "cancel", "w1")
	wantCallError(t, err, "cannot cancel", "closed")
	_, err = b.run(t, "workflow", "terminate", "w1")
	wantCallError(t, err, "cannot terminate")

	_, err = b.run(t, "workflow", "describe", "nope")
	wantCallError(t, err, "workflow nope not found")
}

func TestWorkflowStartErrors(t *testing.T) {
	t.Parallel()
	b := setupCLI(t)
	b.mustRun(t, "workflow", "start", "--workflow-type", "echo", "--task-queue", "idle", "--workflow-id", "open")
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"NoType", []string{"--task-queue", "q"}, "--workflow-type"},
		{"BadInput", []string{"--workflow-type", "w", "--task-queue", "q", "--input", "{"}, "--input"},
		{"BadMemo", []string{"--workflow-type", "w", "--task-queue", "q", "--memo", "k"}, "--memo"},
		{"BadReuse", []string{"--workflow-type", "w", "--task-queue", "q", "--id-reuse-policy", "maybe"}, "--id-reuse-policy"},
		{"ServerRejects", []string{"--workflow-type", "w", "--task-queue", "bad queue!"}, "invalid argument"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := b.run(t, append([]string{"workflow", "start"}, tt.args...)...)
			wantUsageError(t, err, tt.want)
		})
	}
	_, err := b.run(t, "workflow", "start", "--workflow-type", "echo", "--task-queue", "idle", "--workflow-id", "open")
	wantCallError(t, err, "already has an open run")
	_, err = b.run(t, "workflow", "list", "--status", "sleepy")
	wantUsageError(t, err, "--status")
}

func TestWorkflowListCancelTerminate(t *testing.T) {
	t.Parallel()
	b := setupCLI(t)
	// No worker polls "idle": runs stay open until cancelled or terminated.
	for _, id := range []string{"c1", "t1"} {
		b.mustRun(t, "workflow", "start", "--workflow-type", "echo", "--task-queue", "idle", "--workflow-id", id)
	}
	b.mustRun(t, "workflow", "start", "--workflow-type", "other", "--task-queue", "idle2", "--workflow-id", "o1")

	var runs []map[string]any
	b.runJSON(t, &runs, "workflow", "list", "--task-queue", "idle")
	if len(runs) != 2 {
		t.Errorf("list --task-queue idle = %v, want c1 and t1", runs)
	}
	b.runJSON(t, &runs, "workflow", "list", "--workflow-type", "other")
	if len(runs) != 1 || runs[0]["workflow_id"] != "o1" {
		t.Errorf("list --workflow-type other = %v", runs)
	}
	text := b.mustRun(t, "workflow", "list", "--limit", "2")
	if lines := strings.Split(strings.TrimSpace(text), "\n"); len(lines) != 3 || !strings.Contains(lines[0], "WORKFLOW ID") {
		t.Errorf("list --limit 2 printed:\n%s", text)
	}

	out := b.mustRun(t, "workflow", "cancel", "c1", "--reason", "not needed")
	if !strings.Contains(out, "Cancel requested for workflow c1") {
		t.Errorf("cancel printed %q", out)
	}
	var d map[string]any
	b.runJSON(t, &d, "workflow", "describe", "c1")
	if d["cancel_requested"] != true && d["status"] != "CANCELED" {
		t.Errorf("after cancel, describe = %v", d)
	}

	var res map[string]any
	b.runJSON(t, &res, "workflow", "terminate", "t1", "--reason", "stuck")
	if res["terminated"] != true {
		t.Errorf("terminate printed %v", res)
	}
	b.runJSON(t, &d, "workflow", "describe", "t1")
	if d["status"] != "TERMINATED" {
		t.Errorf("after terminate, status = %v", d["status"])
	}
	b.runJSON(t, &runs, "workflow", "list", "--status", "terminated")
	if len(runs) != 1 || runs[0]["workflow_id"] != "t1" {
		t.Errorf("list --status terminated = %v", runs)
	}
	_, err := b.run(t, "workflow", "terminate", "missing")
	wantCallError(t, err, "not found")
}
