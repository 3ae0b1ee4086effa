package server

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundial-dev/sundial/internal/clock"
	"github.com/sundial-dev/sundial/internal/convert"
	"github.com/sundial-dev/sundial/internal/errs"
	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/internal/ids"
	"github.com/sundial-dev/sundial/internal/runs"
	"github.com/sundial-dev/sundial/internal/schedstore"
	"github.com/sundial-dev/sundial/schedule"
)

// scheduleHandler serves ScheduleService. It validates every request at
// the edge (bad input changes nothing), then works on the store; errors
// leave through toConnect.
type scheduleHandler struct {
	store   *schedstore.Store
	starter runs.Starter
	clock   clock.Clock
	sched   *scheduler
}

// nextTimes computes the next nominal time after now and its due time.
// A paused schedule, or one without remaining actions, gets no due time
// (it stays out of the due set) but keeps its next time.
func nextTimes(id string, spec compiledSpec, st schedule.State, now time.Time) (next, due time.Time) {
	n, ok := spec.Next(now)
	if !ok {
		return time.Time{}, time.Time{}
	}
	if st.Paused || st.Exhausted() {
		return n, time.Time{}
	}
	return n, dueAt(spec, id, n)
}

func scheduleRef(nsIn, id string) (string, error) {
	ns, err := ids.Namespace(nsIn)
	if err != nil {
		return "", err
	}
	return ns, ids.ScheduleID("schedule_id", id)
}

// CreateSchedule stores a new schedule.
func (h *scheduleHandler) CreateSchedule(ctx context.Context, req *connect.Request[pb.CreateScheduleRequest]) (*connect.Response[pb.CreateScheduleResponse], error) {
	m := req.Msg
	ns, err := scheduleRef(m.GetNamespace(), m.GetScheduleId())
	if err != nil {
		return nil, toConnect(err)
	}
	if len(m.GetRequestId()) > 128 {
		return nil, toConnect(errs.Field("request_id", "is %d bytes long; the limit is 128", len(m.GetRequestId())))
	}
	s, spec, err := checkSchedule(m.GetSchedule())
	if err != nil {
		return nil, toConnect(err)
	}
	now := h.clock.Now()
	next, due := nextTimes(m.GetScheduleId(), spec, s.State, now)
	def := schedstore.Def{Spec: s.Spec, Action: s.Action, Policy: s.Policy, Tags: s.Tags}
	tok, err := h.store.Create(ctx, ns, m.GetScheduleId(), m.GetRequestId(), schedstore.Mutation{Def: &def, State: &s.State, Next: next, Due: due, Now: now})
	if err != nil {
		return nil, toConnect(err)
	}
	h.sched.notify(due)
	return connect.NewResponse(&pb.CreateScheduleResponse{ConflictToken: tok}), nil
}

// DescribeSchedule returns a schedule with its state and history.
func (h *scheduleHandler) DescribeSchedule(ctx context.Context, req *connect.Request[pb.DescribeScheduleRequest]) (*connect.Response[pb.DescribeScheduleResponse], error) {
	ns, err := scheduleRef(req.Msg.GetNamespace(), req.Msg.GetScheduleId())
	if err != nil {
		return nil, toConnect(err)
	}
	rec, err := h.store.Get(ctx, ns, req.Msg.GetScheduleId())
	if err != nil {
		return nil, toConnect(err)
	}
	sch, err := convert.Schedule(schedule.Schedule{Spec: rec.Def.Spec, Action: rec.Def.Action, Policy: rec.Def.Policy, State: rec.State, Tags: rec.Def.Tags})
	if err != nil {
		return nil, toConnect(err)
	}
	open, err := h.store.Open(ctx, ns, rec.ID)
	if err != nil {
		return nil, toConnect(err)
	}
	running, buf := open.Running, open.Buffer
	recent, err := h.store.Recent(ctx, ns, rec.ID)
	if err != nil {
		return nil, toConnect(err)
	}
	info := &pb.ScheduleInfo{
		ActionCount: rec.Counts.Actions, MissedCatchupWindow: rec.Counts.Missed, OverlapSkipped: rec.Counts.OverlapSkip,
		BufferDropped: rec.Counts.BufferDropped, BufferSize: int64(len(buf)),
		CreateTime: convert.Timestamp(rec.Created), UpdateTime: convert.Timestamp(rec.Updated),
		RecentActions: h.actionResults(ctx, ns, recent, true),
	}
	for _, wf := range slices.Sorted(maps.Keys(running)) {
		info.RunningWorkflows = append(info.RunningWorkflows, &pb.RunningWorkflow{WorkflowId: wf, RunId: running[wf]})
	}
	if spec, err := compileSpec(rec.Def.Spec); err == nil {
		info.FutureActionTimes = futureTimes(rec, spec, h.clock.Now(), 10)
	}
	return connect.NewResponse(&pb.DescribeScheduleResponse{Schedule: sch, Info: info, ConflictToken: rec.Token()}), nil
}

// futureTimes returns up to n next action times (jittered), shown for
// paused schedules too; limited actions cap the count.
func futureTimes(rec *schedstore.Record, spec compiledSpec, now time.Time, n int) []*timestamppb.Timestamp {
	if rec.State.LimitedActions && int64(n) > rec.State.RemainingActions {
		n = int(max(rec.State.RemainingActions, 0))
	}
	var out []*timestamppb.Timestamp
	from := now
	if !rec.Next.IsZero() && rec.Next.Before(now) && !rec.State.Paused {
		from = rec.Next.Add(-time.Nanosecond) // behind: the scheduler will take these first
	}
	for t, ok := spec.Next(from); ok && len(out) < n; t, ok = spec.Next(t) {
		out = append(out, convert.Timestamp(dueAt(spec, rec.ID, t)))
	}
	return out
}

// actionResults converts recent actions; withStatus asks the run store for
// the runs' statuses, all in one round trip. A status that cannot be read is
// left unspecified: the rest of the description is still worth returning.
func (h *scheduleHandler) actionResults(ctx context.Context, ns string, acts []schedstore.Action, withStatus bool) []*pb.ScheduleActionResult {
	out := make([]*pb.ScheduleActionResult, 0, len(acts))
	var refs []runs.RunRef
	var withRun []*pb.ScheduleActionResult
	for _, a := range acts {
		r := &pb.ScheduleActionResult{NominalTime: convert.Timestamp(a.Nominal), ActualTime: convert.Timestamp(a.Actual), WorkflowId: a.WorkflowID, RunId: a.RunID}
		if a.RunID != "" {
			refs = append(refs, runs.RunRef{WorkflowID: a.WorkflowID, RunID: a.RunID})
			withRun = append(withRun, r)
		}
		out = append(out, r)
	}
	if h.starter != nil && withStatus && len(refs) > 0 {
		if sts, err := h.starter.Statuses(ctx, ns, refs); err == nil {
			for i, st := range sts {
				withRun[i].Status = pb.WorkflowStatus(st)
			}
		}
	}
	return out
}

// ListSchedules pages through a namespace's schedules.
func (h *scheduleHandler) ListSchedules(ctx context.Context, req *connect.Request[pb.ListSchedulesRequest]) (*connect.Response[pb.ListSchedulesResponse], error) {
	m := req.Msg
	ns, err := ids.Namespace(m.GetNamespace())
	if err != nil {
		return nil, toConnect(err)
	}
	size, err := pageSize("page_size", m.GetPageSize())
	if err != nil {
		return nil, toConnect(err)
	}
	if err := checkTags("tags", m.GetTags()); err != nil {
		return nil, toConnect(err)
	}
	if _, ok := pb.PausedFilter_name[int32(m.GetPaused())]; !ok {
		return nil, toConnect(errs.Field("paused", "unknown paused filter %d", int32(m.GetPaused())))
	}
	keep := func(r *schedstore.Record) bool {
		if wt := m.GetWorkflowType(); wt != "" && r.Def.Action.WorkflowType != wt {
			return false
		}
		switch m.GetPaused() {
		case pb.PausedFilter_PAUSED_FILTER_PAUSED:
			if !r.State.Paused {
				return false
			}
		case pb.PausedFilter_PAUSED_FILTER_ACTIVE:
			if r.State.Paused {
				return false
			}
		}
		return hasTags(r.Def.Tags, m.GetTags())
	}
	entries, next, err := h.store.List(ctx, ns, m.GetPageToken(), size, 20*size, keep)
	if err != nil {
		return nil, toConnect(err)
	}
	now := h.clock.Now()
	res := &pb.ListSchedulesResponse{NextPageToken: next}
	for _, e := range entries {
		le := &pb.ScheduleListEntry{
			ScheduleId: e.ID, WorkflowType: e.Def.Action.WorkflowType, SpecSummary: schedule.Summary(e.Def.Spec),
			Paused: e.State.Paused, Note: e.State.Note, Tags: e.Def.Tags, TimeZone: e.Def.Spec.TimeZone,
			RecentActions: h.actionResults(ctx, ns, e.Recent, false), // no status lookups in listings
		}
		if spec, err := compileSpec(e.Def.Spec); err == nil {
			if ts := futureTimes(e.Record, spec, now, 1); len(ts) == 1 {
				le.NextActionTime = ts[0]
			}
		}
		res.Schedules = append(res.Schedules, le)
	}
	return connect.NewResponse(res), nil
}

func hasTags(have, want map[string]string) bool {
	for k, v := range want {
		if hv, ok := have[k]; !ok || hv != v {
			return false
		}
	}
	return true
}

// UpdateSchedule replaces spec, action, policy, state and tags atomically
// and recomputes the next time.
func (h *scheduleHandler) UpdateSchedule(ctx context.Context, req *connect.Request[pb.UpdateScheduleRequest]) (*connect.Response[pb.UpdateScheduleResponse], error) {
	m := req.Msg
	ns, err := scheduleRef(m.GetNamespace(), m.GetScheduleId())
	if err != nil {
		return nil, toConnect(err)
	}
	s, spec, err := checkSchedule(m.GetSchedule())
	if err != nil {
		return nil, toConnect(err)
	}
	now := h.clock.Now()
	next, due := nextTimes(m.GetScheduleId(), spec, s.State, now)
	def := schedstore.Def{Spec: s.Spec, Action: s.Action, Policy: s.Policy, Tags: s.Tags}
	tok, err := h.store.Replace(ctx, ns, m.GetScheduleId(), m.GetConflictToken(), schedstore.Mutation{Def: &def, State: &s.State, SetNext: true, Next: next, Due: due, Now: now})
	if err != nil {
		return nil, toConnect(err)
	}
	h.sched.notify(due)
	return connect.NewResponse(&pb.UpdateScheduleResponse{ConflictToken: tok}), nil
}

// DeleteSchedule removes a schedule; runs it started are not touched.
func (h *scheduleHandler) DeleteSchedule(ctx context.Context, req *connect.Request[pb.DeleteScheduleRequest]) (*connect.Response[pb.DeleteScheduleResponse], error) {
	ns, err := scheduleRef(req.Msg.GetNamespace(), req.Msg.GetScheduleId())
	if err != nil {
		return nil, toConnect(err)
	}
	if err := h.store.Delete(ctx, ns, req.Msg.GetScheduleId()); err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&pb.DeleteScheduleResponse{}), nil
}

// setPaused pauses or unpauses one schedule; it reports whether it changed
// anything. Unpausing recomputes the next time from now, so fires missed
// while paused are not caught up.
//
// rec, when the caller has just read the schedule, saves the first read; a
// conflict reads it again.
func (h *scheduleHandler) setPaused(ctx context.Context, ns, id string, rec *schedstore.Record, paused bool, note string) (bool, error) {
	for range 5 {
		if rec == nil {
			var err error
			if rec, err = h.store.Get(ctx, ns, id); err != nil {
				return false, err
			}
		}
		mu, changes, err := h.pauseMutation(id, rec, paused, note)
		if err != nil || !changes {
			return false, err
		}
		_, err = h.store.Replace(ctx, ns, id, rec.Version, mu)
		if errors.Is(err, errs.ErrConflict) {
			rec = nil // changed under us: read again
			continue
		}
		if err == nil && !paused {
			h.sched.notify(mu.Due)
		}
		return err == nil, err
	}
	return false, errs.Conflict("schedule %q keeps changing; try again", id)
}

// pauseMutation is the change that pauses or unpauses rec with note (an
// unpause also recomputes the next time); changes is false when rec is
// already so.
func (h *scheduleHandler) pauseMutation(id string, rec *schedstore.Record, paused bool, note string) (mu schedstore.Mutation, changes bool, err error) {
	if rec.State.Paused == paused && rec.State.Note == note {
		return mu, false, nil
	}
	st := rec.State
	st.Paused, st.Note = paused, note
	mu = schedstore.Mutation{State: &st, Now: h.clock.Now()}
	if !paused {
		spec, err := compileSpec(rec.Def.Spec)
		if err != nil {
			return mu, false, specError("schedule.spec", err)
		}
		mu.SetNext = true
		mu.Next, mu.Due = nextTimes(id, spec, st, mu.Now)
	}
	return mu, true, nil
}

// PauseSchedule stops a schedule from firing.
func (h *scheduleHandler) PauseSchedule(ctx context.Context, req *connect.Request[pb.PauseScheduleRequest]) (*connect.Response[pb.PauseScheduleResponse], error) {
	ns, err := scheduleRef(req.Msg.GetNamespace(), req.Msg.GetScheduleId())
	if err == nil {
		err = checkNote("note", req.Msg.GetNote())
	}
	if err == nil {
		_, err = h.setPaused(ctx, ns, req.Msg.GetScheduleId(), nil, true, req.Msg.GetNote())
	}
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&pb.PauseScheduleResponse{}), nil
}

// UnpauseSchedule lets a paused schedule fire again.
func (h *scheduleHandler) UnpauseSchedule(ctx context.Context, req *connect.Request[pb.UnpauseScheduleRequest]) (*connect.Response[pb.UnpauseScheduleResponse], error) {
	ns, err := scheduleRef(req.Msg.GetNamespace(), req.Msg.GetScheduleId())
	if err == nil {
		err = checkNote("note", req.Msg.GetNote())
	}
	if err == nil {
		_, err = h.setPaused(ctx, ns, req.Msg.GetScheduleId(), nil, false, req.Msg.GetNote())
	}
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&pb.UnpauseScheduleResponse{}), nil
}
