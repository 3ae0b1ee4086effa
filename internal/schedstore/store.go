// Package schedstore keeps schedules, their due times and their execution
// records in Redis. It knows the layout (keys.go) and the Lua scripts
// (scripts.go); it does not know what a spec means: callers compute next
// times and due times and hand them in.
package schedstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sundial-dev/sundial/internal/errs"
	"github.com/sundial-dev/sundial/schedule"
)

// Retention limits for execution records.
const (
	// ExecutionsPerSchedule is about how many execution records are kept
	// per schedule (the ones with the latest nominal times; trimming is
	// amortized, so a few more may remain). Records cost about
	// 200 bytes each, twice (per schedule and per namespace).
	ExecutionsPerSchedule = 100
	// ExecutionsPerPartition is how many records of one namespace are kept
	// in each partition's namespace-wide index.
	ExecutionsPerPartition = 10000
	// RecentActions is how many recent actions Describe shows.
	RecentActions = 10
)

// Store is the Redis schedule store. It is safe for concurrent use.
type Store struct {
	rdb redis.UniversalClient
	k   keys
	// execFetch is how many records Executions reads per source per call.
	execFetch int
}

// New returns a store on rdb whose keys start with prefix and whose due
// times are split into partitions partitions (at least 1).
func New(rdb redis.UniversalClient, prefix string, partitions int) *Store {
	if partitions < 1 {
		partitions = 1
	}
	return &Store{rdb: rdb, k: keys{prefix: prefix, partitions: partitions}, execFetch: defaultExecFetch}
}

// Partitions returns the number of partitions.
func (s *Store) Partitions() int { return s.k.partitions }

// Def is the part of a schedule a caller replaces as a whole: everything but
// the mutable state.
type Def struct {
	Spec   schedule.Spec     `json:"spec"`
	Action schedule.Action   `json:"action"`
	Policy schedule.Policy   `json:"policy"`
	Tags   map[string]string `json:"tags,omitempty"`
}

// Counts are a schedule's lifetime counters.
type Counts struct {
	Actions       int64
	Missed        int64
	OverlapSkip   int64
	BufferDropped int64
}

// Counter names as stored (hash fields), for Commit.Inc.
const (
	CountActions       = "a"
	CountMissed        = "m"
	CountOverlapSkip   = "s"
	CountBufferDropped = "b"
)

// Record is a stored schedule.
type Record struct {
	Namespace string
	ID        string
	Def       Def
	State     schedule.State
	// Next is the next nominal time the scheduler will process; zero when
	// there is none.
	Next time.Time
	// Generation changes whenever Next is recomputed outside the scheduler.
	Generation string
	// InFlight is the nominal time of a claimed fire that an update
	// overtook (its nominal time had passed when the update recomputed
	// Next); the next commit of the claim must fire it first. Zero
	// otherwise.
	InFlight time.Time
	// InFlightBase is the workflow id base in force when the claim of
	// InFlight was made; the re-fire must use it, not the current one.
	// Empty when InFlight is zero.
	InFlightBase string
	// Version is the conflict token; it changes on every caller mutation.
	Version string
	Created time.Time
	Updated time.Time
	Counts  Counts
}

// Token returns the conflict token.
func (r *Record) Token() string { return r.Version }

// Mutation is what Create and Replace store.
type Mutation struct {
	// Def, when non-nil, replaces the definition.
	Def *Def
	// State, when non-nil, replaces the state.
	State *schedule.State
	// SetNext makes Next and Due apply; Next zero means no next time.
	SetNext bool
	Next    time.Time
	// Due is when the next action is due (the jittered next time); zero
	// removes the schedule from the due set.
	Due time.Time
	// Now is the update time.
	Now time.Time
}

func unixString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return strconv.FormatInt(t.Unix(), 10)
}

func msString(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// def returns the encoded definition, or "" when m keeps it.
func (m Mutation) def() (string, error) {
	if m.Def == nil {
		return "", nil
	}
	b, err := json.Marshal(m.Def)
	if err != nil {
		return "", fmt.Errorf("encode schedule: %w", err)
	}
	return string(b), nil
}

func (m Mutation) fields() []any {
	var f []any
	if st := m.State; st != nil {
		f = append(f, "p", boolString(st.Paused), "note", st.Note, "lim", boolString(st.LimitedActions), "rem", st.RemainingActions)
	}
	if m.SetNext {
		f = append(f, "n", unixString(m.Next))
	}
	return append(f, "u", msString(m.Now))
}

func (m Mutation) dueArg() string {
	if m.Due.IsZero() || m.Next.IsZero() {
		return ""
	}
	return msString(m.Due)
}

func boolString(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// Create stores a new schedule. A taken id is errs.ErrAlreadyExists unless
// requestID is non-empty and equal to the one that created it, in which case
// Create returns the current token (a retried create).
func (s *Store) Create(ctx context.Context, ns, id, requestID string, m Mutation) (string, error) {
	m.SetNext = true
	f := m.fields()
	d, err := m.def()
	if err != nil {
		return "", err
	}
	f = append(f, "c", msString(m.Now), "g", "1", "v", "1", "rid", requestID)
	args := append([]any{id, requestID, m.dueArg(), member(ns, id), d}, f...)
	res, err := createScript.Run(ctx, s.rdb, s.k.all(ns, id), args...).Slice()
	if err != nil {
		return "", fmt.Errorf("create schedule: %w", err)
	}
	code, _ := res[0].(int64)
	tok := fmt.Sprint(res[1])
	if code == 0 {
		return "", errs.AlreadyExists("schedule %q already exists in namespace %q", id, ns)
	}
	return tok, nil
}

// Replace applies m to an existing schedule. With a non-empty token the
// call fails with errs.ErrConflict unless it is the current one. Replacing
// the definition or the next time bumps the generation, so a fire claimed
// under the old definition does not move the next time back.
func (s *Store) Replace(ctx context.Context, ns, id, token string, m Mutation) (string, error) {
	r := s.ReplaceMany(ctx, []Replacement{{Namespace: ns, ID: id, Token: token, Mutation: m}})[0]
	return r.Version, r.Err
}

// Replacement is one Replace of a ReplaceMany batch.
type Replacement struct {
	Namespace, ID, Token string
	Mutation             Mutation
}

// ReplaceResult is what Replace would return for one replacement.
type ReplaceResult struct {
	Version string
	Err     error
}

// ReplaceMany applies several replacements, each as Replace would and
// atomic on its own, in one round trip, and returns their results in
// order.
func (s *Store) ReplaceMany(ctx context.Context, rs []Replacement) []ReplaceResult {
	out := make([]ReplaceResult, len(rs))
	var keys [][]string
	var args [][]any
	var at []int
	for i, r := range rs {
		m := r.Mutation
		d, err := m.def()
		if err != nil {
			out[i].Err = err
			continue
		}
		bump := boolString(m.SetNext || m.Def != nil)
		keys = append(keys, s.k.all(r.Namespace, r.ID))
		args = append(args, append([]any{r.Token, m.dueArg(), member(r.Namespace, r.ID), bump, d, msString(m.Now)}, m.fields()...))
		at = append(at, i)
	}
	cmds, err := evalMany(ctx, s.rdb, replaceScript, keys, args)
	for j, i := range at {
		r := rs[i]
		if err != nil {
			out[i].Err = fmt.Errorf("update schedule: %w", err)
			continue
		}
		res, err := cmds[j].Slice()
		if err != nil {
			out[i].Err = fmt.Errorf("update schedule: %w", err)
			continue
		}
		switch code, _ := res[0].(int64); code {
		case 0:
			out[i].Err = errs.NotFound("schedule %q not found in namespace %q", r.ID, r.Namespace)
		case 1:
			out[i].Err = errs.Conflict("conflict token %q is stale (the schedule changed since it was read; describe it again)", r.Token)
		default:
			out[i].Version = fmt.Sprint(res[1])
		}
	}
	return out
}

// Delete removes a schedule. A missing one is errs.ErrNotFound.
func (s *Store) Delete(ctx context.Context, ns, id string) error {
	n, err := deleteScript.Run(ctx, s.rdb, s.k.all(ns, id), id, member(ns, id)).Int()
	if err != nil {
		return fmt.Errorf("delete schedule: %w", err)
	}
	if n == 0 {
		return errs.NotFound("schedule %q not found in namespace %q", id, ns)
	}
	return nil
}

// NextSeq returns a new value of the schedule's trigger counter, used to
// make manual-trigger workflow ids unique.
func (s *Store) NextSeq(ctx context.Context, ns, id string) (int64, error) {
	n, err := seqScript.Run(ctx, s.rdb, s.k.all(ns, id)[:1]).Int64()
	if err != nil {
		return 0, fmt.Errorf("trigger counter: %w", err)
	}
	if n < 0 {
		return 0, errs.NotFound("schedule %q not found in namespace %q", id, ns)
	}
	return n, nil
}

// Get reads a schedule. A missing one is errs.ErrNotFound.
func (s *Store) Get(ctx context.Context, ns, id string) (*Record, error) {
	recs, err := s.GetMany(ctx, []Claimed{{Namespace: ns, ID: id}})
	if err != nil {
		return nil, err
	}
	if recs[0] == nil {
		return nil, errs.NotFound("schedule %q not found in namespace %q", id, ns)
	}
	return recs[0], nil
}

// GetMany reads several schedules in one round trip. Missing ones are nil.
func (s *Store) GetMany(ctx context.Context, cs []Claimed) ([]*Record, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(cs))
	defs := make([]*redis.StringCmd, len(cs))
	for i, c := range cs {
		p, m := s.k.partition(c.Namespace, c.ID), member(c.Namespace, c.ID)
		cmds[i] = pipe.HGetAll(ctx, s.k.sched(p, m))
		defs[i] = pipe.Get(ctx, s.k.def(p, m))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read schedules: %w", err)
	}
	out := make([]*Record, len(cs))
	for i, c := range cs {
		h := cmds[i].Val()
		if len(h) == 0 {
			continue
		}
		r, err := decodeRecord(c.Namespace, c.ID, h, defs[i].Val())
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

func decodeRecord(ns, id string, h map[string]string, def string) (*Record, error) {
	r := &Record{Namespace: ns, ID: id, Generation: h["g"], Version: h["v"]}
	if err := json.Unmarshal([]byte(def), &r.Def); err != nil {
		return nil, fmt.Errorf("decode schedule %s/%s: %w", ns, id, err)
	}
	r.State = schedule.State{Paused: h["p"] == "1", Note: h["note"], LimitedActions: h["lim"] == "1", RemainingActions: atoi(h["rem"])}
	if n := atoi(h["n"]); h["n"] != "" {
		r.Next = time.Unix(n, 0).UTC()
	}
	if n := atoi(h["cn"]); h["cn"] != "" {
		r.InFlight = time.Unix(n, 0).UTC()
		r.InFlightBase = h["cw"]
	}
	r.Created = time.UnixMilli(atoi(h["c"])).UTC()
	r.Updated = time.UnixMilli(atoi(h["u"])).UTC()
	r.Counts = Counts{Actions: atoi(h["a"]), Missed: atoi(h["m"]), OverlapSkip: atoi(h["s"]), BufferDropped: atoi(h["b"])}
	return r, nil
}

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// Buffered is a fire waiting for the schedule's open runs to close.
type Buffered struct {
	Nominal    time.Time `json:"n"`
	WorkflowID string    `json:"w"`
	Trigger    int       `json:"t"`
}

// Encode returns the stored form, which Commit.PopBuffer compares.
func (b Buffered) Encode() string {
	out, _ := json.Marshal(b)
	return string(out)
}

// OpenState is what an overlap decision reads: the open runs the schedule
// started and its buffered fires.
type OpenState struct {
	// Running maps workflow id to run id.
	Running map[string]string
	// Buffer holds the buffered fires, oldest first; BufferRaw their
	// stored forms, which Commit.PopBuffer compares.
	Buffer    []Buffered
	BufferRaw []string
}

// Open reads a schedule's open runs and buffer in one round trip.
func (s *Store) Open(ctx context.Context, ns, id string) (OpenState, error) {
	p, m := s.k.partition(ns, id), member(ns, id)
	pipe := s.rdb.Pipeline()
	running := pipe.HGetAll(ctx, s.k.running(p, m))
	buffer := pipe.LRange(ctx, s.k.buffer(p, m), 0, -1)
	if _, err := pipe.Exec(ctx); err != nil {
		return OpenState{}, fmt.Errorf("read open runs and buffer: %w", err)
	}
	st := OpenState{Running: running.Val(), BufferRaw: buffer.Val()}
	st.Buffer = make([]Buffered, 0, len(st.BufferRaw))
	for _, r := range st.BufferRaw {
		var b Buffered
		if err := json.Unmarshal([]byte(r), &b); err != nil {
			return OpenState{}, fmt.Errorf("decode buffered fire: %w", err)
		}
		st.Buffer = append(st.Buffer, b)
	}
	return st, nil
}

// Action is one action a schedule took, as Describe shows it.
type Action struct {
	Nominal    time.Time `json:"n"`
	Actual     time.Time `json:"a"`
	WorkflowID string    `json:"w"`
	RunID      string    `json:"r"`
}

// Recent returns the last actions, newest first.
func (s *Store) Recent(ctx context.Context, ns, id string) ([]Action, error) {
	p := s.k.partition(ns, id)
	raw, err := s.rdb.LRange(ctx, s.k.recent(p, member(ns, id)), 0, RecentActions-1).Result()
	if err != nil {
		return nil, fmt.Errorf("read recent actions: %w", err)
	}
	return decodeActions(raw)
}

func decodeActions(raw []string) ([]Action, error) {
	out := make([]Action, 0, len(raw))
	for _, r := range raw {
		var a Action
		if err := json.Unmarshal([]byte(r), &a); err != nil {
			return nil, fmt.Errorf("decode recent action: %w", err)
		}
		out = append(out, a)
	}
	return out, nil
}

// Claimed is a fire the scheduler claimed: the schedule whose next time is due.
type Claimed struct {
	Namespace string
	ID        string
}

// Claim moves up to limit entries of partition p due by horizon to the
// in-flight set with a deadline of now+lease, first re-claiming entries
// whose deadline passed by now. A horizon after now claims fires ahead of
// their due time, for a caller that waits for it before acting. Each
// claimed entry must be committed (Commit with Claimed set) before the
// deadline, or another claimer takes it over.
func (s *Store) Claim(ctx context.Context, p int, now, horizon time.Time, lease time.Duration, limit int) ([]Claimed, error) {
	ms, err := claimScript.Run(ctx, s.rdb, []string{s.k.due(p), s.k.inflight(p)}, msString(now), msString(now.Add(lease)), limit, msString(horizon)).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("claim due schedules: %w", err)
	}
	out := make([]Claimed, 0, len(ms))
	seen := make(map[string]bool, len(ms))
	for _, m := range ms {
		ns, id, ok := splitMember(m)
		if !ok || seen[m] {
			continue
		}
		seen[m] = true
		out = append(out, Claimed{Namespace: ns, ID: id})
	}
	return out, nil
}

// EarliestDue returns when a claimer that claims ahead (up to ahead
// before due times) finds work next: ahead before the earliest due time,
// or the earliest in-flight deadline (when an expired claim can be taken
// over), over all partitions, in one round trip. It returns false when
// every set is empty.
func (s *Store) EarliestDue(ctx context.Context, ahead time.Duration) (time.Time, bool, error) {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.ZSliceCmd, 0, 2*s.k.partitions)
	for p := 0; p < s.k.partitions; p++ {
		cmds = append(cmds, pipe.ZRangeWithScores(ctx, s.k.due(p), 0, 0), pipe.ZRangeWithScores(ctx, s.k.inflight(p), 0, 0))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return time.Time{}, false, fmt.Errorf("peek due sets: %w", err)
	}
	var best time.Time
	for i, c := range cmds {
		if zs := c.Val(); len(zs) == 1 {
			t := time.UnixMilli(int64(zs[0].Score))
			if i%2 == 0 { // a due set
				t = t.Add(-ahead)
			}
			if best.IsZero() || t.Before(best) {
				best = t
			}
		}
	}
	return best, !best.IsZero(), nil
}

// Release hands claims back that the caller will not act on (it is
// shutting down before their due times), so that they fire on time
// elsewhere instead of after their lease: claim i returns to the due set
// at due[i]. Claims already committed or taken over are left alone.
func (s *Store) Release(ctx context.Context, cs []Claimed, due []time.Time) error {
	if len(cs) == 0 {
		return nil
	}
	if err := releaseScript.Load(ctx, s.rdb).Err(); err != nil {
		return fmt.Errorf("load release script: %w", err)
	}
	pipe := s.rdb.Pipeline()
	for i, c := range cs {
		releaseScript.EvalSha(ctx, pipe, s.k.all(c.Namespace, c.ID), member(c.Namespace, c.ID), msString(due[i]))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("release claims: %w", err)
	}
	return nil
}

// DueCount returns how many schedules are in partition p's due set.
func (s *Store) DueCount(ctx context.Context, p int) (int64, error) {
	return s.rdb.ZCard(ctx, s.k.due(p)).Result()
}
