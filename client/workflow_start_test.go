package client_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"sync"
	"testing"

	"github.com/sundial-dev/sundial/client"
	"github.com/sundial-dev/sundial/internal/testredis"
	"github.com/sundial-dev/sundial/internal/testsync"
	"github.com/sundial-dev/sundial/server"
)

// startGate passes requests to h, counting start calls by procedure, and
// holds the first `hold` StartWorkflow calls until release is closed.
type startGate struct {
	h       http.Handler
	hold    int
	entered chan struct{}
	release chan struct{}
	// unimplemented makes StartWorkflows answer 404, as a server without it.
	unimplemented bool

	mu    sync.Mutex
	calls map[string]int
}

func (g *startGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := path.Base(r.URL.Path)
	g.mu.Lock()
	g.calls[name]++
	held := name == "StartWorkflow" && g.calls[name] <= g.hold
	g.mu.Unlock()
	if name == "StartWorkflows" && g.unimplemented {
		http.NotFound(w, r)
		return
	}
	if held {
		g.entered <- struct{}{}
		<-g.release
	}
	g.h.ServeHTTP(w, r)
}

func (g *startGate) count(name string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls[name]
}

func gatedClient(t *testing.T, g *startGate, maxRequestBytes int) *client.Client {
	t.Helper()
	rb := testredis.New(t)
	srv, err := server.New(server.Config{Redis: rb.Client, KeyPrefix: rb.Prefix, MaxRequestBytes: maxRequestBytes,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	g.h = srv.Handler()
	ts := httptest.NewServer(g)
	t.Cleanup(ts.Close)
	// HTTP/1.1, which httptest serves.
	c, err := client.NewLazy(client.Options{Address: ts.URL, Namespace: rb.Namespace, HTTPClient: &http.Client{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestConcurrentStartsShareCalls: while the client's start calls are out,
// further ExecuteWorkflow calls wait and then go out together in one
// StartWorkflows call; each gets its own run, or its own error.
func TestConcurrentStartsShareCalls(t *testing.T) {
	t.Parallel()
	for _, unimplemented := range []bool{false, true} {
		t.Run(fmt.Sprintf("server_without_batch=%v", unimplemented), func(t *testing.T) {
			t.Parallel()
			g := &startGate{hold: client.MaxStartsInFlight, entered: make(chan struct{}, client.MaxStartsInFlight),
				release: make(chan struct{}), calls: map[string]int{}, unimplemented: unimplemented}
			c := gatedClient(t, g, 0)
			ctx := testCtx(t)
			const queued = 10
			allQueued := make(chan struct{})
			var once sync.Once
			client.OnStartQueued(c, func(n int) {
				if n == queued {
					once.Do(func() { close(allQueued) })
				}
			})
			type result struct {
				id, runID string
				err       error
			}
			results := make(chan result, client.MaxStartsInFlight+queued)
			start := func(id string) {
				run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: "q"}, "T", map[string]string{"id": id})
				r := result{id: id, err: err}
				if err == nil {
					r.runID = run.GetRunID()
				}
				results <- r
			}
			for i := range client.MaxStartsInFlight {
				go start(fmt.Sprint("first-", i))
				testsync.Recv(t, g.entered, "a held StartWorkflow call")
			}
			for i := range queued - 1 {
				go start(fmt.Sprint("rest-", i))
			}
			go start("first-0") // a duplicate of an open run: AlreadyExists
			testsync.Recv(t, allQueued, "the other starts to queue")
			close(g.release)

			runIDs := map[string]bool{}
			for range client.MaxStartsInFlight + queued {
				r := testsync.Recv(t, results, "a start's result")
				switch {
				case r.id == "first-0" && r.err != nil:
					if !errors.Is(r.err, client.ErrWorkflowAlreadyStarted) {
						t.Errorf("duplicate start: %v, want ErrWorkflowAlreadyStarted", r.err)
					}
				case r.err != nil:
					t.Errorf("start %s: %v", r.id, r.err)
				default:
					runIDs[r.runID] = true
					d, err := c.DescribeWorkflow(ctx, r.id, "")
					if err != nil || d.RunID != r.runID {
						t.Errorf("describe %s = %+v, %v; want run %s", r.id, d, err, r.runID)
					}
				}
			}
			if len(runIDs) != client.MaxStartsInFlight+queued-1 {
				t.Errorf("%d distinct runs started, want %d", len(runIDs), client.MaxStartsInFlight+queued-1)
			}
			wantSingles, wantBatches := client.MaxStartsInFlight, 1
			if unimplemented {
				wantSingles += queued // the fallback starts each one alone
			}
			if s, b := g.count("StartWorkflow"), g.count("StartWorkflows"); s != wantSingles || b != wantBatches {
				t.Errorf("%d StartWorkflow and %d StartWorkflows calls, want %d and %d", s, b, wantSingles, wantBatches)
			}
		})
	}
}

// TestBatchTooBigForTheServerIsSentOneByOne: a server with a low request
// limit refuses a batch whose starts each fit; the client then sends them
// one by one, and every start succeeds.
func TestBatchTooBigForTheServerIsSentOneByOne(t *testing.T) {
	t.Parallel()
	g := &startGate{hold: client.MaxStartsInFlight, entered: make(chan struct{}, client.MaxStartsInFlight),
		release: make(chan struct{}), calls: map[string]int{}}
	c := gatedClient(t, g, 4096)
	ctx := testCtx(t)
	const queued = 3
	allQueued := make(chan struct{})
	var once sync.Once
	client.OnStartQueued(c, func(n int) {
		if n == queued {
			once.Do(func() { close(allQueued) })
		}
	})
	big := strings.Repeat("x", 1500) // three of them exceed 4 KiB, one does not
	errs := make(chan error, client.MaxStartsInFlight+queued)
	start := func(i int) {
		_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: "q"}, "T", map[string]string{"pad": big})
		errs <- err
	}
	for i := range client.MaxStartsInFlight {
		go start(i)
		testsync.Recv(t, g.entered, "a held StartWorkflow call")
	}
	for i := range queued {
		go start(client.MaxStartsInFlight + i)
	}
	testsync.Recv(t, allQueued, "the other starts to queue")
	close(g.release)
	for range client.MaxStartsInFlight + queued {
		if err := testsync.Recv(t, errs, "a start's result"); err != nil {
			t.Errorf("start: %v", err)
		}
	}
	if s, b := g.count("StartWorkflow"), g.count("StartWorkflows"); s != client.MaxStartsInFlight+queued || b != 1 {
		t.Errorf("%d StartWorkflow and %d StartWorkflows calls, want %d and 1", s, b, client.MaxStartsInFlight+queued)
	}
}
