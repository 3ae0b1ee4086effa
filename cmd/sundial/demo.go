package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"

	"golang.org/x/sync/errgroup"

	"github.com/sundial-dev/sundial/client"
	"github.com/sundial-dev/sundial/worker"
)

// DemoWorkflowType is the workflow the dev server's demo worker runs: it
// returns its input, so a schedule's runs complete with a visible result.
const DemoWorkflowType = "sundial.echo"

// echo is the demo workflow.
func echo(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
	if len(in) == 0 {
		return json.RawMessage("null"), nil
	}
	return in, nil
}

// runDemoWorker runs the built-in demo worker against the server at url,
// one worker per demo queue, until ctx ends.
func runDemoWorker(ctx context.Context, url string, logOut io.Writer) error {
	c, err := client.NewLazy(client.Options{Address: url, Identity: "sundial-dev-demo"})
	if err != nil {
		return err
	}
	defer c.Close()
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	g, ctx := errgroup.WithContext(ctx)
	for _, q := range demoQueues {
		w := worker.New(c, q, worker.Options{Identity: "sundial-dev-demo", Logger: log})
		w.RegisterWorkflow(DemoWorkflowType, echo)
		g.Go(func() error { return w.Run(ctx) })
	}
	return ignoreCanceled(g.Wait())
}
