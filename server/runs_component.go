package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"connectrpc.com/connect"

	"github.com/sundial-dev/sundial/internal/errs"
	"github.com/sundial-dev/sundial/internal/gen/sundial/v1/sundialv1connect"
	"github.com/sundial-dev/sundial/internal/runs"
	"github.com/sundial-dev/sundial/internal/runstore"
	"github.com/sundial-dev/sundial/schedule"
)

// runsComponent serves WorkflowService and WorkerService and runs the timer
// loop (delayed starts, retries, timeouts, lapsed leases, cron chains) and
// the outbox consumer that tells the scheduler about closed runs.
type runsComponent struct {
	cfg      *Config
	log      *slog.Logger
	store    *runstore.Store
	hub      *hub
	onClosed runs.ClosedHandler
	// outboxGroup is the consumer group reading closed-run events.
	outboxGroup string
	// lastReclaim is when deliverClosed last took over events another
	// replica left pending (wall time: it measures Redis idle times).
	lastReclaim time.Time
	// pollClaimed, when set (tests), is called when a PollTasks has claimed
	// tasks, before it checks whether its caller is still there.
	pollClaimed func()
}

// compressMinBytes is the smallest response the runs services compress.
// A PollTasks response of tens of tasks is a few KiB: gzipping it cost the
// server and the worker about 15% of their CPU per run in the throughput
// bench, for bytes a LAN does not miss.
const compressMinBytes = 64 << 10

func newRunsComponent(cfg *Config) (*runsComponent, error) {
	st, err := runstore.New(runstore.Options{
		Client:     cfg.Redis,
		Prefix:     cfg.KeyPrefix,
		Clock:      cfg.Clock,
		Partitions: cfg.Partitions,
		NextCron:   nextCron,
		Retention:  cfg.RunRetention,
	})
	if err != nil {
		return nil, err
	}
	log := cfg.Logger.With("component", "runs", "replica", cfg.ReplicaID)
	return &runsComponent{
		cfg:         cfg,
		log:         log,
		store:       st,
		hub:         newHub(cfg.Redis, st.Channel(), log),
		outboxGroup: "scheduler",
	}, nil
}

// nextCron returns the first time after t that a cron workflow's
// expression matches, with the calendar engine's dialects and rules.
func nextCron(expr string, after time.Time) (time.Time, error) {
	c, err := compileCron(expr)
	if err != nil {
		return time.Time{}, err
	}
	next, ok := c.Next(after)
	if !ok {
		return time.Time{}, errs.Field("cron_schedule", "%q never matches after %s", expr, after.Format(time.RFC3339))
	}
	return next, nil
}

// compileCron compiles a cron workflow's expression; an error is
// InvalidArgument on field cron_schedule.
func compileCron(expr string) (*schedule.CompiledSpec, error) {
	c, err := schedule.Compile(schedule.Spec{CronExpressions: []string{expr}})
	if err != nil {
		var se *schedule.Error
		if errors.As(err, &se) {
			// The engine names the spec's field ("cron_expressions[0]:
			// minute"); keep only the part inside the expression.
			part := strings.TrimPrefix(strings.TrimPrefix(se.Path, "cron_expressions[0]"), ": ")
			if part != "" && part != se.Path {
				return nil, errs.Field("cron_schedule", "%s: %s", part, se.Reason)
			}
			return nil, errs.Field("cron_schedule", "%s", se.Reason)
		}
		return nil, errs.Field("cron_schedule", "%v", err)
	}
	return c, nil
}

// starter returns the runs.Starter the scheduler uses: the store, behind
// the same validation as StartWorkflow.
func (c *runsComponent) starter() runs.Starter { return validatingStarter{c.store} }

func (c *runsComponent) setClosedHandler(h runs.ClosedHandler) { c.onClosed = h }

func (c *runsComponent) mount(mux *http.ServeMux, opts []connect.HandlerOption) {
	// Task and run messages are small and on the hot path: compressing them
	// costs more CPU than it saves bytes.
	opts = append(slices.Clip(opts), connect.WithCompressMinBytes(compressMinBytes))
	mux.Handle(sundialv1connect.NewWorkflowServiceHandler(&workflowHandler{c: c}, opts...))
	mux.Handle(sundialv1connect.NewWorkerServiceHandler(&workerHandler{c: c}, opts...))
}

func (c *runsComponent) serviceNames() []string {
	return []string{sundialv1connect.WorkflowServiceName, sundialv1connect.WorkerServiceName}
}

// run runs the timer loop until ctx ends. It holds the event subscription
// for its whole life so that long polls never wait for one.
func (c *runsComponent) run(ctx context.Context) error {
	for {
		if err := c.hub.acquire(ctx); err == nil {
			break
		} else if ctx.Err() != nil {
			return nil
		} else {
			c.log.WarnContext(ctx, "subscribe to run events failed; retrying", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
	defer c.hub.release()
	t := time.NewTicker(c.cfg.PollInterval)
	defer t.Stop()
	for {
		if err := c.tick(ctx); err != nil && ctx.Err() == nil {
			c.log.WarnContext(ctx, "timer pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
