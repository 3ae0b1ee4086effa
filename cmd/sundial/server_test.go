package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sundial-dev/sundial/internal/testredis"
)

// lineWatcher is an io.Writer that signals once its output matches re.
type lineWatcher struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	re    *regexp.Regexp
	match chan string
	done  bool
}

func newLineWatcher(re string) *lineWatcher {
	return &lineWatcher{re: regexp.MustCompile(re), match: make(chan string, 1)}
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.done {
		if m := w.re.FindStringSubmatch(w.buf.String()); m != nil {
			w.done = true
			w.match <- m[len(m)-1]
		}
	}
	return len(p), nil
}

func (w *lineWatcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// startCommand runs args in the background and returns the first submatch
// of re in its output, and a stop function that cancels it and returns its error.
func startCommand(t *testing.T, re string, args ...string) (string, func() error) {
	t.Helper()
	out := newLineWatcher(re)
	errOut := newLineWatcher(re)
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() {
		res <- (&Main{Stdout: out, Stderr: errOut, Getenv: func(string) string { return "" }}).Run(ctx, args)
	}()
	stop := func() error {
		cancel()
		select {
		case err := <-res:
			return err
		case <-time.After(20 * time.Second):
			t.Fatal("command did not stop within 20s of cancel")
			return nil
		}
	}
	select {
	case m := <-out.match:
		return m, stop
	case m := <-errOut.match:
		return m, stop
	case err := <-res:
		cancel()
		t.Fatalf("%v exited early: %v\nstdout: %s\nstderr: %s", args, err, out, errOut)
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatalf("%v printed nothing matching %q in 20s\nstdout: %s\nstderr: %s", args, re, out, errOut)
	}
	return "", nil
}

func healthy(t *testing.T, base string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/grpc.health.v1.Health/Check", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("health check: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("health check: %s", res.Status)
	}
}

func TestServerNeedsRedisURL(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	err := (&Main{Stdout: &bytes.Buffer{}, Stderr: &stderr}).Run(context.Background(), []string{"server"})
	var u *UsageError
	if !errors.As(err, &u) || !strings.Contains(err.Error(), "SUNDIAL_REDIS_URL") {
		t.Fatalf("want a usage error naming SUNDIAL_REDIS_URL, got %v", err)
	}
	if code := exitCode(&stderr, err); code != 2 {
		t.Fatalf("exit code %d, want 2", code)
	}
}

func TestServerServesAndStops(t *testing.T) {
	t.Parallel()
	if testredis.RealURL() == "" {
		t.Skip("no real Redis: set SUNDIAL_TEST_REDIS or run redis-server on 127.0.0.1:6379")
	}
	prefix := "sdtest-" + testredis.RandomID()
	t.Cleanup(func() {
		b := testredis.Real(t)
		if err := testredis.DeletePrefix(b.Client, prefix); err != nil {
			t.Errorf("delete the server's keys: %v", err)
		}
	})
	addr, stop := startCommand(t, `"addr":"([^"]+)"`, "server", "--redis-url", testredis.RealURL(),
		"--listen", "127.0.0.1:0", "--key-prefix", prefix)
	healthy(t, "http://"+addr)
	if err := stop(); err != nil {
		t.Fatalf("server returned %v after cancel, want nil", err)
	}
}

func TestDevServesAndStops(t *testing.T) {
	t.Parallel()
	port := testredis.FreePort(t)
	url, stop := startCommand(t, `listening on (http://[0-9.:]+)`, "dev", "--port", strconv.Itoa(port))
	if url != "http://127.0.0.1:"+strconv.Itoa(port) {
		t.Fatalf("dev printed %q, want port %d", url, port)
	}
	healthy(t, url)

	// The demo worker runs sundial.echo: a started run completes with its input.
	var out, errOut bytes.Buffer
	err := (&Main{Stdout: &out, Stderr: &errOut}).Run(context.Background(), []string{
		"workflow", "start", "--address", url, "--workflow-type", DemoWorkflowType, "--task-queue", "demo",
		"--input", `{"hello":"dev"}`, "--wait", "--timeout", "20s", "--output", "json"})
	if err != nil {
		t.Fatalf("workflow start --wait against dev: %v\n%s", err, errOut.String())
	}
	var res struct {
		Status string `json:"status"`
		Result struct {
			Hello string `json:"hello"`
		} `json:"result"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || res.Status != "COMPLETED" || res.Result.Hello != "dev" {
		t.Fatalf("demo run did not complete with its input as result (%v):\n%s", err, out.String())
	}
	if err := stop(); err != nil {
		t.Fatalf("dev returned %v after cancel, want nil", err)
	}
}

func TestBadFlagIsUsageError(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	err := (&Main{Stdout: &bytes.Buffer{}, Stderr: &stderr}).Run(context.Background(), []string{"server", "--no-such-flag"})
	if code := exitCode(&stderr, err); code != 2 {
		t.Fatalf("exit code %d for an unknown flag, want 2 (err %v)", code, err)
	}
	err = (&Main{Stdout: &bytes.Buffer{}, Stderr: &stderr}).Run(context.Background(), []string{"no-such-command"})
	if code := exitCode(&stderr, err); code != 2 {
		t.Fatalf("exit code %d for an unknown command, want 2 (err %v)", code, err)
	}
}
