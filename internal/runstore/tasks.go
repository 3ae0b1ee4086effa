package runstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sundial-dev/sundial/internal/errs"
	"github.com/sundial-dev/sundial/internal/runs"
	"github.com/sundial-dev/sundial/schedule"
)

// Task is one attempt of a run, leased to a worker.
type Task struct {
	// Token names the run and attempt; the worker passes it back.
	Token            string
	Namespace        string
	WorkflowID       string
	RunID            string
	WorkflowType     string
	Input            json.RawMessage
	Attempt          int
	HeartbeatTimeout time.Duration
	// Deadline is when the attempt times out (run timeout, or the run's
	// execution timeout, whichever comes first); zero when unbounded.
	Deadline      time.Time
	ScheduledTime time.Time
}

// TaskRef is what a task token names.
type TaskRef struct {
	Namespace, WorkflowID, RunID string
	Attempt                      int
}

const tokenSep = "\x1f"

// Token encodes a task reference as an opaque token.
func (r TaskRef) Token() string {
	raw := "1" + tokenSep + r.Namespace + tokenSep + r.WorkflowID + tokenSep + r.RunID + tokenSep + strconv.Itoa(r.Attempt)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// ParseToken decodes a task token; a malformed one is InvalidArgument on
// field task_token.
func ParseToken(tok string) (TaskRef, error) {
	bad := errs.Field("task_token", "is not a token this server issued (pass the task's task_token unchanged)")
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return TaskRef{}, bad
	}
	parts := strings.Split(string(raw), tokenSep)
	if len(parts) != 5 || parts[0] != "1" || parts[1] == "" || parts[2] == "" || parts[3] == "" {
		return TaskRef{}, bad
	}
	att, err := strconv.Atoi(parts[4])
	if err != nil || att < 1 {
		return TaskRef{}, bad
	}
	return TaskRef{Namespace: parts[1], WorkflowID: parts[2], RunID: parts[3], Attempt: att}, nil
}

// QueueLengths returns the number of entries (PENDING runs) in each
// partition of a task queue, in one round trip.
func (s *Store) QueueLengths(ctx context.Context, ns, queue string) ([]int64, error) {
	cmds := make([]*redis.IntCmd, s.k.partitions)
	_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for p := range cmds {
			cmds[p] = pipe.LLen(ctx, s.k.queue(p, ns, queue))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]int64, len(cmds))
	for p, c := range cmds {
		out[p] = c.Val()
	}
	return out, nil
}

// Claim leases up to n pending runs from partition p of a task queue, each
// as a new attempt.
func (s *Store) Claim(ctx context.Context, ns, queue string, p, n int, identity string) ([]Task, error) {
	return s.ClaimMany(ctx, ns, queue, []PartitionClaim{{Partition: p, N: n}}, identity)
}

// PartitionClaim asks ClaimMany for up to N tasks from one partition.
type PartitionClaim struct {
	Partition, N int
}

// ClaimMany claims from several partitions of a task queue in one round
// trip (one pipeline of claim scripts). It returns the tasks claimed even
// when some partitions failed, with the first error.
func (s *Store) ClaimMany(ctx context.Context, ns, queue string, claims []PartitionClaim, identity string) ([]Task, error) {
	now := s.clock.Now()
	calls := make([]*scriptCall, len(claims))
	for i, c := range claims {
		calls[i] = newCall(claimScript, []string{s.k.queue(c.Partition, ns, queue), s.k.timers(c.Partition)},
			s.argv(c.Partition, now, c.N, identity, ns, queue))
	}
	s.pipe.do(ctx, calls...)
	var out []Task
	var firstErr error
	for _, c := range calls {
		res, err := c.cmd.Slice()
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("claim from task queue %q: %w", queue, err)
			}
			continue
		}
		out = appendTasks(out, res, ns, now)
	}
	return out, firstErr
}

// appendTasks decodes a claim script's reply.
func appendTasks(out []Task, res []any, ns string, now time.Time) []Task {
	for _, item := range res {
		f, ok := item.([]any)
		if !ok || len(f) != 9 {
			continue
		}
		str := func(i int) string { v, _ := f[i].(string); return v }
		att, _ := f[2].(int64)
		t := Task{
			Namespace:        ns,
			WorkflowID:       str(0),
			RunID:            str(1),
			Attempt:          int(att),
			WorkflowType:     str(3),
			HeartbeatTimeout: msDur(str(5)),
			ScheduledTime:    fromMS(str(6)),
		}
		if in := str(4); in != "" {
			t.Input = json.RawMessage(in)
		}
		xdl := fromMS(str(7))
		if rto := msDur(str(8)); rto > 0 {
			t.Deadline = now.Add(rto)
		}
		if !xdl.IsZero() && (t.Deadline.IsZero() || xdl.Before(t.Deadline)) {
			t.Deadline = xdl
		}
		t.Token = TaskRef{Namespace: ns, WorkflowID: t.WorkflowID, RunID: t.RunID, Attempt: t.Attempt}.Token()
		out = append(out, t)
	}
	return out
}

// Release puts tasks claimed from queue that never reached a worker (the
// poll was cancelled before its response went out) straight back at the
// head of their queue partitions, as if they had not been claimed: their
// attempts are forgotten. A task whose attempt is no longer current is
// left alone. It sends the calls whatever happens to ctx.
func (s *Store) Release(ctx context.Context, queue string, tasks []Task) error {
	ctx = context.WithoutCancel(ctx)
	now := s.clock.Now()
	calls := make([]*scriptCall, len(tasks))
	for i, t := range tasks {
		p := s.k.partition(t.Namespace, t.WorkflowID)
		keys := []string{s.k.run(p, t.Namespace, t.WorkflowID, t.RunID), s.k.timers(p), s.k.queue(p, t.Namespace, queue)}
		calls[i] = newCall(releaseScript, keys, s.argv(p, now, t.Attempt, t.Namespace, t.WorkflowID, t.RunID))
	}
	s.pipe.do(ctx, calls...)
	var errs []error
	for _, c := range calls {
		if err := c.cmd.Err(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// staleError explains a CAS failure of a task script reply {-1|-2, st, att}.
func staleError(ref TaskRef, res []any) error {
	code, _ := res[0].(int64)
	if code == -1 {
		return fmt.Errorf("run %s of workflow id %q: %w", ref.RunID, ref.WorkflowID, runs.ErrNotFound)
	}
	stS, _ := res[1].(string)
	attS, _ := res[2].(string)
	st, _ := strconv.Atoi(stS)
	att, _ := strconv.Atoi(attS)
	if runs.Status(st).Closed() {
		return errs.FailedPrecondition("attempt %d of run %s is no longer current: the run is %s", ref.Attempt, ref.RunID, runs.Status(st))
	}
	return errs.FailedPrecondition("attempt %d of run %s is no longer current (the run is %s at attempt %d: the attempt ended, or its lease lapsed and the run was redelivered)", ref.Attempt, ref.RunID, runs.Status(st), att)
}

func (s *Store) taskKeys(ref TaskRef) (int, []string) {
	p := s.k.partition(ref.Namespace, ref.WorkflowID)
	return p, []string{s.k.run(p, ref.Namespace, ref.WorkflowID, ref.RunID), s.k.timers(p)}
}

// Heartbeat extends the attempt's lease by its heartbeat timeout and says
// whether a cancel was requested.
func (s *Store) Heartbeat(ctx context.Context, ref TaskRef) (cancelRequested bool, err error) {
	p, keys := s.taskKeys(ref)
	res, err := s.pipe.run(ctx, heartbeatScript, keys, s.argv(p, s.clock.Now(), ref.Attempt, ref.Namespace, ref.WorkflowID, ref.RunID)...).Slice()
	if err != nil {
		return false, err
	}
	if code, _ := res[0].(int64); code != 1 {
		return false, staleError(ref, res)
	}
	cr, _ := res[1].(string)
	return cr == "1", nil
}

// Complete closes the attempt and its run as COMPLETED with result (JSON).
func (s *Store) Complete(ctx context.Context, ref TaskRef, result json.RawMessage) error {
	c := s.completeCall(ref, result, s.clock.Now())
	s.pipe.do(ctx, c)
	return completeReply(ref, c.cmd)
}

// Completion is one attempt to close as COMPLETED, for CompleteMany.
type Completion struct {
	Ref TaskRef
	// Result is the run's JSON result; nil means none.
	Result json.RawMessage
}

// CompleteMany closes many attempts as Complete would, in one round trip
// (one pipeline), and returns one error or nil per completion, in order.
func (s *Store) CompleteMany(ctx context.Context, cs []Completion) []error {
	now := s.clock.Now()
	calls := make([]*scriptCall, len(cs))
	for i, c := range cs {
		calls[i] = s.completeCall(c.Ref, c.Result, now)
	}
	s.pipe.do(ctx, calls...)
	out := make([]error, len(cs))
	for i, c := range calls {
		out[i] = completeReply(cs[i].Ref, c.cmd)
	}
	return out
}

func (s *Store) completeCall(ref TaskRef, result json.RawMessage, now time.Time) *scriptCall {
	p, keys := s.taskKeys(ref)
	return newCall(completeScript, keys[:1], s.argv(p, now, ref.Attempt, string(result)))
}

func completeReply(ref TaskRef, cmd *redis.Cmd) error {
	res, err := cmd.Slice()
	if err != nil {
		return err
	}
	if code, _ := res[0].(int64); code != 1 {
		return staleError(ref, res)
	}
	return nil
}

// Fail ends the attempt with a failure. The run is retried after a backoff
// when its retry policy allows, closed as CANCELED when a cancel was
// requested, and closed as FAILED otherwise. It returns the run's new
// status.
func (s *Store) Fail(ctx context.Context, ref TaskRef, f Failure) (runs.Status, error) {
	sts, errs := s.failMany(ctx, []FailReport{{Ref: ref, Failure: f}})
	return sts[0], errs[0]
}

// FailReport is one failed attempt, for FailMany.
type FailReport struct {
	Ref     TaskRef
	Failure Failure
}

// FailMany ends many attempts with failures as Fail would, in two round
// trips (read what the retry decision needs, then run the scripts), and
// returns one error or nil per report, in order.
func (s *Store) FailMany(ctx context.Context, fs []FailReport) []error {
	_, errs := s.failMany(ctx, fs)
	return errs
}

func (s *Store) failMany(ctx context.Context, fs []FailReport) ([]runs.Status, []error) {
	sts := make([]runs.Status, len(fs))
	out := make([]error, len(fs))
	gets := make([]*redis.SliceCmd, len(fs))
	_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, f := range fs {
			p := s.k.partition(f.Ref.Namespace, f.Ref.WorkflowID)
			// What decideRetry needs; a run without "rid" does not exist.
			gets[i] = pipe.HMGet(ctx, s.k.run(p, f.Ref.Namespace, f.Ref.WorkflowID, f.Ref.RunID), "rid", "rp", "xdl")
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		for i := range out {
			out[i] = err
		}
		return sts, out
	}
	now := s.clock.Now()
	var calls []*scriptCall
	var idx []int
	for i, f := range fs {
		v, err := gets[i].Result()
		if err != nil {
			out[i] = err
			continue
		}
		if rid, _ := v[0].(string); rid == "" {
			out[i] = fmt.Errorf("run %s of workflow id %q: %w", f.Ref.RunID, f.Ref.WorkflowID, runs.ErrNotFound)
			continue
		}
		rp, _ := v[1].(string)
		xdl, _ := v[2].(string)
		d := decideRetry(parseRetryPolicy(rp), fromMS(xdl), f.Ref.Attempt, &fs[i].Failure, now)
		calls = append(calls, s.failCall(f.Ref, &fs[i].Failure, d, runs.StatusFailed, "", false, now))
		idx = append(idx, i)
	}
	s.pipe.do(ctx, calls...)
	for j, c := range calls {
		sts[idx[j]], out[idx[j]] = failReply(fs[idx[j]].Ref, c.cmd)
	}
	return sts, out
}

// retryDecision is what happens after a failed attempt.
type retryDecision struct {
	retry bool
	due   time.Time
}

// decideRetry applies a run's retry policy p to a failed attempt. Without
// a policy nothing is retried; the backoff is initial × coefficient^(n-1),
// capped at the maximum interval; a retry due at or after the run's
// execution deadline (zero: none) is not made.
func decideRetry(p *schedule.RetryPolicy, deadline time.Time, attempt int, f *Failure, now time.Time) retryDecision {
	if p == nil || f.NonRetryable || slices.Contains(p.NonRetryableErrorTypes, f.Type) {
		return retryDecision{}
	}
	if p.MaximumAttempts > 0 && attempt >= p.MaximumAttempts {
		return retryDecision{}
	}
	due := now.Add(Backoff(p.InitialInterval, p.BackoffCoefficient, p.MaximumInterval, attempt))
	if !deadline.IsZero() && !due.Before(deadline) {
		return retryDecision{}
	}
	return retryDecision{retry: true, due: due}
}

// Backoff returns the wait after failed attempt n (1-based), with the
// retry policy's defaults: initial 1 s, coefficient 2, maximum 100 ×
// initial.
func Backoff(initial time.Duration, coeff float64, maxInterval time.Duration, n int) time.Duration {
	if initial <= 0 {
		initial = time.Second
	}
	if coeff < 1 {
		coeff = 2
	}
	if maxInterval <= 0 {
		maxInterval = 100 * initial
	}
	d := float64(initial) * math.Pow(coeff, float64(n-1))
	if d > float64(maxInterval) || math.IsInf(d, 0) || math.IsNaN(d) {
		return maxInterval
	}
	return time.Duration(d)
}

// failAttempt runs failScript: retry per d, else close with closeStatus;
// redeliver puts the run straight back on its queue instead.
func (s *Store) failAttempt(ctx context.Context, ref TaskRef, f *Failure, d retryDecision, closeStatus runs.Status, member string, leaseCheck bool) (runs.Status, error) {
	c := s.failCall(ref, f, d, closeStatus, member, leaseCheck, s.clock.Now())
	s.pipe.do(ctx, c)
	return failReply(ref, c.cmd)
}

func (s *Store) failCall(ref TaskRef, f *Failure, d retryDecision, closeStatus runs.Status, member string, leaseCheck bool, now time.Time) *scriptCall {
	p, keys := s.taskKeys(ref)
	action := "close"
	if d.retry {
		action = "retry"
	}
	lc := "0"
	if leaseCheck {
		lc = "1"
		if d.retry && d.due.IsZero() {
			action = "redeliver"
		}
	}
	return newCall(failScript, keys, s.argv(p, now, ref.Attempt, f.json(), f.Message, action,
		strconv.Itoa(int(closeStatus)), ms(d.due), lc, member))
}

func failReply(ref TaskRef, cmd *redis.Cmd) (runs.Status, error) {
	res, err := cmd.Slice()
	if err != nil {
		return 0, err
	}
	code, _ := res[0].(int64)
	if code != 1 && code != 0 {
		return 0, staleError(ref, res)
	}
	stS, _ := res[1].(string)
	st, _ := strconv.Atoi(stS)
	return runs.Status(st), nil
}

func isFailedPrecondition(err error) bool { return errors.Is(err, errs.ErrFailedPrecondition) }
