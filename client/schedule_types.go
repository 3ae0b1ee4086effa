package client

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/sundial-dev/sundial/internal/convert"
	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/schedule"
)

// ScheduleDescription is a schedule as Describe returns it.
type ScheduleDescription struct {
	// Schedule is the definition: spec, action, policy, state and tags.
	Schedule schedule.Schedule `json:"schedule"`
	// Info is what the server knows beyond the definition.
	Info ScheduleInfo `json:"info"`
	// ConflictToken changes on every change of the schedule; Update sends it
	// back so that a concurrent change is not overwritten.
	ConflictToken string `json:"conflict_token"`
}

// ScheduleInfo is a schedule's counters, history and future.
type ScheduleInfo struct {
	// NumActions counts the actions taken (scheduled, triggered, backfilled).
	NumActions int64 `json:"action_count"`
	// NumActionsMissedCatchupWindow counts fires missed because they were
	// older than the catchup window.
	NumActionsMissedCatchupWindow int64 `json:"missed_catchup_window"`
	// NumActionsSkippedOverlap counts fires skipped by the overlap policy.
	NumActionsSkippedOverlap int64 `json:"overlap_skipped"`
	// BufferDropped counts buffered fires dropped because the buffer was full.
	BufferDropped int64 `json:"buffer_dropped"`
	// BufferSize is how many fires wait behind a running run now.
	BufferSize int64 `json:"buffer_size"`
	// RunningWorkflows are the open runs the schedule started.
	RunningWorkflows []ScheduleWorkflowExecution `json:"running_workflows"`
	// RecentActions are the last actions, oldest first.
	RecentActions []ScheduleActionResult `json:"recent_actions"`
	// NextActionTimes are the next nominal times (shown even when paused).
	NextActionTimes []time.Time `json:"future_action_times"`
	// CreatedAt is when the schedule was created.
	CreatedAt time.Time `json:"create_time"`
	// LastUpdateAt is when the schedule was last changed.
	LastUpdateAt time.Time `json:"update_time,omitzero"`
}

// ScheduleWorkflowExecution names a run a schedule started.
type ScheduleWorkflowExecution struct {
	// WorkflowID is the run's workflow id, "<base>-<nominal time>".
	WorkflowID string `json:"workflow_id"`
	// RunID is the run's id.
	RunID string `json:"run_id"`
}

// ScheduleActionResult is one action a schedule took.
type ScheduleActionResult struct {
	// ScheduleTime is the nominal time the action was for.
	ScheduleTime time.Time
	// ActualTime is when the action was taken.
	ActualTime time.Time
	// WorkflowID is the workflow id of the run started.
	WorkflowID string
	// RunID is the run's id.
	RunID string
	// Status is the run's status when the schedule was described.
	Status WorkflowStatus
}

// MarshalJSON writes the result with the proto's field names and the status
// by name.
func (r ScheduleActionResult) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		NominalTime time.Time `json:"nominal_time"`
		ActualTime  time.Time `json:"actual_time"`
		WorkflowID  string    `json:"workflow_id"`
		RunID       string    `json:"run_id"`
		Status      string    `json:"status"`
	}{r.ScheduleTime, r.ActualTime, r.WorkflowID, r.RunID, r.Status.String()})
}

// ScheduleListEntry is one schedule in a listing.
type ScheduleListEntry struct {
	// ID is the schedule's id.
	ID string `json:"schedule_id"`
	// WorkflowType is the type of the workflow it starts.
	WorkflowType string `json:"workflow_type"`
	// SpecSummary is a one-line human summary of the spec.
	SpecSummary string `json:"spec_summary"`
	// NextActionTime is the next nominal time; zero when there is none.
	NextActionTime time.Time `json:"next_action_time,omitzero"`
	// Paused is the paused state.
	Paused bool `json:"paused"`
	// Note is the state's note.
	Note string `json:"note,omitempty"`
	// Tags are the schedule's tags.
	Tags map[string]string `json:"tags,omitempty"`
	// TimeZone is the spec's time zone; empty means UTC.
	TimeZone string `json:"time_zone,omitempty"`
	// RecentActions are the last few actions, oldest first.
	RecentActions []ScheduleActionResult `json:"recent_actions,omitempty"`
}

// ScheduleExecutionOutcome is how a nominal fire ended.
type ScheduleExecutionOutcome int

// The execution outcomes, numbered as in the proto.
const (
	// ScheduleExecutionUnspecified is the zero value.
	ScheduleExecutionUnspecified ScheduleExecutionOutcome = iota
	// ScheduleExecutionStarted means a run was started.
	ScheduleExecutionStarted
	// ScheduleExecutionSkippedOverlap means the overlap policy skipped it.
	ScheduleExecutionSkippedOverlap
	// ScheduleExecutionMissed means it was older than the catchup window, or
	// coalesced away.
	ScheduleExecutionMissed
	// ScheduleExecutionBufferDropped means it was buffered, then dropped
	// because the buffer was full.
	ScheduleExecutionBufferDropped
	// ScheduleExecutionBuffered means it waits behind a running run.
	ScheduleExecutionBuffered
	// ScheduleExecutionFailed means the start failed.
	ScheduleExecutionFailed
)

var scheduleOutcomeNames = [...]string{"UNSPECIFIED", "STARTED", "SKIPPED_OVERLAP", "MISSED", "BUFFER_DROPPED", "BUFFERED", "FAILED"}

// String returns the outcome's name as in the proto, without its prefix.
func (o ScheduleExecutionOutcome) String() string {
	if o < 0 || int(o) >= len(scheduleOutcomeNames) {
		return "UNKNOWN"
	}
	return scheduleOutcomeNames[o]
}

// MarshalText writes the outcome's name.
func (o ScheduleExecutionOutcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// ParseScheduleExecutionOutcome reads an outcome name ("started",
// "SKIPPED_OVERLAP", "EXECUTION_OUTCOME_MISSED").
func ParseScheduleExecutionOutcome(s string) (ScheduleExecutionOutcome, error) {
	u := strings.TrimPrefix(strings.ToUpper(s), "EXECUTION_OUTCOME_")
	for i, n := range scheduleOutcomeNames {
		if i > 0 && u == n {
			return ScheduleExecutionOutcome(i), nil
		}
	}
	return 0, invalidArg("outcomes", &schedule.Error{Reason: "unknown outcome " + `"` + s + `"` + " (use " + strings.Join(scheduleOutcomeNames[1:], ", ") + ")"})
}

// ScheduleExecutionTrigger is why a schedule fired.
type ScheduleExecutionTrigger int

// The triggers, numbered as in the proto.
const (
	// ScheduleTriggerUnspecified is the zero value.
	ScheduleTriggerUnspecified ScheduleExecutionTrigger = iota
	// ScheduleTriggerScheduled is a fire of the spec.
	ScheduleTriggerScheduled
	// ScheduleTriggerManual is a Trigger call.
	ScheduleTriggerManual
	// ScheduleTriggerBackfill is a Backfill call.
	ScheduleTriggerBackfill
)

var scheduleTriggerNames = [...]string{"UNSPECIFIED", "SCHEDULED", "MANUAL", "BACKFILL"}

// String returns the trigger's name as in the proto, without its prefix.
func (t ScheduleExecutionTrigger) String() string {
	if t < 0 || int(t) >= len(scheduleTriggerNames) {
		return "UNKNOWN"
	}
	return scheduleTriggerNames[t]
}

// MarshalText writes the trigger's name.
func (t ScheduleExecutionTrigger) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// ScheduleExecution is the record of one fire, skip or miss.
type ScheduleExecution struct {
	// ID identifies the record.
	ID string `json:"execution_id"`
	// ScheduleID is the schedule that fired.
	ScheduleID string `json:"schedule_id"`
	// NominalTime is the time the spec named.
	NominalTime time.Time `json:"nominal_time"`
	// ActualTime is when the fire was handled.
	ActualTime time.Time `json:"actual_time"`
	// WorkflowID is the workflow id of the run started, if any.
	WorkflowID string `json:"workflow_id,omitempty"`
	// RunID is the run's id.
	RunID string `json:"run_id,omitempty"`
	// Outcome is how the fire ended.
	Outcome ScheduleExecutionOutcome `json:"outcome"`
	// Reason explains a skip, miss or failure.
	Reason string `json:"reason,omitempty"`
	// Trigger says why the schedule fired.
	Trigger ScheduleExecutionTrigger `json:"trigger"`
}

func fromActionResults(rs []*pb.ScheduleActionResult) []ScheduleActionResult {
	if len(rs) == 0 {
		return nil
	}
	out := make([]ScheduleActionResult, len(rs))
	for i, r := range rs {
		out[i] = ScheduleActionResult{
			ScheduleTime: convert.FromTimestamp(r.GetNominalTime()),
			ActualTime:   convert.FromTimestamp(r.GetActualTime()),
			WorkflowID:   r.GetWorkflowId(),
			RunID:        r.GetRunId(),
			Status:       WorkflowStatus(r.GetStatus()),
		}
	}
	return out
}

func fromScheduleInfo(in *pb.ScheduleInfo) ScheduleInfo {
	out := ScheduleInfo{
		NumActions:                    in.GetActionCount(),
		NumActionsMissedCatchupWindow: in.GetMissedCatchupWindow(),
		NumActionsSkippedOverlap:      in.GetOverlapSkipped(),
		BufferDropped:                 in.GetBufferDropped(),
		BufferSize:                    in.GetBufferSize(),
		RecentActions:                 fromActionResults(in.GetRecentActions()),
		CreatedAt:                     convert.FromTimestamp(in.GetCreateTime()),
		LastUpdateAt:                  convert.FromTimestamp(in.GetUpdateTime()),
	}
	for _, w := range in.GetRunningWorkflows() {
		out.RunningWorkflows = append(out.RunningWorkflows, ScheduleWorkflowExecution{WorkflowID: w.GetWorkflowId(), RunID: w.GetRunId()})
	}
	for _, t := range in.GetFutureActionTimes() {
		out.NextActionTimes = append(out.NextActionTimes, convert.FromTimestamp(t))
	}
	return out
}

func fromListEntry(e *pb.ScheduleListEntry) *ScheduleListEntry {
	return &ScheduleListEntry{
		ID:             e.GetScheduleId(),
		WorkflowType:   e.GetWorkflowType(),
		SpecSummary:    e.GetSpecSummary(),
		NextActionTime: convert.FromTimestamp(e.GetNextActionTime()),
		Paused:         e.GetPaused(),
		Note:           e.GetNote(),
		Tags:           e.GetTags(),
		TimeZone:       e.GetTimeZone(),
		RecentActions:  fromActionResults(e.GetRecentActions()),
	}
}

func fromExecution(e *pb.ScheduleExecution) *ScheduleExecution {
	return &ScheduleExecution{
		ID:          e.GetExecutionId(),
		ScheduleID:  e.GetScheduleId(),
		NominalTime: convert.FromTimestamp(e.GetNominalTime()),
		ActualTime:  convert.FromTimestamp(e.GetActualTime()),
		WorkflowID:  e.GetWorkflowId(),
		RunID:       e.GetRunId(),
		Outcome:     ScheduleExecutionOutcome(e.GetOutcome()),
		Reason:      e.GetReason(),
		Trigger:     ScheduleExecutionTrigger(e.GetTrigger()),
	}
}
