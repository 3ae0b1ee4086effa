package runstore

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/redis/go-redis/v9"

	"github.com/sundial-dev/sundial/internal/clock"
	"github.com/sundial-dev/sundial/internal/errs"
	"github.com/sundial-dev/sundial/internal/runs"
)

// DefaultHeartbeatTimeout is the heartbeat timeout of a run that sets none.
const DefaultHeartbeatTimeout = 30 * time.Second

// requestTTL is how long a start's request id is remembered.
const requestTTL = 24 * time.Hour

// Options configures a Store. Call WithDefaults, then New validates it.
type Options struct {
	// Client is the Redis to use. Required.
	Client redis.UniversalClient
	// Prefix starts every key. Optional: defaults to "sundial".
	Prefix string
	// Clock tells the time. Optional: defaults to the wall clock.
	Clock clock.Clock
	// Partitions is how many slots the runs, queues and timers are spread
	// over. Changing it on a live deployment is not supported. Optional:
	// defaults to 16.
	Partitions int
	// NextCron returns the first time after t that a cron expression
	// matches; Start and the cron-chain timer call it. Optional: without it
	// a cron_schedule is rejected.
	NextCron func(expr string, after time.Time) (time.Time, error)
	// Retention is how long a closed run is kept: its hash, its index
	// entries and (when it is the workflow id's latest run) the workflow
	// id's pointer. The timer loop deletes them once Retention has passed on
	// the store's Clock; the run hash also gets a Redis TTL of Retention plus
	// a day, a backstop for a timer loop that is not running (Redis TTLs
	// follow Redis's own clock, so a fake Clock does not drive that one).
	// After deletion the workflow id may be started again whatever its id
	// reuse policy. Negative keeps closed runs for ever. Optional: defaults
	// to 7 days (DefaultRetention).
	Retention time.Duration
}

// DefaultRetention is how long closed runs are kept when Options.Retention
// is zero.
const DefaultRetention = 7 * 24 * time.Hour

// WithDefaults returns a copy of o with every unset optional field set.
func (o Options) WithDefaults() Options {
	if o.Prefix == "" {
		o.Prefix = "sundial"
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Partitions == 0 {
		o.Partitions = 16
	}
	if o.Retention == 0 {
		o.Retention = DefaultRetention
	}
	return o
}

func (o Options) validate() error {
	switch {
	case o.Client == nil:
		return errors.New("runstore: missing Redis client (set Options.Client)")
	case o.Partitions < 1 || o.Partitions > 1024:
		return fmt.Errorf("runstore: partitions must be in 1-1024, got %d", o.Partitions)
	}
	return nil
}

// Store is the run model in Redis: runs, task queues, leases and timers.
// It is safe for concurrent use, and any number of server replicas may
// share one Redis.
type Store struct {
	rdb   redis.UniversalClient
	k     keys
	clock clock.Clock
	next  func(string, time.Time) (time.Time, error)
	// retention is Options.Retention in milliseconds, 0 for none.
	retention int64

	pipe *pipeliner

	// lastStart is the store clock's Unix nanoseconds at the last start,
	// unflushed at the first start since the last index flush began (0:
	// none); see IndexFlushDue.
	lastStart, unflushed atomic.Int64

	mu      sync.Mutex
	entropy io.Reader
}

// New returns a Store.
func New(o Options) (*Store, error) {
	o = o.WithDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	return &Store{
		rdb:       o.Client,
		k:         keys{prefix: o.Prefix, partitions: o.Partitions},
		clock:     o.Clock,
		next:      o.NextCron,
		pipe:      &pipeliner{rdb: o.Client},
		retention: max(o.Retention.Milliseconds(), 0),
		// Buffered, and ids of one millisecond count up by one: a run id
		// costs no getrandom system call nor big-number arithmetic of its
		// own (run ids need to be unique and ordered, not unguessable).
		entropy: ulid.Monotonic(bufio.NewReaderSize(rand.Reader, 4096), 1),
	}, nil
}

// Partitions returns the number of partitions.
func (s *Store) Partitions() int { return s.k.partitions }

// Channel returns the pub/sub channel on which the store announces enqueued
// tasks ("q|ns|queue|partition") and closed runs ("c|ns|wf|rid"); the
// server's wakeup hub reads them.
func (s *Store) Channel() string { return s.k.channel() }

func (s *Store) newRunID(t time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ulid.MustNew(ulid.Timestamp(t), s.entropy).String()
}

func (s *Store) argv(p int, now time.Time, rest ...any) []any {
	return append([]any{s.k.base(p), s.k.channel(), p, ms(now), s.retention}, rest...)
}

// Start starts a run. The request must have been validated (the server
// does it at its edge). With a cron schedule the first run waits for the
// first matching time. The starts of concurrent calls that reach one
// partition share a script call (see startScript).
func (s *Store) Start(ctx context.Context, req runs.StartRequest) (runs.StartResult, error) {
	return s.StartMany(ctx, []runs.StartRequest{req})[0].Get()
}

// StartOutcome is the result of one start of StartMany.
type StartOutcome struct {
	Result runs.StartResult
	Err    error
}

// Get returns the outcome's result and error.
func (o StartOutcome) Get() (runs.StartResult, error) { return o.Result, o.Err }

// StartMany starts several runs, each exactly as Start would, in one
// Redis pipeline, where the starts of one partition share script calls.
func (s *Store) StartMany(ctx context.Context, reqs []runs.StartRequest) []StartOutcome {
	now := s.clock.Now()
	out := make([]StartOutcome, len(reqs))
	calls := make([]*scriptCall, 0, len(reqs))
	idx := make([]int, 0, len(reqs))
	for i, req := range reqs {
		due := now.Add(req.StartDelay)
		if req.CronSchedule != "" {
			if s.next == nil {
				out[i].Err = errs.Field("cron_schedule", "cron workflows are not supported by this server")
				continue
			}
			t, err := s.next(req.CronSchedule, now)
			if err != nil {
				out[i].Err = err
				continue
			}
			due = t
		}
		var c *scriptCall
		var err error
		if req.PreparedRunID != "" && req.Preparable() {
			c = s.activateCall(&req, now)
		} else {
			c, err = s.startCall(req, now, due, "", "")
		}
		if err != nil {
			out[i].Err = err
			continue
		}
		calls = append(calls, c)
		idx = append(idx, i)
	}
	s.started(now)
	s.pipe.do(ctx, calls...)
	var again []runs.StartRequest
	var againIdx []int
	for j, c := range calls {
		i := idx[j]
		out[i].Result, out[i].Err = startResult(reqs[i].WorkflowID, c.cmd)
		if errors.Is(out[i].Err, errNotPrepared) {
			// The prepared run expired: start it in full.
			req := reqs[i]
			req.PreparedRunID = ""
			again, againIdx = append(again, req), append(againIdx, i)
		}
	}
	if len(again) > 0 {
		for j, o := range s.StartMany(ctx, again) {
			out[againIdx[j]] = o
		}
	}
	return out
}

// start creates a run due at due. expectPrev and rmTimer serve cron chains.
func (s *Store) start(ctx context.Context, req runs.StartRequest, now, due time.Time, expectPrev, rmTimer string) (runs.StartResult, error) {
	c, err := s.startCall(req, now, due, expectPrev, rmTimer)
	if err != nil {
		return runs.StartResult{}, err
	}
	s.started(now)
	s.pipe.do(ctx, c)
	return startResult(req.WorkflowID, c.cmd)
}

// started notes a start at now for IndexFlushDue.
func (s *Store) started(now time.Time) {
	s.lastStart.Store(now.UnixNano())
	s.unflushed.CompareAndSwap(0, now.UnixNano())
}

// startCall prepares one run's part of a start script call, for a run due
// at due; the pipeliner merges the parts of one partition (see merge).
func (s *Store) startCall(req runs.StartRequest, now, due time.Time, expectPrev, rmTimer string) (*scriptCall, error) {
	ns, wf := req.Namespace, req.WorkflowID
	p := s.k.partition(ns, wf)
	rid := s.newRunID(now)
	if due.Before(now) {
		due = now
	}
	hb := heartbeat(&req)
	xdl := executionDeadline(&req, due)
	ifne := "0"
	if req.IfNotExists {
		ifne = "1"
	}
	reqKey := s.k.workflow(p, ns, wf)
	if req.RequestID != "" {
		reqKey = s.k.request(p, ns, wf, req.RequestID)
	}
	st := runs.StatusPending
	if ms(due) > ms(now) {
		st = runs.StatusScheduled
	}
	args := []any{0, ns, wf, rid, int(req.IDReusePolicy), ifne, req.RequestID, ms(due), xdl,
		req.TaskQueue, expectPrev, rmTimer, int(requestTTL / time.Second), req.WorkflowType, req.Origin.ScheduleID, int(st),
		hb.Milliseconds()}
	fixed := len(args)
	args = appendField(args, "xdl", xdl)
	args, err := appendRunFields(args, &req)
	if err != nil {
		return nil, err
	}
	args[0] = len(args) - fixed
	c := newCall(startScript, []string{s.k.run(p, ns, wf, rid), s.k.workflow(p, ns, wf), reqKey}, args)
	c.merge = s.startHead(p, now)
	return c, nil
}

// startHead is the merge head of startScript and activateScript calls:
// the partition's timers and index queue, and the common arguments.
func (s *Store) startHead(p int, now time.Time) *mergeHead {
	return &mergeHead{group: p, keys: []string{s.k.timers(p), s.k.indexQueue(p)}, args: s.argv(p, now)}
}

// executionDeadline is the Unix milliseconds at which a run that starts at
// start exceeds its execution timeout; 0 without one.
func executionDeadline(req *runs.StartRequest, start time.Time) int64 {
	if req.ExecutionTimeout <= 0 {
		return 0
	}
	return ms(start.Add(req.ExecutionTimeout))
}

// startResult reads one run's reply of the start script.
func startResult(wf string, cmd *redis.Cmd) (runs.StartResult, error) {
	res, err := cmd.Slice()
	if err == nil && len(res) != 2 {
		err = fmt.Errorf("unexpected script reply %v", res)
	}
	if err != nil {
		return runs.StartResult{}, fmt.Errorf("start workflow %q: %w", wf, err)
	}
	code, _ := res[0].(int64)
	other, _ := res[1].(string)
	switch code {
	case 0:
		return runs.StartResult{RunID: other}, nil
	case 1:
		return runs.StartResult{RunID: other, Existing: true}, nil
	case 2:
		return runs.StartResult{RunID: other}, fmt.Errorf("workflow id %q has an open run %s (wait for it to close, or start with id reuse policy TERMINATE_IF_RUNNING): %w", wf, other, runs.ErrAlreadyStarted)
	case 3:
		return runs.StartResult{RunID: other}, fmt.Errorf("workflow id %q was used by run %s and the id reuse policy forbids another: %w", wf, other, runs.ErrAlreadyStarted)
	case 4:
		return runs.StartResult{RunID: other}, errChainSuperseded
	case 5:
		return runs.StartResult{}, errNotPrepared
	case -1:
		return runs.StartResult{}, fmt.Errorf("start workflow %q: %s", wf, other)
	}
	return runs.StartResult{}, fmt.Errorf("start workflow %q: unexpected script reply %v", wf, res)
}

// heartbeat returns req's heartbeat timeout, or the default.
func heartbeat(req *runs.StartRequest) time.Duration {
	if req.HeartbeatTimeout > 0 {
		return req.HeartbeatTimeout
	}
	return DefaultHeartbeatTimeout
}

// appendRunFields appends the field/value pairs of a run's hash that
// depend only on its request, leaving out empty and zero ones: the readers
// take a missing field for one.
func appendRunFields(args []any, req *runs.StartRequest) ([]any, error) {
	var rp, memo string
	if req.RetryPolicy != nil {
		b, err := json.Marshal(req.RetryPolicy)
		if err != nil {
			return nil, err
		}
		rp = string(b)
	}
	if len(req.Memo) > 0 {
		b, err := json.Marshal(req.Memo)
		if err != nil {
			return nil, errs.Field("memo", "not valid JSON: %v", err)
		}
		memo = string(b)
	}
	args = appendField(args, "in", string(req.Input))
	args = appendField(args, "cron", req.CronSchedule)
	args = appendField(args, "rp", rp)
	args = appendField(args, "rto", req.RunTimeout.Milliseconds())
	args = appendField(args, "xto", req.ExecutionTimeout.Milliseconds())
	args = appendField(args, "memo", memo)
	args = appendField(args, "osid", req.Origin.ScheduleID)
	args = appendField(args, "onom", ms(req.Origin.NominalTime))
	args = appendField(args, "otrg", int64(req.Origin.Trigger))
	args = appendField(args, "ocli", req.Origin.ClientIdentity)
	args = appendField(args, "oprev", req.Origin.PreviousRunID)
	return args, nil
}

// appendField appends a field and its value unless the value is empty or zero.
func appendField[V string | int64](args []any, field string, v V) []any {
	var zero V
	if v == zero {
		return args
	}
	return append(args, field, v)
}

var errChainSuperseded = errors.New("cron chain superseded by a newer run")

// Get returns a run; an empty run id means the workflow id's latest run.
func (s *Store) Get(ctx context.Context, ns, wf, rid string) (*Run, error) {
	p := s.k.partition(ns, wf)
	rid, err := s.resolve(ctx, p, ns, wf, rid)
	if err != nil {
		return nil, err
	}
	h, err := s.rdb.HGetAll(ctx, s.k.run(p, ns, wf, rid)).Result()
	if err != nil {
		return nil, err
	}
	r := decodeRun(h)
	if r == nil {
		return nil, fmt.Errorf("run %s of workflow id %q in namespace %q: %w", rid, wf, ns, runs.ErrNotFound)
	}
	return r, nil
}

// Statuses returns the status of each run in refs (run ids required), in
// order, reading them in one pipelined round trip; a run that does not
// exist is runs.StatusUnspecified.
func (s *Store) Statuses(ctx context.Context, ns string, refs []runs.RunRef) ([]runs.Status, error) {
	out := make([]runs.Status, len(refs))
	if len(refs) == 0 {
		return out, nil
	}
	cmds := make([]*redis.StringCmd, len(refs))
	_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, r := range refs {
			cmds[i] = pipe.HGet(ctx, s.k.run(s.k.partition(ns, r.WorkflowID), ns, r.WorkflowID, r.RunID), "st")
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("run statuses: %w", err)
	}
	for i, c := range cmds {
		if st, err := c.Int(); err == nil {
			out[i] = runs.Status(st)
		}
	}
	return out, nil
}

// WatchClose asks that the run's close be announced on Channel. A close is
// published only for a run that was watched before it closed: most runs
// have nobody waiting for them. Call it before reading the run's status,
// so that a close in between is either seen or announced.
func (s *Store) WatchClose(ctx context.Context, ns, wf, rid string) error {
	p := s.k.partition(ns, wf)
	return watchScript.Run(ctx, s.rdb, []string{s.k.run(p, ns, wf, rid)}).Err()
}

// resolve returns the run id to act on: rid, or the latest run's.
func (s *Store) resolve(ctx context.Context, p int, ns, wf, rid string) (string, error) {
	if rid != "" {
		return rid, nil
	}
	latest, err := s.rdb.HGet(ctx, s.k.workflow(p, ns, wf), "latest").Result()
	if errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("workflow id %q in namespace %q: %w", wf, ns, runs.ErrNotFound)
	}
	return latest, err
}

// Cancel asks an open run to stop. A RUNNING run's worker sees the request
// on its next heartbeat and ends the attempt, which closes the run as
// CANCELED; a run no worker holds (SCHEDULED, PENDING) is closed as
// CANCELED at once. A cron chain goes on after a canceled run.
func (s *Store) Cancel(ctx context.Context, ns, wf, rid, reason string) error {
	f := &Failure{Message: "canceled: " + orDefault(reason, "cancel requested"), Type: "Canceled", NonRetryable: true}
	return s.closeOpen(ctx, ns, wf, rid, runs.StatusCanceled, f, "cancel", "")
}

// Terminate closes an open run at once as TERMINATED and ends its cron
// chain; the worker's later completion is rejected.
func (s *Store) Terminate(ctx context.Context, ns, wf, rid, reason string) error {
	f := &Failure{Message: "terminated: " + orDefault(reason, "terminate requested"), Type: "Terminated", NonRetryable: true}
	return s.closeOpen(ctx, ns, wf, rid, runs.StatusTerminated, f, "close", "")
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func (s *Store) closeOpen(ctx context.Context, ns, wf, rid string, st runs.Status, f *Failure, mode, member string) error {
	p := s.k.partition(ns, wf)
	rid, err := s.resolve(ctx, p, ns, wf, rid)
	if err != nil {
		return err
	}
	res, err := s.pipe.run(ctx, closeOpenScript, []string{s.k.run(p, ns, wf, rid), s.k.timers(p)},
		s.argv(p, s.clock.Now(), strconv.Itoa(int(st)), f.json(), f.Message, member, mode)...).Slice()
	if err != nil {
		return err
	}
	switch code, _ := res[0].(int64); code {
	case -1:
		return fmt.Errorf("run %s of workflow id %q: %w", rid, wf, runs.ErrNotFound)
	case -3:
		cur, _ := res[1].(string)
		n, _ := strconv.Atoi(cur)
		return fmt.Errorf("run %s of workflow id %q is already closed (%s): %w (%w)", rid, wf, runs.Status(n), runs.ErrAlreadyClosed, errs.ErrFailedPrecondition)
	}
	return nil
}
