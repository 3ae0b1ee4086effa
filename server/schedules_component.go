package server

import (
	"context"
	"net/http"

	"connectrpc.com/connect"

	"github.com/sundial-dev/sundial/internal/runs"
)

// schedulesComponent serves ScheduleService and runs the scheduler loop.
// (Being built: see issue 3.)
type schedulesComponent struct {
	cfg     *Config
	starter runs.Starter
}

func newSchedulesComponent(cfg *Config, starter runs.Starter) (*schedulesComponent, error) {
	return &schedulesComponent{cfg: cfg, starter: starter}, nil
}

func (c *schedulesComponent) closedHandler() runs.ClosedHandler {
	return func(context.Context, runs.Closed) error { return nil }
}

func (c *schedulesComponent) mount(*http.ServeMux, []connect.HandlerOption) {}

func (c *schedulesComponent) serviceNames() []string { return nil }

func (c *schedulesComponent) run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}
