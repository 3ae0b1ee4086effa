package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/sundial-dev/sundial/internal/testserver"
)

// TestMain fails the package if a goroutine outlives its tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// cliBundle is an in-process Sundial server (internal/testserver: on
// testredis, with a key prefix and namespace of the test's own) that CLI
// commands talk to.
type cliBundle struct {
	// addr is the server's base URL.
	addr string
	// namespace is unique to the test.
	namespace string
}

// setupCLI starts a server with its loops running (see testserver.Start),
// which stops when the test ends.
func setupCLI(t *testing.T) *cliBundle {
	t.Helper()
	ts := testserver.Start(t, testserver.Options{})
	return &cliBundle{addr: ts.URL, namespace: ts.Namespace}
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
