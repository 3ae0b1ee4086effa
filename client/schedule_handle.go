package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"

	"github.com/sundial-dev/sundial/internal/convert"
	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/schedule"
)

// ErrSkipScheduleUpdate, returned by a DoUpdate callback, ends Update
// without changing the schedule and without an error.
var ErrSkipScheduleUpdate = errors.New("skip schedule update")

// DefaultScheduleUpdateAttempts is how many times Update tries when the
// schedule keeps changing under it.
const DefaultScheduleUpdateAttempts = 5

// ScheduleHandle acts on one schedule. Get one from ScheduleClient.Create or
// ScheduleClient.GetHandle; it is safe for concurrent use.
type ScheduleHandle struct {
	c  *Client
	id string
}

// GetID returns the schedule's id.
func (h *ScheduleHandle) GetID() string { return h.id }

// Describe returns the schedule's definition, what the server knows about
// its history and future, and the conflict token for Update.
func (h *ScheduleHandle) Describe(ctx context.Context) (*ScheduleDescription, error) {
	res, err := h.c.schedules.DescribeSchedule(ctx, connect.NewRequest(&pb.DescribeScheduleRequest{
		Namespace: h.c.Namespace(), ScheduleId: h.id,
	}))
	if err != nil {
		return nil, fromScheduleConnect(err)
	}
	return &ScheduleDescription{
		Schedule:      convert.FromSchedule(res.Msg.GetSchedule()),
		Info:          fromScheduleInfo(res.Msg.GetInfo()),
		ConflictToken: res.Msg.GetConflictToken(),
	}, nil
}

// ScheduleUpdateInput is what a DoUpdate callback gets: the schedule as it
// is now.
type ScheduleUpdateInput struct {
	// Description is a fresh Describe of the schedule; the callback may
	// modify Description.Schedule and return it.
	Description ScheduleDescription
}

// ScheduleUpdate is what a DoUpdate callback returns.
type ScheduleUpdate struct {
	// Schedule replaces the schedule's spec, action, policy, state and tags,
	// all at once. nil leaves the schedule unchanged.
	Schedule *schedule.Schedule
}

// ScheduleUpdateOptions configures Update.
type ScheduleUpdateOptions struct {
	// DoUpdate computes the new schedule from the current one. It may be
	// called more than once (see Update), so it must not have side effects
	// beyond its result. Return ErrSkipScheduleUpdate to change nothing.
	// Required.
	DoUpdate func(ScheduleUpdateInput) (*ScheduleUpdate, error)
	// MaxAttempts bounds how many read-modify-write rounds Update makes
	// while the schedule keeps changing under it. Optional: defaults to
	// DefaultScheduleUpdateAttempts.
	MaxAttempts int
}

// Update changes the schedule with a read-modify-write: it describes the
// schedule, calls DoUpdate and sends the result with the conflict token it
// read. When someone else changed the schedule in between (the token is
// stale), it starts over, up to MaxAttempts times, then fails with
// ErrConflict. An error from DoUpdate ends Update with that error, except
// ErrSkipScheduleUpdate, which ends it with nil.
func (h *ScheduleHandle) Update(ctx context.Context, opts ScheduleUpdateOptions) error {
	if opts.DoUpdate == nil {
		return errors.New("schedule update: DoUpdate is required")
	}
	attempts := opts.MaxAttempts
	if attempts <= 0 {
		attempts = DefaultScheduleUpdateAttempts
	}
	var err error
	for range attempts {
		var d *ScheduleDescription
		d, err = h.Describe(ctx)
		if err != nil {
			return err
		}
		upd, uerr := opts.DoUpdate(ScheduleUpdateInput{Description: *d})
		if errors.Is(uerr, ErrSkipScheduleUpdate) {
			return nil
		}
		if uerr != nil {
			return uerr
		}
		if upd == nil || upd.Schedule == nil {
			return nil
		}
		p, perr := schedulePB(*upd.Schedule)
		if perr != nil {
			return perr
		}
		_, err = h.c.schedules.UpdateSchedule(ctx, connect.NewRequest(&pb.UpdateScheduleRequest{
			Namespace: h.c.Namespace(), ScheduleId: h.id, Schedule: p, ConflictToken: d.ConflictToken,
		}))
		err = fromScheduleConnect(err)
		if !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("schedule %q changed during each of %d update attempts: %w", h.id, attempts, err)
}

// SchedulePauseOptions configures Pause.
type SchedulePauseOptions struct {
	// Note says why; it replaces the schedule's note. Optional: defaults to
	// none (the note is cleared).
	Note string
}

// Pause stops the schedule from firing. Triggers and backfills still run.
func (h *ScheduleHandle) Pause(ctx context.Context, opts SchedulePauseOptions) error {
	_, err := h.c.schedules.PauseSchedule(ctx, connect.NewRequest(&pb.PauseScheduleRequest{
		Namespace: h.c.Namespace(), ScheduleId: h.id, Note: opts.Note,
	}))
	return fromScheduleConnect(err)
}

// ScheduleUnpauseOptions configures Unpause.
type ScheduleUnpauseOptions struct {
	// Note says why; it replaces the schedule's note. Optional: defaults to
	// none (the note is cleared).
	Note string
}

// Unpause lets a paused schedule fire again. Fires missed while paused are
// not caught up.
func (h *ScheduleHandle) Unpause(ctx context.Context, opts ScheduleUnpauseOptions) error {
	_, err := h.c.schedules.UnpauseSchedule(ctx, connect.NewRequest(&pb.UnpauseScheduleRequest{
		Namespace: h.c.Namespace(), ScheduleId: h.id, Note: opts.Note,
	}))
	return fromScheduleConnect(err)
}

// ScheduleTriggerOptions configures Trigger.
type ScheduleTriggerOptions struct {
	// Overlap applies to this run. Optional: defaults to the schedule's policy.
	Overlap schedule.OverlapPolicy
}

// ScheduleTriggerResult says what a trigger did.
type ScheduleTriggerResult struct {
	// WorkflowID is the workflow id of the run started; empty when none was.
	WorkflowID string `json:"workflow_id,omitempty"`
	// RunID is the run's id.
	RunID string `json:"run_id,omitempty"`
	// Outcome is STARTED, or why no run started (SKIPPED_OVERLAP, BUFFERED...).
	Outcome ScheduleExecutionOutcome `json:"outcome"`
}

// Trigger runs the schedule's action now, paused or not, without consuming
// a remaining action.
func (h *ScheduleHandle) Trigger(ctx context.Context, opts ScheduleTriggerOptions) (ScheduleTriggerResult, error) {
	res, err := h.c.schedules.TriggerSchedule(ctx, connect.NewRequest(&pb.TriggerScheduleRequest{
		Namespace: h.c.Namespace(), ScheduleId: h.id, Overlap: convert.Overlap(opts.Overlap),
	}))
	if err != nil {
		return ScheduleTriggerResult{}, fromScheduleConnect(err)
	}
	return ScheduleTriggerResult{
		WorkflowID: res.Msg.GetWorkflowId(),
		RunID:      res.Msg.GetRunId(),
		Outcome:    ScheduleExecutionOutcome(res.Msg.GetOutcome()),
	}, nil
}

// ScheduleBackfillOptions configures Backfill.
type ScheduleBackfillOptions struct {
	// Backfill lists the ranges to run. Required: at least one.
	Backfill []ScheduleBackfill
}

// Backfill runs now the nominal times the spec had in each range, paused or
// not, and returns how many nominal times it took.
func (h *ScheduleHandle) Backfill(ctx context.Context, opts ScheduleBackfillOptions) (int64, error) {
	req := &pb.BackfillScheduleRequest{Namespace: h.c.Namespace(), ScheduleId: h.id}
	for _, b := range opts.Backfill {
		req.Ranges = append(req.Ranges, &pb.BackfillRange{
			StartTime: convert.Timestamp(b.Start), EndTime: convert.Timestamp(b.End), Overlap: convert.Overlap(b.Overlap),
		})
	}
	res, err := h.c.schedules.BackfillSchedule(ctx, connect.NewRequest(req))
	if err != nil {
		return 0, fromScheduleConnect(err)
	}
	return res.Msg.GetNominalTimes(), nil
}

// Delete removes the schedule. Runs it started are not affected.
func (h *ScheduleHandle) Delete(ctx context.Context) error {
	_, err := h.c.schedules.DeleteSchedule(ctx, connect.NewRequest(&pb.DeleteScheduleRequest{
		Namespace: h.c.Namespace(), ScheduleId: h.id,
	}))
	return fromScheduleConnect(err)
}

// ListMatchingTimes previews the schedule's next nominal times from start
// (the zero time means now), at most limit of them (0 means 10).
func (h *ScheduleHandle) ListMatchingTimes(ctx context.Context, start time.Time, limit int) ([]time.Time, error) {
	return ScheduleClient{c: h.c}.ListMatchingTimes(ctx, ScheduleMatchingTimesOptions{ScheduleID: h.id, Start: start, Limit: limit})
}
