package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/sundial-dev/sundial/schedule"
)

// scheduleFlags are the definition flags shared by `schedule create` and
// `schedule update`: each one given replaces that part of the schedule.
type scheduleFlags struct {
	file string
	// spec
	cron      []string
	intervals []string
	offset    time.Duration
	calendars []string
	at        []string
	skip      []string
	tz        string
	jitter    time.Duration
	start     string
	end       string
	// action
	workflowType     string
	workflowID       string
	taskQueue        string
	input            string
	executionTimeout time.Duration
	runTimeout       time.Duration
	heartbeatTimeout time.Duration
	maxAttempts      int
	memo             []string
	// policy
	overlap        string
	catchupWindow  time.Duration
	coalesce       bool
	pauseOnFailure bool
	// state
	paused           bool
	note             string
	remainingActions int64
	tags             []string
}

func (f *scheduleFlags) add(fs *pflag.FlagSet) {
	fs.StringVarP(&f.file, "file", "f", "", "read the schedule from a JSON file (- for stdin); other flags override it")
	fs.StringArrayVar(&f.cron, "cron", nil, "cron expression, 5-7 fields or a macro (repeatable)")
	fs.StringArrayVar(&f.intervals, "interval", nil, "interval: every[/offset], e.g. 1h or 1h/15m (repeatable)")
	fs.DurationVar(&f.offset, "offset", 0, "offset for --interval values that give none")
	fs.StringArrayVar(&f.calendars, "calendar", nil, `calendar as JSON, e.g. '{"hour":[{"start":9}],"day_of_week":[{"start":1,"end":5}]}' (repeatable)`)
	fs.StringArrayVar(&f.at, "at", nil, "one-shot instant, RFC 3339 (repeatable)")
	fs.StringArrayVar(&f.skip, "skip", nil, "calendar (JSON) whose times are skipped (repeatable)")
	fs.StringVar(&f.tz, "tz", "", "IANA time zone of the spec (default UTC)")
	fs.DurationVar(&f.jitter, "jitter", 0, "delay each action by up to this much")
	fs.StringVar(&f.start, "start", "", "no fires before this instant")
	fs.StringVar(&f.end, "end", "", "no fires after this instant")

	fs.StringVar(&f.workflowType, "workflow-type", "", "workflow type to start (required to create)")
	fs.StringVar(&f.workflowID, "workflow-id", "", "base workflow id (default: the schedule id)")
	fs.StringVar(&f.taskQueue, "task-queue", "", "task queue of the workflow (required to create)")
	fs.StringVar(&f.input, "input", "", "workflow input as JSON")
	fs.DurationVar(&f.executionTimeout, "execution-timeout", 0, "bound on each run, retries included")
	fs.DurationVar(&f.runTimeout, "run-timeout", 0, "bound on each attempt")
	fs.DurationVar(&f.heartbeatTimeout, "heartbeat-timeout", 0, "redeliver an attempt silent for this long (default 30s)")
	fs.IntVar(&f.maxAttempts, "max-attempts", 0, "retry failed attempts up to this many attempts in all (0: no retry policy)")
	fs.StringArrayVar(&f.memo, "memo", nil, "memo key=<JSON value> attached to each run (repeatable; update: replaces the memo)")

	fs.StringVar(&f.overlap, "overlap", "", "overlap policy: SKIP (default), BUFFER_ONE, BUFFER_ALL, CANCEL_OTHER, TERMINATE_OTHER, ALLOW_ALL")
	fs.DurationVar(&f.catchupWindow, "catchup-window", 0, "catch up missed fires this far back (default 1 year, minimum 10s)")
	fs.BoolVar(&f.coalesce, "coalesce", false, "after downtime, run only the latest missed fire")
	fs.BoolVar(&f.pauseOnFailure, "pause-on-failure", false, "pause the schedule when a run fails or times out")

	fs.BoolVar(&f.paused, "paused", false, "create the schedule paused (update: set the paused state)")
	fs.StringVar(&f.note, "note", "", "note kept with the paused state")
	fs.Int64Var(&f.remainingActions, "remaining-actions", 0, "stop after this many scheduled actions (0: unlimited)")
	fs.StringArrayVar(&f.tags, "tag", nil, "tag key=value (repeatable; update: replaces all tags)")
}

// fileSchedule is what --file holds: a schedule.Schedule, or the JSON
// `schedule describe -o json` prints (the schedule under "schedule").
type fileSchedule struct {
	ScheduleID string             `json:"schedule_id"`
	Schedule   *schedule.Schedule `json:"schedule"`
}

// readFile reads --file. It returns the schedule and the id the file names,
// if any.
func (f *scheduleFlags) readFile(stdin io.Reader) (schedule.Schedule, string, error) {
	var (
		b   []byte
		err error
	)
	if f.file == "-" {
		b, err = io.ReadAll(stdin)
	} else {
		b, err = os.ReadFile(f.file)
	}
	if err != nil {
		return schedule.Schedule{}, "", usageErrorf("--file: %v", err)
	}
	var wrapped fileSchedule
	if err := json.Unmarshal(b, &wrapped); err == nil && wrapped.Schedule != nil {
		return *wrapped.Schedule, wrapped.ScheduleID, nil
	}
	var s schedule.Schedule
	if err := json.Unmarshal(b, &s); err != nil {
		return s, "", usageErrorf("--file %s: not a schedule: %v (use the proto's snake_case field names, as `sundial schedule describe -o json` prints)", f.file, err)
	}
	if unknown := unknownFields(b, s); len(unknown) > 0 {
		return s, "", usageErrorf("--file %s: unknown field(s) %s (use the proto's snake_case field names, as `sundial schedule describe -o json` prints)", f.file, strings.Join(unknown, ", "))
	}
	return s, "", nil
}

// unknownFields returns the paths of the fields in input that decoding into
// decoded dropped: keys with a non-empty value that encoding decoded again
// does not produce. (The schedule types decode with custom UnmarshalJSON
// methods, which json.Decoder.DisallowUnknownFields cannot see into.)
func unknownFields(input []byte, decoded any) []string {
	var in, out any
	again, err := json.Marshal(decoded)
	if err != nil || json.Unmarshal(input, &in) != nil || json.Unmarshal(again, &out) != nil {
		return nil
	}
	var found []string
	var walk func(path string, in, out any)
	walk = func(path string, in, out any) {
		switch iv := in.(type) {
		case map[string]any:
			ov, _ := out.(map[string]any)
			for k, v := range iv {
				p := k
				if path != "" {
					p = path + "." + k
				}
				o, ok := ov[k]
				if !ok && !emptyJSON(v) {
					found = append(found, p)
					continue
				}
				walk(p, v, o)
			}
		case []any:
			ov, _ := out.([]any)
			for i, v := range iv {
				if i < len(ov) {
					walk(fmt.Sprintf("%s[%d]", path, i), v, ov[i])
				}
			}
		}
	}
	walk("", in, out)
	slices.Sort(found)
	return found
}

// emptyJSON reports whether v is a JSON value that omitempty drops.
func emptyJSON(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case float64:
		return x == 0
	case bool:
		return !x
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

// apply writes every flag the user gave into s, leaving the rest of s as is.
func (f *scheduleFlags) apply(fs *pflag.FlagSet, s *schedule.Schedule, now time.Time) error {
	changed := fs.Changed
	sp := &s.Spec
	setIfChanged(fs, "tz", &sp.TimeZone, f.tz)
	loc := time.UTC
	if sp.TimeZone != "" {
		l, err := time.LoadLocation(sp.TimeZone)
		if err != nil {
			return usageErrorf("--tz %q: unknown time zone (use an IANA name such as Europe/Paris)", sp.TimeZone)
		}
		loc = l
	}
	setIfChanged(fs, "cron", &sp.CronExpressions, f.cron)
	if changed("interval") {
		ivs, err := parseIntervals(f.intervals, f.offset)
		if err != nil {
			return err
		}
		sp.Intervals = ivs
	} else if changed("offset") {
		return usageErrorf("--offset applies to --interval; give --interval too")
	}
	if changed("calendar") {
		cs, err := parseCalendars("calendar", f.calendars)
		if err != nil {
			return err
		}
		sp.Calendars = cs
	}
	if changed("skip") {
		cs, err := parseCalendars("skip", f.skip)
		if err != nil {
			return err
		}
		sp.Skip = cs
	}
	if changed("at") {
		sp.At = nil
		for _, a := range f.at {
			t, err := parseTimeFlag("at", a, loc, now)
			if err != nil {
				return err
			}
			sp.At = append(sp.At, t.UTC())
		}
	}
	setIfChanged(fs, "jitter", &sp.Jitter, f.jitter)
	for _, b := range []timeFlag{{"start", f.start, &sp.StartTime}, {"end", f.end, &sp.EndTime}} {
		if changed(b.name) {
			if err := parseTimeFlags(loc, now, b); err != nil {
				return err
			}
		}
	}

	a := &s.Action
	setIfChanged(fs, "workflow-type", &a.WorkflowType, f.workflowType)
	setIfChanged(fs, "workflow-id", &a.WorkflowID, f.workflowID)
	setIfChanged(fs, "task-queue", &a.TaskQueue, f.taskQueue)
	if changed("input") {
		a.Input = nil
		if f.input != "" {
			if !json.Valid([]byte(f.input)) {
				return usageErrorf("--input: not valid JSON (quote strings: --input '\"hello\"')")
			}
			a.Input = json.RawMessage(f.input)
		}
	}
	setIfChanged(fs, "execution-timeout", &a.ExecutionTimeout, f.executionTimeout)
	setIfChanged(fs, "run-timeout", &a.RunTimeout, f.runTimeout)
	setIfChanged(fs, "heartbeat-timeout", &a.HeartbeatTimeout, f.heartbeatTimeout)
	if changed("max-attempts") {
		a.RetryPolicy = nil
		if f.maxAttempts > 0 {
			a.RetryPolicy = &schedule.RetryPolicy{MaximumAttempts: f.maxAttempts}
		}
	}

	if changed("memo") {
		a.Memo = nil
		for _, kv := range f.memo {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" || !json.Valid([]byte(v)) {
				return usageErrorf("--memo %q: use key=<JSON value>, e.g. owner='\"data\"'", kv)
			}
			if a.Memo == nil {
				a.Memo = map[string]json.RawMessage{}
			}
			a.Memo[k] = json.RawMessage(v)
		}
	}
	if changed("overlap") {
		p, err := schedule.ParseOverlapPolicy(f.overlap)
		if err != nil {
			return &UsageError{Err: fmt.Errorf("--%w", err)}
		}
		s.Policy.Overlap = p
	}
	setIfChanged(fs, "catchup-window", &s.Policy.CatchupWindow, f.catchupWindow)
	setIfChanged(fs, "coalesce", &s.Policy.Coalesce, f.coalesce)
	setIfChanged(fs, "pause-on-failure", &s.Policy.PauseOnFailure, f.pauseOnFailure)
	setIfChanged(fs, "paused", &s.State.Paused, f.paused)
	setIfChanged(fs, "note", &s.State.Note, f.note)
	if changed("remaining-actions") {
		if f.remainingActions < 0 {
			return usageErrorf("--remaining-actions %d: use 0 (unlimited) or more", f.remainingActions)
		}
		s.State.LimitedActions = f.remainingActions > 0
		s.State.RemainingActions = f.remainingActions
	}
	if changed("tag") {
		tags, err := parseTags("tag", f.tags)
		if err != nil {
			return err
		}
		s.Tags = tags
	}
	return nil
}

// setIfChanged stores v in dst if the flag named name was given.
func setIfChanged[T any](fs *pflag.FlagSet, name string, dst *T, v T) {
	if fs.Changed(name) {
		*dst = v
	}
}

// anyDefinitionFlag reports whether any definition flag was given.
func anyDefinitionFlag(fs *pflag.FlagSet, except ...string) bool {
	found := false
	fs.Visit(func(fl *pflag.Flag) {
		for _, e := range except {
			if fl.Name == e {
				return
			}
		}
		found = true
	})
	return found
}

// parseIntervals reads "every" or "every/offset" values.
func parseIntervals(vals []string, defaultOffset time.Duration) ([]schedule.Interval, error) {
	out := make([]schedule.Interval, 0, len(vals))
	for _, v := range vals {
		every, off, hasOff := strings.Cut(v, "/")
		e, err := time.ParseDuration(every)
		if err != nil {
			return nil, usageErrorf("--interval %q: %q is not a duration (use 30s, 5m, 1h or 1h/15m)", v, every)
		}
		iv := schedule.Interval{Every: e, Offset: defaultOffset}
		if hasOff {
			o, err := time.ParseDuration(off)
			if err != nil {
				return nil, usageErrorf("--interval %q: offset %q is not a duration (use 1h/15m)", v, off)
			}
			iv.Offset = o
		}
		out = append(out, iv)
	}
	return out, nil
}

// parseCalendars reads calendars given as JSON objects.
func parseCalendars(name string, vals []string) ([]schedule.Calendar, error) {
	out := make([]schedule.Calendar, 0, len(vals))
	for _, v := range vals {
		var c schedule.Calendar
		dec := json.NewDecoder(strings.NewReader(v))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return nil, usageErrorf(`--%s %q: %v (use JSON such as '{"hour":[{"start":9}],"day_of_week":[{"start":1,"end":5}]}')`, name, v, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// specSummary is a one-line human summary of a spec.
func specSummary(sp schedule.Spec) string {
	var parts []string
	for _, c := range sp.CronExpressions {
		parts = append(parts, "cron '"+c+"'")
	}
	for _, iv := range sp.Intervals {
		p := "every " + formatDuration(iv.Every)
		if iv.Offset != 0 {
			p += " offset " + formatDuration(iv.Offset)
		}
		parts = append(parts, p)
	}
	for _, c := range sp.Calendars {
		p := "calendar"
		if c.Comment != "" {
			p += " (" + c.Comment + ")"
		}
		parts = append(parts, p)
	}
	for _, ci := range sp.CalendarIntervals {
		parts = append(parts, fmt.Sprintf("every %dy%dm%dw%dd at %s", ci.Years, ci.Months, ci.Weeks, ci.Days, orDefault(ci.TimeOfDay, "00:00")))
	}
	for _, t := range sp.At {
		parts = append(parts, "at "+formatTime(t))
	}
	if len(sp.Skip) > 0 {
		parts = append(parts, fmt.Sprintf("skipping %d calendar(s)", len(sp.Skip)))
	}
	if sp.TimeZone != "" {
		parts = append(parts, "in "+sp.TimeZone)
	}
	if sp.Jitter != 0 {
		parts = append(parts, "jitter "+formatDuration(sp.Jitter))
	}
	if !sp.StartTime.IsZero() {
		parts = append(parts, "from "+formatTime(sp.StartTime))
	}
	if !sp.EndTime.IsZero() {
		parts = append(parts, "until "+formatTime(sp.EndTime))
	}
	if len(parts) == 0 {
		return "(empty)"
	}
	return strings.Join(parts, "; ")
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
