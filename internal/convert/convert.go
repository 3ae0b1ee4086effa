// Package convert translates between the generated protobuf messages and
// Sundial's Go types (package schedule, internal/runs). The server decodes at
// its edge with it and the client encodes with it, so no generated type leaks
// into the public Go API.
package convert

import (
	"encoding/json"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/schedule"
)

// Duration converts a Go duration; 0 becomes nil.
func Duration(d time.Duration) *durationpb.Duration {
	if d == 0 {
		return nil
	}
	return durationpb.New(d)
}

// FromDuration converts a protobuf duration; nil becomes 0.
func FromDuration(d *durationpb.Duration) time.Duration {
	if d == nil {
		return 0
	}
	return d.AsDuration()
}

// Timestamp converts a Go time; the zero time becomes nil.
func Timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// FromTimestamp converts a protobuf timestamp to UTC; nil becomes the zero time.
func FromTimestamp(t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.AsTime().UTC()
}

// JSONValue converts JSON bytes to a protobuf Value; empty input becomes nil.
func JSONValue(raw json.RawMessage) (*structpb.Value, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	v := &structpb.Value{}
	if err := protojson.Unmarshal(raw, v); err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	return v, nil
}

// FromJSONValue converts a protobuf Value to compact JSON bytes; nil
// becomes nil. A value that is not valid JSON (NaN, a string that is not
// UTF-8) becomes null: values decoded from the wire were refused upstream.
func FromJSONValue(v *structpb.Value) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := AppendJSON(nil, v)
	if err != nil {
		return json.RawMessage("null")
	}
	return b
}

// Memo converts a memo map. The first invalid entry is an error naming its key.
func Memo(m map[string]json.RawMessage) (map[string]*structpb.Value, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[string]*structpb.Value, len(m))
	for k, raw := range m {
		v, err := JSONValue(raw)
		if err != nil {
			return nil, fmt.Errorf("memo[%q]: %w", k, err)
		}
		out[k] = v
	}
	return out, nil
}

// FromMemo converts a protobuf memo map.
func FromMemo(m map[string]*structpb.Value) map[string]json.RawMessage {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		out[k] = FromJSONValue(v)
	}
	return out
}

func ranges(rs []schedule.Range) []*pb.Range {
	if len(rs) == 0 {
		return nil
	}
	out := make([]*pb.Range, len(rs))
	for i, r := range rs {
		out[i] = &pb.Range{Start: int32(r.Start), End: int32(r.End), Step: int32(r.Step)}
	}
	return out
}

func fromRanges(rs []*pb.Range) []schedule.Range {
	if len(rs) == 0 {
		return nil
	}
	out := make([]schedule.Range, len(rs))
	for i, r := range rs {
		out[i] = schedule.Range{Start: int(r.GetStart()), End: int(r.GetEnd()), Step: int(r.GetStep())}
	}
	return out
}

func calendars(cs []schedule.Calendar) []*pb.CalendarSpec {
	if len(cs) == 0 {
		return nil
	}
	out := make([]*pb.CalendarSpec, len(cs))
	for i, c := range cs {
		out[i] = &pb.CalendarSpec{
			Second: ranges(c.Second), Minute: ranges(c.Minute), Hour: ranges(c.Hour),
			DayOfMonth: ranges(c.DayOfMonth), Month: ranges(c.Month), Year: ranges(c.Year),
			DayOfWeek: ranges(c.DayOfWeek), Comment: c.Comment,
		}
	}
	return out
}

func fromCalendars(cs []*pb.CalendarSpec) []schedule.Calendar {
	if len(cs) == 0 {
		return nil
	}
	out := make([]schedule.Calendar, len(cs))
	for i, c := range cs {
		out[i] = schedule.Calendar{
			Second: fromRanges(c.GetSecond()), Minute: fromRanges(c.GetMinute()), Hour: fromRanges(c.GetHour()),
			DayOfMonth: fromRanges(c.GetDayOfMonth()), Month: fromRanges(c.GetMonth()), Year: fromRanges(c.GetYear()),
			DayOfWeek: fromRanges(c.GetDayOfWeek()), Comment: c.GetComment(),
		}
	}
	return out
}

// Spec converts a spec to protobuf.
func Spec(s schedule.Spec) *pb.ScheduleSpec {
	out := &pb.ScheduleSpec{
		CronExpressions: s.CronExpressions,
		Calendars:       calendars(s.Calendars),
		Skip:            calendars(s.Skip),
		StartTime:       Timestamp(s.StartTime),
		EndTime:         Timestamp(s.EndTime),
		Jitter:          Duration(s.Jitter),
		TimeZone:        s.TimeZone,
	}
	for _, iv := range s.Intervals {
		out.Intervals = append(out.Intervals, &pb.IntervalSpec{Every: Duration(iv.Every), Offset: Duration(iv.Offset)})
	}
	for _, ci := range s.CalendarIntervals {
		out.CalendarIntervals = append(out.CalendarIntervals, &pb.CalendarIntervalSpec{
			Years: int32(ci.Years), Months: int32(ci.Months), Weeks: int32(ci.Weeks), Days: int32(ci.Days),
			TimeOfDay: ci.TimeOfDay, StartDate: ci.StartDate,
		})
	}
	for _, t := range s.At {
		out.At = append(out.At, Timestamp(t))
	}
	return out
}

// FromSpec converts a protobuf spec; nil becomes the empty spec.
func FromSpec(s *pb.ScheduleSpec) schedule.Spec {
	if s == nil {
		return schedule.Spec{}
	}
	out := schedule.Spec{
		CronExpressions: s.GetCronExpressions(),
		Calendars:       fromCalendars(s.GetCalendars()),
		Skip:            fromCalendars(s.GetSkip()),
		StartTime:       FromTimestamp(s.GetStartTime()),
		EndTime:         FromTimestamp(s.GetEndTime()),
		Jitter:          FromDuration(s.GetJitter()),
		TimeZone:        s.GetTimeZone(),
	}
	for _, iv := range s.GetIntervals() {
		out.Intervals = append(out.Intervals, schedule.Interval{Every: FromDuration(iv.GetEvery()), Offset: FromDuration(iv.GetOffset())})
	}
	for _, ci := range s.GetCalendarIntervals() {
		out.CalendarIntervals = append(out.CalendarIntervals, schedule.CalendarInterval{
			Years: int(ci.GetYears()), Months: int(ci.GetMonths()), Weeks: int(ci.GetWeeks()), Days: int(ci.GetDays()),
			TimeOfDay: ci.GetTimeOfDay(), StartDate: ci.GetStartDate(),
		})
	}
	for _, t := range s.GetAt() {
		out.At = append(out.At, FromTimestamp(t))
	}
	return out
}

// Overlap converts an overlap policy; the Go and proto enums share numbering.
func Overlap(p schedule.OverlapPolicy) pb.OverlapPolicy { return pb.OverlapPolicy(p) }

// FromOverlap converts a protobuf overlap policy. Unknown numbers are kept,
// so validation can reject them with the field path.
func FromOverlap(p pb.OverlapPolicy) schedule.OverlapPolicy { return schedule.OverlapPolicy(p) }

// RetryPolicy converts a retry policy; nil stays nil.
func RetryPolicy(p *schedule.RetryPolicy) *pb.RetryPolicy {
	if p == nil {
		return nil
	}
	return &pb.RetryPolicy{
		InitialInterval:        Duration(p.InitialInterval),
		BackoffCoefficient:     p.BackoffCoefficient,
		MaximumInterval:        Duration(p.MaximumInterval),
		MaximumAttempts:        int32(p.MaximumAttempts),
		NonRetryableErrorTypes: p.NonRetryableErrorTypes,
	}
}

// FromRetryPolicy converts a protobuf retry policy; nil stays nil.
func FromRetryPolicy(p *pb.RetryPolicy) *schedule.RetryPolicy {
	if p == nil {
		return nil
	}
	return &schedule.RetryPolicy{
		InitialInterval:        FromDuration(p.GetInitialInterval()),
		BackoffCoefficient:     p.GetBackoffCoefficient(),
		MaximumInterval:        FromDuration(p.GetMaximumInterval()),
		MaximumAttempts:        int(p.GetMaximumAttempts()),
		NonRetryableErrorTypes: p.GetNonRetryableErrorTypes(),
	}
}

// Action converts an action. Input or memo that is not JSON is an error
// naming the field ("input", "memo[\"k\"]").
func Action(a schedule.Action) (*pb.StartWorkflowAction, error) {
	in, err := JSONValue(a.Input)
	if err != nil {
		return nil, fmt.Errorf("input: %w", err)
	}
	memo, err := Memo(a.Memo)
	if err != nil {
		return nil, err
	}
	return &pb.StartWorkflowAction{
		WorkflowType:     a.WorkflowType,
		WorkflowId:       a.WorkflowID,
		TaskQueue:        a.TaskQueue,
		Input:            in,
		ExecutionTimeout: Duration(a.ExecutionTimeout),
		RunTimeout:       Duration(a.RunTimeout),
		HeartbeatTimeout: Duration(a.HeartbeatTimeout),
		RetryPolicy:      RetryPolicy(a.RetryPolicy),
		Memo:             memo,
	}, nil
}

// FromAction converts a protobuf action; nil becomes the empty action.
func FromAction(a *pb.StartWorkflowAction) schedule.Action {
	if a == nil {
		return schedule.Action{}
	}
	return schedule.Action{
		WorkflowType:     a.GetWorkflowType(),
		WorkflowID:       a.GetWorkflowId(),
		TaskQueue:        a.GetTaskQueue(),
		Input:            FromJSONValue(a.GetInput()),
		ExecutionTimeout: FromDuration(a.GetExecutionTimeout()),
		RunTimeout:       FromDuration(a.GetRunTimeout()),
		HeartbeatTimeout: FromDuration(a.GetHeartbeatTimeout()),
		RetryPolicy:      FromRetryPolicy(a.GetRetryPolicy()),
		Memo:             FromMemo(a.GetMemo()),
	}
}

// Policy converts a schedule policy.
func Policy(p schedule.Policy) *pb.SchedulePolicy {
	return &pb.SchedulePolicy{
		Overlap:        Overlap(p.Overlap),
		CatchupWindow:  Duration(p.CatchupWindow),
		Coalesce:       p.Coalesce,
		PauseOnFailure: p.PauseOnFailure,
	}
}

// FromPolicy converts a protobuf schedule policy; nil becomes the zero policy.
func FromPolicy(p *pb.SchedulePolicy) schedule.Policy {
	return schedule.Policy{
		Overlap:        FromOverlap(p.GetOverlap()),
		CatchupWindow:  FromDuration(p.GetCatchupWindow()),
		Coalesce:       p.GetCoalesce(),
		PauseOnFailure: p.GetPauseOnFailure(),
	}
}

// State converts a schedule state.
func State(s schedule.State) *pb.ScheduleState {
	return &pb.ScheduleState{Paused: s.Paused, Note: s.Note, LimitedActions: s.LimitedActions, RemainingActions: s.RemainingActions}
}

// FromState converts a protobuf schedule state; nil becomes the zero state.
func FromState(s *pb.ScheduleState) schedule.State {
	return schedule.State{Paused: s.GetPaused(), Note: s.GetNote(), LimitedActions: s.GetLimitedActions(), RemainingActions: s.GetRemainingActions()}
}

// Schedule converts a whole schedule definition.
func Schedule(s schedule.Schedule) (*pb.Schedule, error) {
	a, err := Action(s.Action)
	if err != nil {
		return nil, fmt.Errorf("action.%w", err)
	}
	return &pb.Schedule{Spec: Spec(s.Spec), Action: a, Policy: Policy(s.Policy), State: State(s.State), Tags: s.Tags}, nil
}

// FromSchedule converts a protobuf schedule; nil becomes the zero schedule.
func FromSchedule(s *pb.Schedule) schedule.Schedule {
	return schedule.Schedule{
		Spec:   FromSpec(s.GetSpec()),
		Action: FromAction(s.GetAction()),
		Policy: FromPolicy(s.GetPolicy()),
		State:  FromState(s.GetState()),
		Tags:   s.GetTags(),
	}
}
