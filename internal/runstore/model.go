package runstore

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sundial-dev/sundial/internal/runs"
	"github.com/sundial-dev/sundial/schedule"
)

// Run is one stored run of a workflow id.
type Run struct {
	Namespace    string
	WorkflowID   string
	RunID        string
	WorkflowType string
	TaskQueue    string
	// Input is JSON; nil means none was given.
	Input  json.RawMessage
	Status runs.Status
	// Attempt is the number of the latest attempt; 0 before the first.
	Attempt int
	// Result is the completed run's JSON result.
	Result  json.RawMessage
	Failure *Failure
	// CreateTime is when Start was called; StartTime when the first attempt
	// was delivered; CloseTime when the run closed; ScheduledTime when the
	// first attempt may be delivered.
	CreateTime, StartTime, CloseTime, ScheduledTime time.Time
	Origin                                          runs.Origin
	Attempts                                        []Attempt
	CronSchedule                                    string
	RetryPolicy                                     *schedule.RetryPolicy
	RunTimeout, ExecutionTimeout, HeartbeatTimeout  time.Duration
	// ExecutionDeadline is ScheduledTime + ExecutionTimeout, or zero.
	ExecutionDeadline time.Time
	Memo              map[string]json.RawMessage
	CancelRequested   bool
	CancelReason      string
	// LeaseDeadline is when the current attempt's lease lapses, while RUNNING.
	LeaseDeadline time.Time
}

// Attempt records one delivery of a run to a worker.
type Attempt struct {
	Attempt        int
	StartTime      time.Time
	EndTime        time.Time
	Failure        *Failure
	WorkerIdentity string
}

// Failure says why an attempt or a run failed.
type Failure struct {
	Message      string `json:"message,omitempty"`
	Type         string `json:"type,omitempty"`
	StackTrace   string `json:"stack_trace,omitempty"`
	NonRetryable bool   `json:"non_retryable,omitempty"`
}

func (f *Failure) json() string {
	if f == nil {
		return ""
	}
	b, _ := json.Marshal(f)
	return string(b)
}

func parseFailure(s string) *Failure {
	if s == "" {
		return nil
	}
	var f Failure
	if json.Unmarshal([]byte(s), &f) != nil {
		return &Failure{Message: s}
	}
	return &f
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n == 0 {
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}

func msDur(s string) time.Duration {
	n, _ := strconv.ParseInt(s, 10, 64)
	return time.Duration(n) * time.Millisecond
}

// parseRetryPolicy decodes a run's "rp" field; nil when it has none.
func parseRetryPolicy(v string) *schedule.RetryPolicy {
	if v == "" {
		return nil
	}
	var p schedule.RetryPolicy
	if json.Unmarshal([]byte(v), &p) != nil {
		return nil
	}
	return &p
}

// decodeRun builds a Run from its hash; nil for an empty hash.
func decodeRun(h map[string]string) *Run {
	if len(h) == 0 || h["rid"] == "" {
		return nil
	}
	st, _ := strconv.Atoi(h["st"])
	att, _ := strconv.Atoi(h["att"])
	trg, _ := strconv.Atoi(h["otrg"])
	r := &Run{
		Namespace:         h["ns"],
		WorkflowID:        h["wf"],
		RunID:             h["rid"],
		WorkflowType:      h["type"],
		TaskQueue:         h["q"],
		Status:            runs.Status(st),
		Attempt:           att,
		Failure:           parseFailure(h["fail"]),
		CreateTime:        fromMS(h["ct"]),
		StartTime:         fromMS(h["stt"]),
		CloseTime:         fromMS(h["xt"]),
		ScheduledTime:     fromMS(h["sch"]),
		CronSchedule:      h["cron"],
		RunTimeout:        msDur(h["rto"]),
		ExecutionTimeout:  msDur(h["xto"]),
		HeartbeatTimeout:  msDur(h["hb"]),
		ExecutionDeadline: fromMS(h["xdl"]),
		CancelRequested:   h["cr"] == "1",
		CancelReason:      h["creason"],
		LeaseDeadline:     fromMS(h["ld"]),
		Origin: runs.Origin{
			ScheduleID:     h["osid"],
			NominalTime:    fromMS(h["onom"]),
			Trigger:        runs.Trigger(trg),
			ClientIdentity: h["ocli"],
			PreviousRunID:  h["oprev"],
		},
	}
	if v := h["in"]; v != "" {
		r.Input = json.RawMessage(v)
	}
	if v := h["res"]; v != "" {
		r.Result = json.RawMessage(v)
	}
	r.RetryPolicy = parseRetryPolicy(h["rp"])
	if v := h["memo"]; v != "" {
		_ = json.Unmarshal([]byte(v), &r.Memo)
	}
	byNum := map[int]*Attempt{}
	for k, v := range h {
		if len(k) < 3 || k[0] != 'a' {
			continue
		}
		n, err := strconv.Atoi(k[1 : len(k)-1])
		if err != nil || n < 1 {
			continue
		}
		a := byNum[n]
		if a == nil {
			a = &Attempt{Attempt: n}
			byNum[n] = a
		}
		switch k[len(k)-1] {
		case 's':
			a.StartTime = fromMS(v)
		case 'e':
			a.EndTime = fromMS(v)
		case 'f':
			a.Failure = parseFailure(v)
		case 'w':
			a.WorkerIdentity = v
		}
	}
	for _, a := range byNum {
		r.Attempts = append(r.Attempts, *a)
	}
	sort.Slice(r.Attempts, func(i, j int) bool { return r.Attempts[i].Attempt < r.Attempts[j].Attempt })
	return r
}

// Timer is a due entry of a partition's timer set.
type Timer struct {
	Partition  int
	Kind       string
	Namespace  string
	WorkflowID string
	RunID      string
	Attempt    int
	Member     string
}

func parseTimer(p int, m string) (Timer, bool) {
	parts := strings.Split(m, "|")
	if len(parts) != 5 {
		return Timer{}, false
	}
	att, err := strconv.Atoi(parts[4])
	if err != nil {
		return Timer{}, false
	}
	return Timer{Partition: p, Kind: parts[0], Namespace: parts[1], WorkflowID: parts[2], RunID: parts[3], Attempt: att, Member: m}, true
}
