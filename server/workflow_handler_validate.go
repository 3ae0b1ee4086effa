package server

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/sundial-dev/sundial/internal/errs"
	"github.com/sundial-dev/sundial/internal/ids"
	"github.com/sundial-dev/sundial/internal/runs"
	"github.com/sundial-dev/sundial/internal/runstore"
	"github.com/sundial-dev/sundial/schedule"
)

// runstoreDefaultInitial is a retry policy's default initial interval.
const runstoreDefaultInitial = time.Second

// maxRequestID caps a start's request id, in bytes.
const maxRequestID = 255

// validateStart checks a start request at the edge, naming the field of
// the first problem, and fills in the namespace default. The scheduler's
// starts pass through it too.
func validateStart(req *runs.StartRequest) error {
	ns, err := ids.Namespace(req.Namespace)
	if err != nil {
		return err
	}
	req.Namespace = ns
	if err := ids.WorkflowID("workflow_id", req.WorkflowID); err != nil {
		return err
	}
	if err := ids.TypeName("workflow_type", req.WorkflowType); err != nil {
		return err
	}
	if err := ids.TaskQueue("task_queue", req.TaskQueue); err != nil {
		return err
	}
	if len(req.Input) > 0 && !json.Valid(req.Input) {
		return errs.Field("input", "is not valid JSON")
	}
	switch {
	case req.StartDelay < 0:
		return errs.Field("start_delay", "must not be negative, got %s", req.StartDelay)
	case req.StartDelay > 0 && req.CronSchedule != "":
		return errs.Field("start_delay", "cannot be combined with cron_schedule (a cron workflow starts at the next matching time; drop one of them)")
	case req.RunTimeout < 0:
		return errs.Field("run_timeout", "must not be negative, got %s", req.RunTimeout)
	case req.ExecutionTimeout < 0:
		return errs.Field("execution_timeout", "must not be negative, got %s", req.ExecutionTimeout)
	case req.HeartbeatTimeout < 0:
		return errs.Field("heartbeat_timeout", "must not be negative, got %s", req.HeartbeatTimeout)
	case req.IDReusePolicy < runs.IDReuseUnspecified || req.IDReusePolicy > runs.IDReuseTerminateIfRunning:
		return errs.Field("id_reuse_policy", "%d is not a known id reuse policy", int(req.IDReusePolicy))
	case len(req.RequestID) > maxRequestID:
		return errs.Field("request_id", "is %d bytes long; the limit is %d", len(req.RequestID), maxRequestID)
	}
	if req.CronSchedule != "" {
		if _, err := compileCron(req.CronSchedule); err != nil {
			return err
		}
	}
	if err := validateRetryPolicy(req.RetryPolicy); err != nil {
		return err
	}
	for k, v := range req.Memo {
		if len(v) > 0 && !json.Valid(v) {
			return errs.Field("memo["+k+"]", "is not valid JSON")
		}
	}
	return nil
}

// validateRetryPolicy checks a retry policy; nil is valid (no retries).
func validateRetryPolicy(p *schedule.RetryPolicy) error {
	if p == nil {
		return nil
	}
	switch {
	case p.InitialInterval < 0:
		return errs.Field("retry_policy.initial_interval", "must not be negative, got %s", p.InitialInterval)
	case p.BackoffCoefficient != 0 && p.BackoffCoefficient < 1:
		return errs.Field("retry_policy.backoff_coefficient", "must be at least 1 (or 0 for the default 2), got %g", p.BackoffCoefficient)
	case p.MaximumInterval < 0:
		return errs.Field("retry_policy.maximum_interval", "must not be negative, got %s", p.MaximumInterval)
	case p.MaximumAttempts < 0:
		return errs.Field("retry_policy.maximum_attempts", "must not be negative, got %d", p.MaximumAttempts)
	}
	initial := p.InitialInterval
	if initial == 0 {
		initial = runstoreDefaultInitial
	}
	if p.MaximumInterval > 0 && p.MaximumInterval < initial {
		return errs.Field("retry_policy.maximum_interval", "%s is below the initial interval %s (raise it, or lower initial_interval)", p.MaximumInterval, initial)
	}
	return nil
}

// validatingStarter is the runs.Starter the scheduler gets: the store's,
// with StartWorkflow's validation in front.
type validatingStarter struct{ st *runstore.Store }

func (v validatingStarter) Start(ctx context.Context, req runs.StartRequest) (runs.StartResult, error) {
	if err := validateStart(&req); err != nil {
		return runs.StartResult{}, err
	}
	return v.st.Start(ctx, req)
}

func (v validatingStarter) Statuses(ctx context.Context, ns string, refs []runs.RunRef) ([]runs.Status, error) {
	return v.st.Statuses(ctx, ns, refs)
}

func (v validatingStarter) Cancel(ctx context.Context, ns, wf, rid, reason string) error {
	return v.st.Cancel(ctx, ns, wf, rid, reason)
}

func (v validatingStarter) Terminate(ctx context.Context, ns, wf, rid, reason string) error {
	return v.st.Terminate(ctx, ns, wf, rid, reason)
}

// Prepare validates each request as Start would and prepares the valid
// ones; an invalid one gets no run id ("") and fails later, in Start.
func (v validatingStarter) Prepare(ctx context.Context, reqs []runs.StartRequest) ([]string, error) {
	valid := make([]runs.StartRequest, 0, len(reqs))
	at := make([]int, 0, len(reqs))
	for i, req := range reqs {
		if validateStart(&req) == nil && req.Preparable() {
			valid, at = append(valid, req), append(at, i)
		}
	}
	got, err := v.st.Prepare(ctx, valid)
	if err != nil {
		return nil, err
	}
	runIDs := make([]string, len(reqs))
	for j, i := range at {
		runIDs[i] = got[j]
	}
	return runIDs, nil
}

// Discard fills in the namespace default, as Prepare did, so that it finds
// the runs Prepare wrote.
func (v validatingStarter) Discard(ctx context.Context, reqs []runs.StartRequest) error {
	reqs = slices.Clone(reqs)
	for i := range reqs {
		if ns, err := ids.Namespace(reqs[i].Namespace); err == nil {
			reqs[i].Namespace = ns
		}
	}
	return v.st.Discard(ctx, reqs)
}
