package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sundial-dev/sundial/internal/testredis"
	"github.com/sundial-dev/sundial/server"
)

// cliBundle is an in-process Sundial server (on testredis, with a key prefix
// and namespace of the test's own) that CLI commands talk to.
type cliBundle struct {
	// addr is the server's base URL.
	addr string
	// namespace is unique to the test.
	namespace string
}

// setupCLI starts a server with its loops running, serves it over HTTP/1.1
// and h2c on a loopback port, and stops both when the test ends.
func setupCLI(t *testing.T) *cliBundle {
	t.Helper()
	rb := testredis.New(t)
	srv, err := server.New(server.Config{
		Redis:     rb.Client,
		KeyPrefix: rb.Prefix,
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	loops := make(chan error, 1)
	go func() { loops <- srv.Run(ctx) }()
	// net/http's own h2c rather than the handler's upgrade, so that Close
	// ends every connection.
	hs := httptest.NewUnstartedServer(srv.Handler())
	hs.Config.Protocols = new(http.Protocols)
	hs.Config.Protocols.SetHTTP1(true)
	hs.Config.Protocols.SetUnencryptedHTTP2(true)
	hs.Start()
	t.Cleanup(func() {
		hs.Close()
		cancel()
		if err := <-loops; err != nil {
			t.Errorf("server loops: %v", err)
		}
	})
	return &cliBundle{addr: hs.URL, namespace: rb.Namespace}
}

// run runs the sundial command line args against the bundle's server (its
// address and namespace come from SUNDIAL_ADDRESS and SUNDIAL_NAMESPACE)
// and returns what it printed on stdout.
func (b *cliBundle) run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return b.runStdin(t, "", args...)
}

// runStdin is run with stdin.
func (b *cliBundle) runStdin(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	env := map[string]string{"SUNDIAL_ADDRESS": b.addr, "SUNDIAL_NAMESPACE": b.namespace}
	var stdout, stderr bytes.Buffer
	m := &Main{Stdin: strings.NewReader(stdin), Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string { return env[k] }}
	err := m.Run(t.Context(), args)
	return stdout.String(), err
}

// mustRun is run that fails the test on an error.
func (b *cliBundle) mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := b.run(t, args...)
	if err != nil {
		t.Fatalf("sundial %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// runJSON runs a command with --output json and decodes what it printed into v.
func (b *cliBundle) runJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out := b.mustRun(t, append(args, "--output", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("sundial %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// wantUsageError fails the test unless err is bad input (exit code 2) whose
// message contains every one of want.
func wantUsageError(t *testing.T, err error, want ...string) {
	t.Helper()
	var u *UsageError
	if !errors.As(err, &u) {
		t.Fatalf("got %v (%T), want a usage error", err, err)
	}
	if exitCode(&bytes.Buffer{}, err) != 2 {
		t.Fatalf("exit code of %v is not 2", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

// wantCallError fails the test unless err is a failed call (exit code 1)
// whose message contains every one of want.
func wantCallError(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("got no error")
	}
	if code := exitCode(&bytes.Buffer{}, err); code != 1 {
		t.Fatalf("exit code of %v is %d, want 1", err, code)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

// compactJSON returns raw without insignificant space.
func compactJSON(raw []byte) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return string(raw)
	}
	return buf.String()
}
