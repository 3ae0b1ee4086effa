package worker_test

import (
	"bufio"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sundial-dev/sundial/client"
	"github.com/sundial-dev/sundial/internal/testredis"
)

// child is a killtest worker process whose stdout lines arrive on lines.
type child struct {
	cmd   *exec.Cmd
	lines chan string
	mu    sync.Mutex
	all   []string
}

func startChild(t *testing.T, bin string, args ...string) *child {
	t.Helper()
	ch := &child{cmd: exec.Command(bin, args...), lines: make(chan string, 100)}
	out, err := ch.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	ch.cmd.Stderr = &stderr
	if err := ch.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			ch.mu.Lock()
			ch.all = append(ch.all, sc.Text())
			ch.mu.Unlock()
			ch.lines <- sc.Text()
		}
		close(ch.lines)
	}()
	t.Cleanup(func() {
		_ = ch.cmd.Process.Kill()
		_ = ch.cmd.Wait()
		if t.Failed() {
			t.Logf("child %d stderr:\n%s", ch.cmd.Process.Pid, stderr.String())
		}
	})
	return ch
}

// expect waits for a line with the given prefix, failing on EOF or timeout.
func (ch *child) expect(t *testing.T, prefix string, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-ch.lines:
			if !ok {
				t.Fatalf("child exited before printing %q", prefix)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-deadline:
			t.Fatalf("child did not print %q within %s", prefix, timeout)
		}
	}
}

func (ch *child) count(prefix string) int {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	n := 0
	for _, l := range ch.all {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// buildKillWorker compiles worker/internal/killtest.
func buildKillWorker(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "killworker")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/sundial-dev/sundial/worker/internal/killtest").CombinedOutput()
	if err != nil {
		t.Fatalf("go build killtest: %v\n%s", err, out)
	}
	return bin
}

// TestKilledWorkerRunIsRedeliveredAndCompletesOnce kills a worker process
// with SIGKILL in the middle of a run and checks that a second worker gets
// the run after its heartbeat timeout and that the user sees one result.
func TestKilledWorkerRunIsRedeliveredAndCompletesOnce(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and kills a worker process")
	}
	bin := buildKillWorker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	env := setupServer(t)
	c := env.c
	queue := "kill-" + testredis.RandomID()
	args := []string{"--addr", env.url, "--namespace", env.namespace, "--queue", queue}

	first := startChild(t, bin, append(args, "--block")...)
	first.expect(t, "ready", 20*time.Second)
	const hbTimeout = 1500 * time.Millisecond
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "killed-" + testredis.RandomID(), TaskQueue: queue, HeartbeatTimeout: hbTimeout}, "Block", nil)
	if err != nil {
		t.Fatal(err)
	}
	first.expect(t, "started "+run.GetID()+" 1", 20*time.Second)
	if err := first.cmd.Process.Kill(); err != nil { // SIGKILL: no drain, no report
		t.Fatal(err)
	}
	_ = first.cmd.Wait()

	second := startChild(t, bin, args...)
	second.expect(t, "ready", 20*time.Second)
	second.expect(t, "started "+run.GetID()+" 2", 30*time.Second)

	var res struct {
		PID     int `json:"pid"`
		Attempt int `json:"attempt"`
	}
	if err := run.Get(ctx, &res); err != nil {
		t.Fatalf("Get: %v", err)
	}
	if res.PID != second.cmd.Process.Pid || res.Attempt != 2 {
		t.Errorf("result %+v, want attempt 2 by pid %d", res, second.cmd.Process.Pid)
	}
	d, err := c.DescribeWorkflow(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != client.WorkflowStatusCompleted || d.Attempt != 2 || len(d.Attempts) != 2 {
		t.Fatalf("status %s attempt %d attempts %+v", d.Status, d.Attempt, d.Attempts)
	}
	if gap := d.Attempts[1].StartTime.Sub(d.Attempts[0].StartTime); gap < hbTimeout {
		t.Errorf("redelivered %s after the first attempt started, before the %s heartbeat timeout", gap, hbTimeout)
	}
	if d.Attempts[0].EndTime.IsZero() || d.Attempts[1].WorkerIdentity == d.Attempts[0].WorkerIdentity {
		t.Errorf("attempts = %+v", d.Attempts)
	}
	// One run for the id, one execution by the second worker.
	runs := 0
	for r, err := range c.ListWorkflows(ctx, client.ListWorkflowsOptions{TaskQueue: queue}) {
		if err != nil {
			t.Fatal(err)
		}
		if r.WorkflowID == run.GetID() {
			runs++
		}
	}
	if runs != 1 {
		t.Errorf("%d runs for the workflow id, want 1", runs)
	}
	if n := second.count("started " + run.GetID()); n != 1 {
		t.Errorf("second worker started the run %d times", n)
	}
}
