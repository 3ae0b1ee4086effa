package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"

	"github.com/sundial-dev/sundial/internal/convert"
	"github.com/sundial-dev/sundial/internal/errs"
	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/internal/ids"
	"github.com/sundial-dev/sundial/internal/runs"
	"github.com/sundial-dev/sundial/internal/schedstore"
)

// backfillChunk is how many backfilled fires one commit records.
const backfillChunk = 200

func (h *scheduleHandler) needStarter() error {
	if h.starter == nil {
		return errs.FailedPrecondition("this server has no run store, so it cannot start runs")
	}
	return nil
}

// TriggerSchedule starts the action now. It ignores pause and remaining
// actions; the workflow id carries a per-schedule sequence number, so two
// triggers in one second both start.
func (h *scheduleHandler) TriggerSchedule(ctx context.Context, req *connect.Request[pb.TriggerScheduleRequest]) (*connect.Response[pb.TriggerScheduleResponse], error) {
	m := req.Msg
	ns, err := scheduleRef(m.GetNamespace(), m.GetScheduleId())
	if err != nil {
		return nil, toConnect(err)
	}
	overlap, err := checkOverlap("overlap", m.GetOverlap())
	if err != nil {
		return nil, toConnect(err)
	}
	if err := h.needStarter(); err != nil {
		return nil, toConnect(err)
	}
	rec, err := h.store.Get(ctx, ns, m.GetScheduleId())
	if err != nil {
		return nil, toConnect(err)
	}
	seq, err := h.store.NextSeq(ctx, ns, rec.ID)
	if err != nil {
		return nil, toConnect(err)
	}
	now := h.clock.Now()
	nominal := now.UTC().Truncate(time.Second)
	f := newFirer(h.store, h.starter, h.clock, rec)
	e, err := f.fire(ctx, nominal, manualWorkflowID(rec, nominal, seq), runs.TriggerManual, overlap)
	if err != nil {
		return nil, toConnect(err)
	}
	if _, err := h.store.Commit(ctx, ns, rec.ID, f.commit()); err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&pb.TriggerScheduleResponse{WorkflowId: e.WorkflowID, RunId: e.RunID, Outcome: pb.ExecutionOutcome(e.Outcome)}), nil
}

// BackfillSchedule runs the nominal times of the given ranges now, each
// range under its own overlap policy (unspecified: the schedule's). The
// ranges may hold at most maxBackfillTimes nominal times together. Backfill
// ignores pause, the catchup window and remaining actions; its workflow ids
// are the scheduled ones, so a time that already ran is not run again.
func (h *scheduleHandler) BackfillSchedule(ctx context.Context, req *connect.Request[pb.BackfillScheduleRequest]) (*connect.Response[pb.BackfillScheduleResponse], error) {
	m := req.Msg
	ns, err := scheduleRef(m.GetNamespace(), m.GetScheduleId())
	if err != nil {
		return nil, toConnect(err)
	}
	rec, err := h.store.Get(ctx, ns, m.GetScheduleId())
	if err != nil {
		return nil, toConnect(err)
	}
	spec, err := compileSpec(rec.Def.Spec)
	if err != nil {
		return nil, toConnect(specError("schedule.spec", err))
	}
	times, pols, err := backfillTimes(spec, m.GetRanges())
	if err != nil {
		return nil, toConnect(err)
	}
	if err := h.needStarter(); err != nil {
		return nil, toConnect(err)
	}
	var total int64
	f := newFirer(h.store, h.starter, h.clock, rec)
	flush := func() error {
		if len(f.c.Executions) == 0 {
			return nil
		}
		if _, err := h.store.Commit(ctx, ns, rec.ID, f.commit()); err != nil {
			return err
		}
		f = newFirer(h.store, h.starter, h.clock, rec)
		return nil
	}
	for i, ts := range times {
		for _, t := range ts {
			if _, err := f.fire(ctx, t, workflowID(rec, t), runs.TriggerBackfill, pols[i]); err != nil {
				_ = flush()
				return nil, toConnect(err)
			}
			total++
			if len(f.c.Executions) >= backfillChunk {
				if err := flush(); err != nil {
					return nil, toConnect(err)
				}
			}
		}
	}
	if err := flush(); err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&pb.BackfillScheduleResponse{NominalTimes: total}), nil
}

// setAllPaused pauses or unpauses every schedule of ns carrying tags.
func (h *scheduleHandler) setAllPaused(ctx context.Context, nsIn string, tags map[string]string, note string, paused bool) (int64, error) {
	ns, err := ids.Namespace(nsIn)
	if err != nil {
		return 0, err
	}
	if err := checkTags("tags", tags); err != nil {
		return 0, err
	}
	if err := checkNote("note", note); err != nil {
		return 0, err
	}
	var count int64
	cursor := ""
	for {
		page, next, err := h.store.List(ctx, ns, cursor, 500, 5000, func(r *schedstore.Record) bool {
			return r.State.Paused != paused && hasTags(r.Def.Tags, tags)
		})
		if err != nil {
			return count, err
		}
		// One round trip changes the page; a schedule that changed since
		// the page was read is done again on its own, from a fresh read.
		reps := make([]schedstore.Replacement, 0, len(page))
		for _, e := range page {
			mu, changes, err := h.pauseMutation(e.ID, e.Record, paused, note)
			if err != nil {
				return count, err
			}
			if changes {
				reps = append(reps, schedstore.Replacement{Namespace: ns, ID: e.ID, Token: e.Record.Version, Mutation: mu})
			}
		}
		for i, r := range h.store.ReplaceMany(ctx, reps) {
			changed := r.Err == nil
			if errors.Is(r.Err, errs.ErrConflict) {
				changed, r.Err = h.setPaused(ctx, ns, reps[i].ID, nil, paused, note)
			} else if changed && !paused {
				h.sched.notify(reps[i].Mutation.Due)
			}
			if r.Err != nil && !isNotFound(r.Err) {
				return count, r.Err
			}
			if changed {
				count++
			}
		}
		if next == "" {
			return count, nil
		}
		cursor = next
	}
}

// PauseAllSchedules pauses every schedule of a namespace (optionally only
// those carrying every given tag).
func (h *scheduleHandler) PauseAllSchedules(ctx context.Context, req *connect.Request[pb.PauseAllSchedulesRequest]) (*connect.Response[pb.PauseAllSchedulesResponse], error) {
	n, err := h.setAllPaused(ctx, req.Msg.GetNamespace(), req.Msg.GetTags(), req.Msg.GetNote(), true)
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&pb.PauseAllSchedulesResponse{Count: n}), nil
}

// ResumeAllSchedules unpauses every schedule of a namespace (optionally
// only those carrying every given tag).
func (h *scheduleHandler) ResumeAllSchedules(ctx context.Context, req *connect.Request[pb.ResumeAllSchedulesRequest]) (*connect.Response[pb.ResumeAllSchedulesResponse], error) {
	n, err := h.setAllPaused(ctx, req.Msg.GetNamespace(), req.Msg.GetTags(), req.Msg.GetNote(), false)
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&pb.ResumeAllSchedulesResponse{Count: n}), nil
}

// ListScheduleMatchingTimes previews nominal times of a stored schedule or
// of an inline spec, from start_time (inclusive; default: after now) to
// end_time (inclusive; default open), at most limit (default 10, maximum
// 1000).
func (h *scheduleHandler) ListScheduleMatchingTimes(ctx context.Context, req *connect.Request[pb.ListScheduleMatchingTimesRequest]) (*connect.Response[pb.ListScheduleMatchingTimesResponse], error) {
	m := req.Msg
	ns, err := ids.Namespace(m.GetNamespace())
	if err != nil {
		return nil, toConnect(err)
	}
	limit := 10
	switch l := m.GetLimit(); {
	case l < 0 || l > 1000:
		return nil, toConnect(errs.Field("limit", "is %d; it must be in 0-1000 (0 means 10)", l))
	case l > 0:
		limit = int(l)
	}
	start, end := convert.FromTimestamp(m.GetStartTime()), convert.FromTimestamp(m.GetEndTime())
	after := start.Add(-time.Nanosecond) // an explicit start is inclusive
	if start.IsZero() {
		start = h.clock.Now()
		after = start // the default is "from now on", as Describe's next times
	}
	if !end.IsZero() && end.Before(start) {
		return nil, toConnect(errs.Field("end_time", "%s is before start_time %s", end.Format(time.RFC3339), start.Format(time.RFC3339)))
	}
	var spec compiledSpec
	switch {
	case m.GetScheduleId() != "" && m.GetSpec() != nil:
		return nil, toConnect(errs.Field("spec", "give either schedule_id or spec, not both"))
	case m.GetScheduleId() != "":
		if err := ids.ScheduleID("schedule_id", m.GetScheduleId()); err != nil {
			return nil, toConnect(err)
		}
		rec, err := h.store.Get(ctx, ns, m.GetScheduleId())
		if err != nil {
			return nil, toConnect(err)
		}
		if spec, err = compileSpec(rec.Def.Spec); err != nil {
			return nil, toConnect(specError("schedule.spec", err))
		}
	default:
		if _, spec, err = checkSpec("spec", m.GetSpec()); err != nil {
			return nil, toConnect(err)
		}
	}
	res := &pb.ListScheduleMatchingTimesResponse{}
	for t, ok := spec.Next(after); ok && len(res.StartTimes) < limit && (end.IsZero() || !t.After(end)); t, ok = spec.Next(t) {
		res.StartTimes = append(res.StartTimes, convert.Timestamp(t))
	}
	return connect.NewResponse(res), nil
}

// ListScheduleExecutions searches the execution records, newest first
// unless ascending. Retention: the latest schedstore.ExecutionsPerSchedule
// records per schedule.
func (h *scheduleHandler) ListScheduleExecutions(ctx context.Context, req *connect.Request[pb.ListScheduleExecutionsRequest]) (*connect.Response[pb.ListScheduleExecutionsResponse], error) {
	m := req.Msg
	ns, err := ids.Namespace(m.GetNamespace())
	if err != nil {
		return nil, toConnect(err)
	}
	if m.GetScheduleId() != "" {
		if err := ids.ScheduleID("schedule_id", m.GetScheduleId()); err != nil {
			return nil, toConnect(err)
		}
	}
	size, err := pageSize("page_size", m.GetPageSize())
	if err != nil {
		return nil, toConnect(err)
	}
	q := schedstore.ExecQuery{Namespace: ns, ScheduleID: m.GetScheduleId(), Ascending: m.GetAscending(), Limit: size, Cursor: m.GetPageToken()}
	for i, o := range m.GetOutcomes() {
		if _, ok := pb.ExecutionOutcome_name[int32(o)]; !ok || o == pb.ExecutionOutcome_EXECUTION_OUTCOME_UNSPECIFIED {
			return nil, toConnect(errs.Field(fmt.Sprintf("outcomes[%d]", i), "unknown execution outcome %d", int32(o)))
		}
		q.Outcomes = append(q.Outcomes, schedstore.Outcome(o))
	}
	if t := m.GetStartTime(); t != nil {
		v := t.AsTime().Unix()
		q.From = &v
	}
	if t := m.GetEndTime(); t != nil {
		v := t.AsTime().Unix()
		q.To = &v
	}
	if q.From != nil && q.To != nil && *q.To < *q.From {
		return nil, toConnect(errs.Field("end_time", "is before start_time"))
	}
	execs, next, err := h.store.Executions(ctx, q)
	if err != nil {
		return nil, toConnect(err)
	}
	res := &pb.ListScheduleExecutionsResponse{NextPageToken: next}
	for _, e := range execs {
		res.Executions = append(res.Executions, &pb.ScheduleExecution{
			ExecutionId: e.ID, ScheduleId: e.ScheduleID, NominalTime: convert.Timestamp(e.Nominal), ActualTime: convert.Timestamp(e.Actual),
			WorkflowId: e.WorkflowID, RunId: e.RunID, Outcome: pb.ExecutionOutcome(e.Outcome), Reason: e.Reason, Trigger: pb.ExecutionTrigger(e.Trigger),
		})
	}
	return connect.NewResponse(res), nil
}

func isNotFound(err error) bool { return errors.Is(err, errs.ErrNotFound) }
