package server

import (
	"context"
	"net/http"

	"connectrpc.com/connect"

	"github.com/sundial-dev/sundial/internal/gen/sundial/v1/sundialv1connect"
	"github.com/sundial-dev/sundial/internal/runs"
	"github.com/sundial-dev/sundial/internal/schedstore"
)

// schedulesComponent serves ScheduleService and runs the scheduler loop.
type schedulesComponent struct {
	cfg     *Config
	starter runs.Starter
	sched   *scheduler
	handler *scheduleHandler
}

func newSchedulesComponent(cfg *Config, starter runs.Starter) (*schedulesComponent, error) {
	st := schedstore.New(cfg.Redis, cfg.KeyPrefix, cfg.Partitions)
	sc := newScheduler(cfg, st, starter)
	return &schedulesComponent{
		cfg: cfg, starter: starter, sched: sc,
		handler: &scheduleHandler{store: st, starter: starter, clock: cfg.Clock, sched: sc},
	}, nil
}

// closedHandler is how the run store tells the scheduler that a run a
// schedule started has closed.
func (c *schedulesComponent) closedHandler() runs.ClosedHandler {
	return c.sched.onClosed
}

func (c *schedulesComponent) mount(mux *http.ServeMux, opts []connect.HandlerOption) {
	mux.Handle(sundialv1connect.NewScheduleServiceHandler(c.handler, opts...))
}

func (c *schedulesComponent) serviceNames() []string {
	return []string{sundialv1connect.ScheduleServiceName}
}

// run runs the scheduler loop until ctx ends. Without a run store there is
// nothing to start, so the loop does not run.
func (c *schedulesComponent) run(ctx context.Context) error {
	if c.starter == nil {
		c.cfg.Logger.Warn("no run store: the scheduler loop is off")
		<-ctx.Done()
		return nil
	}
	return c.sched.run(ctx)
}

// tick runs one scheduler pass, for tests that drive the clock.
func (c *schedulesComponent) tick(ctx context.Context) (int, error) { return c.sched.tick(ctx) }
