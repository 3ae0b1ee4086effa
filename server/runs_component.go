package server

import (
	"context"
	"net/http"

	"connectrpc.com/connect"

	"github.com/sundial-dev/sundial/internal/runs"
)

// runsComponent serves WorkflowService and WorkerService and runs the timer
// loop. (Being built: see issue 4.)
type runsComponent struct {
	cfg      *Config
	onClosed runs.ClosedHandler
}

func newRunsComponent(cfg *Config) (*runsComponent, error) {
	return &runsComponent{cfg: cfg}, nil
}

func (c *runsComponent) starter() runs.Starter { return nil }

func (c *runsComponent) setClosedHandler(h runs.ClosedHandler) { c.onClosed = h }

func (c *runsComponent) mount(*http.ServeMux, []connect.HandlerOption) {}

func (c *runsComponent) serviceNames() []string { return nil }

func (c *runsComponent) run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}
