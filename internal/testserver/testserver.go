// Package testserver starts an in-process Sundial server for tests: the real
// handler on a real Redis (or miniredis), served over HTTP/1.1 and h2c on a
// loopback port, with a key prefix and namespace of the test's own.
package testserver

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sundial-dev/sundial/internal/clock"
	"github.com/sundial-dev/sundial/internal/testredis"
	"github.com/sundial-dev/sundial/server"
)

// Options configures Start.
type Options struct {
	// Redis is the backend. Optional: defaults to testredis.New(t).
	Redis *testredis.Bundle
	// Clock drives the server. Optional: defaults to the wall clock.
	Clock clock.Clock
	// DisableLoops stops the scheduler and timer loops, for tests that only
	// call the API. Optional: defaults to false (the loops run).
	DisableLoops bool
	// PollInterval is the loops' poll interval. Optional: defaults to 20 ms,
	// so tests on the wall clock see fires promptly.
	PollInterval time.Duration
}

// Bundle is a running test server.
type Bundle struct {
	// URL is the server's base URL ("http://127.0.0.1:port").
	URL string
	// Namespace is unique to the test; pass it to clients.
	Namespace string
	// Server is the server under test.
	Server *server.Server
	// Redis is its backend.
	Redis *testredis.Bundle
}

// Start starts a server and stops it (loops first, then connections) when
// the test ends.
func Start(t testing.TB, opts Options) *Bundle {
	t.Helper()
	if opts.Redis == nil {
		opts.Redis = testredis.New(t)
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = 20 * time.Millisecond
	}
	srv, err := server.New(server.Config{
		Redis:        opts.Redis.Client,
		KeyPrefix:    opts.Redis.Prefix,
		Clock:        opts.Clock,
		Logger:       slog.New(slog.DiscardHandler),
		PollInterval: opts.PollInterval,
		DisableLoops: opts.DisableLoops,
	})
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	// net/http's own unencrypted HTTP/2 rather than the handler's h2c
	// upgrade, so that Close ends every connection and no goroutine leaks.
	hs := httptest.NewUnstartedServer(srv.Handler())
	hs.Config.Protocols = new(http.Protocols)
	hs.Config.Protocols.SetHTTP1(true)
	hs.Config.Protocols.SetUnencryptedHTTP2(true)
	hs.Start()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("server loops: %v", err)
		}
		hs.CloseClientConnections()
		hs.Close()
	})
	return &Bundle{URL: hs.URL, Namespace: opts.Redis.Namespace, Server: srv, Redis: opts.Redis}
}
