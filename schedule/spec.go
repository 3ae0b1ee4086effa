package schedule

import (
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // zones must resolve the same on every host, containers included
)

// CompiledSpec is a validated Spec, ready to answer "when next?" quickly.
// It is immutable and safe for concurrent use.
type CompiledSpec struct {
	spec      Spec
	loc       *time.Location
	zone      zone
	crons     []*matcher
	intervals []interval
	calInts   []calInterval
	at        []int64 // sorted, unique, in seconds
	skip      []*matcher
	hasStart  bool
	start     int64
	hasEnd    bool
	end       int64
	jitter    time.Duration
}

// maxSkipped bounds how many candidate times in a row the skip calendars may
// remove before Next gives up and reports no next time.
const maxSkipped = 100000

// errLocalZone refuses the server's own zone: a spec must mean the same on
// every host.
var errLocalZone = errors.New("the Local zone depends on the server")

var (
	zoneMu    sync.Mutex
	zoneCache = map[string]*time.Location{}
)

// loadZone loads and caches an IANA zone. "Local" is refused: a spec must
// mean the same on every server.
func loadZone(name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	if strings.EqualFold(name, "Local") {
		return nil, errLocalZone
	}
	zoneMu.Lock()
	defer zoneMu.Unlock()
	if l, ok := zoneCache[name]; ok {
		return l, nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	zoneCache[name] = l
	return l, nil
}

func zoneErr(path, name string) *Error {
	if strings.EqualFold(name, "Local") {
		return &Error{Path: path, Reason: "\"Local\" is not allowed: it depends on the server (use an IANA name such as \"America/New_York\")"}
	}
	return &Error{Path: path, Reason: "unknown time zone " + quote(name) + " (use an IANA name such as \"America/New_York\")"}
}

// Compile validates s and compiles it. Every error is an *Error naming the
// field path ("cron_expressions[1]: day-of-week") and the reason.
//
// Where semantics.md leaves a choice open, Compile decides:
//   - A CRON_TZ= or TZ= prefix sets the zone of the whole spec: it must equal
//     TimeZone when that is set, and every prefixed expression must name the
//     same zone. "Local" is refused: a spec must mean the same on every host.
//   - 5-field crontab: day-of-month and day-of-week are ORed when both are
//     restricted; a field is unrestricted when an item is * or ? without a
//     step (so */2 restricts, as in robfig/cron and Kubernetes).
//   - Extensions (L, L-n, W, LW, nL, n#k) and ? are accepted in all dialects;
//     L alone in day-of-week is Saturday (Quartz); nW never leaves the month,
//     and a day the month lacks (31W in April) does not fire; n#k takes k in 1-5.
//   - The year field accepts 1970-2199, as do calendars' year ranges.
//   - Intervals, @every and jitter are whole seconds or finer; Every and
//     Offset must be whole seconds.
//   - A fire whose local time falls in a DST gap is shifted forward by the
//     gap (02:30 → 03:30 EDT), even where Go's time.Date picks the instant
//     before the gap; see dst.go. Skip calendars match the local time of the
//     instant that fires.
//   - A calendar interval's StartDate defaults to the date of StartTime in
//     the spec's zone, else 1970-01-01.
//   - A spec with no parts, whose parts can never fire (30 February), or
//     whose StartTime, EndTime and Skip leave no nominal time, is an error; a
//     spec of At times that are all past is not (Next just reports none).
func Compile(s Spec) (*CompiledSpec, error) {
	c, err := compile(s)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func compile(s Spec) (*CompiledSpec, *Error) {
	c := &CompiledSpec{spec: cloneSpec(s), jitter: s.Jitter}
	zoneName := strings.TrimSpace(s.TimeZone)
	var parsed []*parsedCron
	prefixFrom := -1
	for i, expr := range s.CronExpressions {
		path := fmt.Sprintf("cron_expressions[%d]", i)
		p, err := parseCron(expr)
		if err != nil {
			if err.Path == "" {
				return nil, &Error{Path: path, Reason: err.Reason}
			}
			return nil, &Error{Path: path + ": " + err.Path, Reason: err.Reason}
		}
		if p.zoneName != "" {
			switch {
			case zoneName == "":
				if _, zerr := loadZone(p.zoneName); zerr != nil {
					return nil, zoneErr(path, p.zoneName)
				}
				zoneName, prefixFrom = p.zoneName, i
			case p.zoneName != zoneName && prefixFrom >= 0:
				return nil, &Error{Path: path, Reason: "zone " + p.zoneName + " conflicts with " + zoneName + " in cron_expressions[" + itoa(prefixFrom) + "] (a spec has one time zone)"}
			case p.zoneName != zoneName:
				return nil, &Error{Path: path, Reason: "zone " + p.zoneName + " conflicts with time_zone " + zoneName + " (a spec has one time zone)"}
			}
		}
		c.spec.CronExpressions[i] = strings.TrimSpace(expr)
		parsed = append(parsed, p)
	}
	loc, zerr := loadZone(zoneName)
	if zerr != nil {
		return nil, zoneErr("time_zone", zoneName)
	}
	c.loc, c.zone = loc, newZone(loc)
	if prefixFrom >= 0 {
		c.spec.TimeZone = zoneName
	}
	for i, p := range parsed {
		if p.every != nil {
			c.intervals = append(c.intervals, *p.every)
			continue
		}
		if _, ok := p.m.nextWall(wallOf(minYear, 1, 1, 0, 0, 0)); !ok {
			return nil, &Error{Path: fmt.Sprintf("cron_expressions[%d]", i), Reason: "can never fire (no date matches: check day-of-month against month, e.g. 30 February)"}
		}
		c.crons = append(c.crons, p.m)
	}
	for i, iv := range s.Intervals {
		v, err := compileInterval(iv)
		if err != nil {
			return nil, err.WithPrefix(fmt.Sprintf("intervals[%d]", i))
		}
		c.intervals = append(c.intervals, v)
	}
	for i, cal := range s.Calendars {
		m, err := compileCalendar(cal)
		if err != nil {
			return nil, err.WithPrefix(fmt.Sprintf("calendars[%d]", i))
		}
		if _, ok := m.nextWall(wallOf(minYear, 1, 1, 0, 0, 0)); !ok {
			return nil, &Error{Path: fmt.Sprintf("calendars[%d]", i), Reason: "can never fire (no date matches: check day_of_month against month, e.g. 30 February)"}
		}
		c.crons = append(c.crons, m)
	}
	for i, cal := range s.Skip {
		m, err := compileCalendar(cal)
		if err != nil {
			return nil, err.WithPrefix(fmt.Sprintf("skip[%d]", i))
		}
		c.skip = append(c.skip, m)
	}
	if !s.StartTime.IsZero() {
		c.hasStart, c.start = true, ceilSecond(s.StartTime)
	}
	if !s.EndTime.IsZero() {
		c.hasEnd, c.end = true, s.EndTime.Unix()
		if c.hasStart && c.end < c.start {
			return nil, &Error{Path: "end_time", Reason: "is before start_time"}
		}
	}
	defaultStart := [3]int64{1970, 1, 1}
	if c.hasStart {
		y, m, d := s.StartTime.In(loc).Date()
		defaultStart = [3]int64{int64(y), int64(m), int64(d)}
	}
	for i, ci := range s.CalendarIntervals {
		v, err := compileCalendarInterval(ci, defaultStart)
		if err != nil {
			return nil, err.WithPrefix(fmt.Sprintf("calendar_intervals[%d]", i))
		}
		if _, ok := v.nextWall(wallOf(v.y0, v.m0, v.d0, 0, 0, 0)); !ok {
			return nil, &Error{Path: fmt.Sprintf("calendar_intervals[%d]", i), Reason: "can never fire (its dates do not exist)"}
		}
		c.calInts = append(c.calInts, v)
	}
	for _, t := range s.At {
		c.at = append(c.at, t.Unix())
	}
	slices.Sort(c.at)
	c.at = slices.Compact(c.at)
	if s.Jitter < 0 {
		return nil, &Error{Path: "jitter", Reason: "must not be negative, got " + s.Jitter.String()}
	}
	if len(c.crons)+len(c.intervals)+len(c.calInts)+len(c.at) == 0 {
		return nil, &Error{Reason: "spec never fires: set cron_expressions, intervals, calendars, calendar_intervals or at"}
	}
	from := time.Unix(-1, 0)
	if len(c.at) > 0 && c.at[0] <= 0 {
		from = time.Unix(c.at[0]-1, 0)
	}
	if c.hasStart {
		from = time.Unix(c.start-1, 0)
	}
	// A spec of At times alone may lie in the past; it is valid unless
	// start_time, end_time or skip leave it nothing.
	if len(c.at) == 0 || c.hasStart || c.hasEnd || len(c.skip) > 0 {
		if _, ok := c.Next(from); !ok {
			path := "skip"
			if c.hasEnd {
				path = "end_time"
			}
			return nil, &Error{Path: path, Reason: "spec never fires: no nominal time is left between start_time and end_time once skip is applied"}
		}
	}
	return c, nil
}

func ceilSecond(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() != 0 {
		s++
	}
	return s
}

func cloneSpec(s Spec) Spec {
	s.CronExpressions = slices.Clone(s.CronExpressions)
	s.Intervals = slices.Clone(s.Intervals)
	s.Calendars = slices.Clone(s.Calendars)
	s.CalendarIntervals = slices.Clone(s.CalendarIntervals)
	s.Skip = slices.Clone(s.Skip)
	at := make([]time.Time, 0, len(s.At))
	for _, t := range s.At {
		at = append(at, t.UTC().Truncate(time.Second))
	}
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	at = slices.CompactFunc(at, time.Time.Equal)
	if len(at) == 0 {
		at = nil
	}
	s.At = at
	return s
}

// Location returns the zone the spec is evaluated in.
func (c *CompiledSpec) Location() *time.Location { return c.loc }

// Spec returns a normalised copy of the compiled spec: expressions trimmed,
// At sorted, deduplicated and truncated to seconds in UTC, and TimeZone set
// from a CRON_TZ= prefix.
func (c *CompiledSpec) Spec() Spec { return cloneSpec(c.spec) }

// Next returns the first nominal time strictly after after, in UTC, and
// false when there is none (EndTime has passed, or only past At times
// remain).
func (c *CompiledSpec) Next(after time.Time) (time.Time, bool) {
	t := after.Unix() + 1 // nominal times are whole seconds
	if c.hasStart && t < c.start {
		t = c.start
	}
	for range maxSkipped {
		n, ok := c.nextUnskipped(t)
		if !ok || (c.hasEnd && n > c.end) {
			return time.Time{}, false
		}
		skip := c.skipUnit(n)
		if skip == 0 {
			return time.Unix(n, 0).UTC(), true
		}
		t = n + skip
	}
	return time.Time{}, false
}

// nextUnskipped returns the first fire ≥ t of any part, before skip.
func (c *CompiledSpec) nextUnskipped(t int64) (int64, bool) {
	best, found := int64(0), false
	take := func(n int64) {
		if !found || n < best {
			best, found = n, true
		}
	}
	for _, m := range c.crons {
		if n, ok := c.zone.next(m, t, m.everyHour); ok {
			take(n)
		}
	}
	for _, iv := range c.intervals {
		take(iv.next(t))
	}
	for i := range c.calInts {
		if n, ok := c.zone.next(&c.calInts[i], t, false); ok {
			take(n)
		}
	}
	if i, _ := slices.BinarySearch(c.at, t); i < len(c.at) {
		take(c.at[i])
	}
	return best, found
}

// skipUnit returns 0 when no skip calendar matches instant n's wall time.
// Otherwise it returns how far Next may jump: to the end of the second,
// minute, hour or day that the matching calendar removes entirely (a
// calendar with every second, minute and hour set removes whole days), but
// never past a change of UTC offset.
func (c *CompiledSpec) skipUnit(n int64) int64 {
	if len(c.skip) == 0 {
		return 0
	}
	w, segEnd, bounded := c.zone.wallAt(n)
	best := int64(0)
	for _, m := range c.skip {
		if !m.matchWall(w) {
			continue
		}
		unit := int64(1)
		switch {
		case m.seconds == 1<<60-1 && m.minutes == 1<<60-1 && m.hours == 1<<24-1:
			unit = secondsPerDay
		case m.seconds == 1<<60-1 && m.minutes == 1<<60-1:
			unit = 3600
		case m.seconds == 1<<60-1:
			unit = 60
		}
		if jump := unit - (w - floorDiv(w, unit)*unit); jump > best {
			best = jump
		}
	}
	if bounded && best > 1 && n+best > segEnd {
		best = max(segEnd-n, 1)
	}
	return best
}

// Between yields the nominal times in [from, to], ascending, for backfill.
func (c *CompiledSpec) Between(from, to time.Time) iter.Seq[time.Time] {
	return func(yield func(time.Time) bool) {
		t, ok := c.Next(from.Add(-time.Nanosecond))
		for ok && !t.After(to) {
			if !yield(t) {
				return
			}
			t, ok = c.Next(t)
		}
	}
}

// Summary returns a short human description of s for list tables: "cron 0 9
// * * MON-FRI (America/New_York)", "every 1h+15m", "3 parts".
func Summary(s Spec) string {
	n := len(s.CronExpressions) + len(s.Intervals) + len(s.Calendars) + len(s.CalendarIntervals) + len(s.At)
	zone := ""
	if s.TimeZone != "" && s.TimeZone != "UTC" {
		zone = " (" + s.TimeZone + ")"
	}
	switch {
	case n == 0:
		return "never"
	case n > 1:
		return itoa(n) + " parts"
	case len(s.CronExpressions) == 1:
		return "cron " + strings.TrimSpace(s.CronExpressions[0]) + zone
	case len(s.Intervals) == 1:
		iv := s.Intervals[0]
		if iv.Offset != 0 {
			return "every " + FormatDuration(iv.Every) + "+" + FormatDuration(iv.Offset)
		}
		return "every " + FormatDuration(iv.Every)
	case len(s.Calendars) == 1:
		if s.Calendars[0].Comment != "" {
			return "calendar " + s.Calendars[0].Comment + zone
		}
		return "calendar" + zone
	case len(s.CalendarIntervals) == 1:
		ci := s.CalendarIntervals[0]
		var parts []string
		for _, p := range []struct {
			n    int
			unit string
		}{{ci.Years, "year"}, {ci.Months, "month"}, {ci.Weeks, "week"}, {ci.Days, "day"}} {
			switch {
			case p.n == 1:
				parts = append(parts, "1 "+p.unit)
			case p.n > 1:
				parts = append(parts, itoa(p.n)+" "+p.unit+"s")
			}
		}
		tod := ci.TimeOfDay
		if tod == "" {
			tod = "00:00"
		}
		return "every " + strings.Join(parts, " ") + " at " + tod + zone
	default:
		return "once at " + s.At[0].UTC().Format(time.RFC3339)
	}
}

// FormatDuration prints d without trailing zero units: "1h", not "1h0m0s";
// "1h30m", not "1h30m0s". Summary uses it, and so do the CLI's tables.
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
