// Command killtest is a worker process for worker's kill test. It runs the
// "Block" workflow on a task queue and prints, on stdout, "ready" once it
// polls and "started <workflow id> <attempt>" when an attempt begins. With
// --block the workflow never returns on its own (the test kills the process);
// without it the workflow returns {"pid": <pid>, "attempt": <attempt>}.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/sundial-dev/sundial/client"
	"github.com/sundial-dev/sundial/worker"
)

// Result is what the workflow returns when it does not block.
type Result struct {
	PID     int `json:"pid"`
	Attempt int `json:"attempt"`
}

func main() {
	addr := flag.String("addr", "", "server address")
	ns := flag.String("namespace", "", "namespace")
	queue := flag.String("queue", "", "task queue")
	block := flag.Bool("block", false, "block in the workflow until killed")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, *ns, *queue, *block); err != nil {
		fmt.Fprintln(os.Stderr, "killtest:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, addr, ns, queue string, block bool) error {
	c, err := client.Dial(ctx, client.Options{Address: addr, Namespace: ns, Identity: fmt.Sprintf("killtest-%d", os.Getpid())})
	if err != nil {
		return err
	}
	defer c.Close()
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Printf(format+"\n", args...)
	}
	w := worker.New(c, queue, worker.Options{
		Identity:    fmt.Sprintf("killtest-%d", os.Getpid()),
		GracePeriod: time.Second,
		PollWait:    5 * time.Second,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	w.RegisterWorkflow("Block", func(ctx context.Context) (Result, error) {
		info := worker.GetInfo(ctx)
		say("started %s %d", info.WorkflowID, info.Attempt)
		if block {
			<-ctx.Done()
			return Result{}, ctx.Err()
		}
		return Result{PID: os.Getpid(), Attempt: info.Attempt}, nil
	})
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	say("ready")
	return <-done
}
