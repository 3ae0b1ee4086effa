package schedstore

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/redis/go-redis/v9"
)

// Outcome is how a nominal fire ended; the values are the proto's
// ExecutionOutcome numbers.
type Outcome int

// The outcomes.
const (
	OutcomeUnspecified Outcome = iota
	OutcomeStarted
	OutcomeSkippedOverlap
	OutcomeMissed
	OutcomeBufferDropped
	OutcomeBuffered
	OutcomeFailed
)

// Execution is the record of one fire, skip or miss.
type Execution struct {
	// ID is unique and sorts by creation time (a ULID).
	ID         string
	ScheduleID string
	Nominal    time.Time
	Actual     time.Time
	WorkflowID string
	RunID      string
	Outcome    Outcome
	Reason     string
	// Trigger is the proto's ExecutionTrigger number.
	Trigger int
}

type storedExecution struct {
	ScheduleID string  `json:"s"`
	Nominal    int64   `json:"n"`
	ActualMs   int64   `json:"a"`
	WorkflowID string  `json:"w,omitempty"`
	RunID      string  `json:"r,omitempty"`
	Outcome    Outcome `json:"o"`
	Reason     string  `json:"why,omitempty"`
	Trigger    int     `json:"t"`
}

// encode returns the sorted-set member: "<id> <json>", so that records with
// equal nominal times sort by id.
func (e Execution) encode() string {
	b, _ := json.Marshal(storedExecution{
		ScheduleID: e.ScheduleID, Nominal: e.Nominal.Unix(), ActualMs: e.Actual.UnixMilli(),
		WorkflowID: e.WorkflowID, RunID: e.RunID, Outcome: e.Outcome, Reason: e.Reason, Trigger: e.Trigger,
	})
	return e.ID + " " + string(b)
}

func decodeExecution(member string) (Execution, error) {
	i := 0
	for i < len(member) && member[i] != ' ' {
		i++
	}
	if i == len(member) {
		return Execution{}, fmt.Errorf("malformed execution record %q", member)
	}
	var s storedExecution
	if err := json.Unmarshal([]byte(member[i+1:]), &s); err != nil {
		return Execution{}, fmt.Errorf("decode execution record: %w", err)
	}
	return Execution{
		ID: member[:i], ScheduleID: s.ScheduleID, Nominal: time.Unix(s.Nominal, 0).UTC(), Actual: time.UnixMilli(s.ActualMs).UTC(),
		WorkflowID: s.WorkflowID, RunID: s.RunID, Outcome: s.Outcome, Reason: s.Reason, Trigger: s.Trigger,
	}, nil
}

// trimEvery is how many single-record commits pass, on average, between two
// trims of the execution record sets.
const trimEvery = 8

// Commit is what the scheduler (or a handler) writes after acting on a
// schedule, atomically.
type Commit struct {
	// Claimed marks the commit of a claimed fire: it releases the claim and,
	// when the schedule's generation still equals ExpectGeneration and its
	// next time equals ExpectNext, moves the next time to Next and the due
	// entry to Due (none when Next is zero, the schedule is paused or its
	// remaining actions ran out).
	Claimed          bool
	ExpectGeneration string
	ExpectNext       time.Time
	Next             time.Time
	Due              time.Time
	// Decrement is subtracted from remaining actions (when limited).
	Decrement int64
	// Inc adds to counters (CountActions, ...).
	Inc map[string]int64
	// Executions are appended to the execution records.
	Executions []Execution
	// Recent actions are pushed, oldest first.
	Recent []Action
	// AddRunning records open runs (workflow id -> run id).
	AddRunning map[string]string
	// DelRunning forgets open runs by workflow id.
	DelRunning []string
	// PopBuffer removes the buffer's head, in order, for each of these
	// stored forms it equals.
	PopBuffer []string
	// PushBuffer appends buffered fires.
	PushBuffer []Buffered
}

type commitOp struct {
	M       string           `json:"m"`
	Claimed bool             `json:"claimed,omitempty"`
	G       string           `json:"g,omitempty"`
	N       string           `json:"n"`
	Next    string           `json:"next"`
	Due     string           `json:"due,omitempty"`
	Dec     int64            `json:"dec,omitempty"`
	Inc     map[string]int64 `json:"inc,omitempty"`
	// X holds the execution records' scores; the records themselves are
	// the ARGV entries after the op, then the recent actions (NR of them),
	// so that Redis does not parse them as JSON strings.
	X      []int64     `json:"x,omitempty"`
	NR     int         `json:"nr,omitempty"`
	Trim   bool        `json:"trim,omitempty"`
	XCap   int         `json:"xcap"`
	NSCap  int         `json:"nscap"`
	DelRun []string    `json:"delrun,omitempty"`
	AddRun [][2]string `json:"addrun,omitempty"`
	Pop    []string    `json:"pop,omitempty"`
	Push   []string    `json:"push,omitempty"`
}

// CommitResult says how a commit applied.
type CommitResult string

// The commit results.
const (
	// CommitOK means everything was applied.
	CommitOK CommitResult = "ok"
	// CommitMoved means the schedule was updated after the claim: records
	// were applied, the next time was left to the update.
	CommitMoved CommitResult = "moved"
	// CommitStale means another claimer committed this fire; nothing was written.
	CommitStale CommitResult = "stale"
	// CommitGone means the schedule was deleted; nothing was written.
	CommitGone CommitResult = "gone"
)

// Commit applies c to schedule ns/id atomically.
func (s *Store) Commit(ctx context.Context, ns, id string, c Commit) (CommitResult, error) {
	args, err := c.encode(ns, id)
	if err != nil {
		return "", err
	}
	res, err := commitScript.Run(ctx, s.rdb, s.k.all(ns, id), args...).Text()
	if err != nil {
		return "", fmt.Errorf("commit schedule %s/%s: %w", ns, id, err)
	}
	return CommitResult(res), nil
}

// Pending is one commit of a CommitMany batch.
type Pending struct {
	Namespace, ID string
	Commit        Commit
}

// CommitMany applies several commits in one round trip (a pipeline of
// EVALSHA; each commit is atomic on its own). It returns the first error;
// commits before it in the pipeline may have applied, which is safe: a
// commit that is repeated after a re-claim comes back stale.
func (s *Store) CommitMany(ctx context.Context, ps []Pending) error {
	if len(ps) == 0 {
		return nil
	}
	keys := make([][]string, len(ps))
	args := make([][]any, len(ps))
	for i, p := range ps {
		a, err := p.Commit.encode(p.Namespace, p.ID)
		if err != nil {
			return err
		}
		keys[i], args[i] = s.k.all(p.Namespace, p.ID), a
	}
	cmds, err := evalMany(ctx, s.rdb, commitScript, keys, args)
	if err != nil {
		return fmt.Errorf("commit schedules: %w", err)
	}
	for _, c := range cmds {
		if c.Err() != nil {
			return fmt.Errorf("commit schedules: %w", c.Err())
		}
	}
	return nil
}

// evalMany runs script once per keys[i]/args[i], in one pipeline of
// EVALSHA, loading the script first if Redis does not know it (a fresh or
// restarted server: then no call of the pipeline ran). It returns each
// call's command, which holds that call's error (a failed round trip
// included); err is set only when the script could not be loaded.
func evalMany(ctx context.Context, rdb redis.UniversalClient, script *redis.Script, keys [][]string, args [][]any) ([]*redis.Cmd, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	run := func() []*redis.Cmd {
		cmds := make([]*redis.Cmd, len(keys))
		_, _ = rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			for i := range keys {
				cmds[i] = script.EvalSha(ctx, pipe, keys[i], args[i]...)
			}
			return nil
		})
		return cmds
	}
	cmds := run()
	if redis.HasErrorPrefix(cmds[0].Err(), "NOSCRIPT") {
		if err := script.Load(ctx, rdb).Err(); err != nil {
			return nil, fmt.Errorf("load script: %w", err)
		}
		cmds = run()
	}
	return cmds, nil
}

// encode returns the script's ARGV: the JSON op, then the execution
// records, then the recent actions.
func (c Commit) encode(ns, id string) ([]any, error) {
	op := commitOp{
		M: member(ns, id), Claimed: c.Claimed, G: c.ExpectGeneration, N: unixString(c.ExpectNext), Next: unixString(c.Next),
		Dec: c.Decrement, Inc: c.Inc, XCap: ExecutionsPerSchedule, NSCap: ExecutionsPerPartition,
		DelRun: c.DelRunning, Pop: c.PopBuffer, NR: len(c.Recent),
	}
	if !c.Next.IsZero() && !c.Due.IsZero() {
		op.Due = msString(c.Due)
	}
	args := make([]any, 1, 1+len(c.Executions)+len(c.Recent))
	for _, e := range c.Executions {
		op.X = append(op.X, e.Nominal.Unix())
		args = append(args, e.encode())
	}
	// Trimming the record sets costs two commands; doing it on about one
	// commit in trimEvery keeps retention within a few records of its caps.
	op.Trim = len(op.X) > 1 || rand.IntN(trimEvery) == 0
	for _, a := range c.Recent {
		b, _ := json.Marshal(a)
		args = append(args, string(b))
	}
	for w, r := range c.AddRunning {
		op.AddRun = append(op.AddRun, [2]string{w, r})
	}
	for _, b := range c.PushBuffer {
		op.Push = append(op.Push, b.Encode())
	}
	arg, err := json.Marshal(op)
	if err != nil {
		return nil, fmt.Errorf("encode commit: %w", err)
	}
	args[0] = string(arg)
	return args, nil
}
