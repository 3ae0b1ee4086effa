package schedule

import (
	"strconv"
	"strings"
	"time"
)

// parsedCron is one cron expression: either a matcher or an @every interval,
// with the zone its CRON_TZ= or TZ= prefix names, if any.
type parsedCron struct {
	m        *matcher
	every    *interval // @every
	zoneName string
}

// field describes one cron field.
type field struct {
	name     string
	min, max int
	names    []string // names[i] is the name of value min+i
}

var (
	monthNames = []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}
	dayNames   = []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"}

	fieldSecond = field{name: "second", min: 0, max: 59}
	fieldMinute = field{name: "minute", min: 0, max: 59}
	fieldHour   = field{name: "hour", min: 0, max: 23}
	fieldDOM    = field{name: "day-of-month", min: 1, max: 31}
	fieldMonth  = field{name: "month", min: 1, max: 12, names: monthNames}
	fieldDOW    = field{name: "day-of-week", min: 0, max: 7, names: dayNames}
	fieldYear   = field{name: "year", min: minYear, max: maxYear}
)

var macros = map[string]string{
	"@yearly":   "0 0 1 1 *",
	"@annually": "0 0 1 1 *",
	"@monthly":  "0 0 1 * *",
	"@weekly":   "0 0 * * 0",
	"@daily":    "0 0 * * *",
	"@midnight": "0 0 * * *",
	"@hourly":   "0 * * * *",
}

// parseCron parses one cron expression. Errors are *Error whose Path is the
// field name ("day-of-week"), or empty for the whole expression.
func parseCron(expr string) (*parsedCron, *Error) {
	p := &parsedCron{}
	s := strings.TrimSpace(expr)
	for _, prefix := range []string{"CRON_TZ=", "TZ="} {
		if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
			rest := s[len(prefix):]
			i := strings.IndexAny(rest, " \t")
			if i <= 0 {
				return nil, &Error{Reason: "missing expression after " + prefix + " (write " + prefix + "Europe/London 0 9 * * *)"}
			}
			p.zoneName = rest[:i]
			s = strings.TrimSpace(rest[i:])
			break
		}
	}
	if s == "" {
		return nil, &Error{Reason: "empty cron expression"}
	}
	if s[0] == '@' {
		lower := strings.ToLower(s)
		if strings.HasPrefix(lower, "@every") {
			arg := strings.TrimSpace(s[len("@every"):])
			if arg == "" || len(s) > len("@every") && s[len("@every")] != ' ' && s[len("@every")] != '\t' {
				return nil, &Error{Reason: "@every needs a duration (write @every 1h30m)"}
			}
			d, err := time.ParseDuration(arg)
			if err != nil {
				return nil, &Error{Reason: "@every: invalid duration " + quote(arg) + " (write @every 1h30m)"}
			}
			iv, verr := compileInterval(Interval{Every: d})
			if verr != nil {
				return nil, &Error{Reason: "@every: " + verr.Reason}
			}
			p.every = &iv
			return p, nil
		}
		m, ok := macros[lower]
		if !ok {
			return nil, &Error{Reason: "unknown macro " + quote(s) + " (use @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every <duration>)"}
		}
		s = m
	}
	fs := strings.Fields(s)
	m := &matcher{}
	var err *Error
	switch len(fs) {
	case 5:
		m.seconds = 1
		m.or = true
		err = parseFields(m, fs[0], fs[1], fs[2], fs[3], fs[4], "")
	case 6:
		err = parseSeconds(m, fs[0])
		if err == nil {
			err = parseFields(m, fs[1], fs[2], fs[3], fs[4], fs[5], "")
		}
	case 7:
		err = parseSeconds(m, fs[0])
		if err == nil {
			err = parseFields(m, fs[1], fs[2], fs[3], fs[4], fs[5], fs[6])
		}
	default:
		return nil, &Error{Reason: "expected 5 fields (min hour dom month dow), 6 (sec ...) or 7 (sec ... year), got " + itoa(len(fs))}
	}
	if err != nil {
		return nil, err
	}
	m.finish()
	p.m = m
	return p, nil
}

func parseSeconds(m *matcher, s string) *Error {
	v, _, err := parseSimple(s, fieldSecond)
	m.seconds = v
	return err
}

func parseFields(m *matcher, min, hour, dom, month, dow, year string) *Error {
	var err *Error
	if m.minutes, _, err = parseSimple(min, fieldMinute); err != nil {
		return err
	}
	var h uint64
	if h, _, err = parseSimple(hour, fieldHour); err != nil {
		return err
	}
	m.hours = uint32(h)
	if err = parseDOM(m, dom); err != nil {
		return err
	}
	var mo uint64
	if mo, _, err = parseSimple(month, fieldMonth); err != nil {
		return err
	}
	m.months = uint16(mo)
	if err = parseDOW(m, dow); err != nil {
		return err
	}
	if year == "" {
		m.allYears = true
		return nil
	}
	return parseYear(m, year)
}

func fieldErr(f field, format string) *Error { return &Error{Path: f.name, Reason: format} }

// parseSimple parses a comma list of *, ?, a, a-b, a/n, a-b/n and */n into
// a bitset. star reports whether an item is * or ? without a step.
func parseSimple(s string, f field) (set uint64, star bool, err *Error) {
	if s == "" {
		return 0, false, fieldErr(f, "empty field")
	}
	for _, item := range strings.Split(s, ",") {
		lo, hi, step, st, e := parseItem(item, f)
		if e != nil {
			return 0, false, e
		}
		star = star || st
		for v := lo; v <= hi; v += step {
			set |= 1 << v
		}
	}
	return set, star, nil
}

// parseItem parses one list item of a numeric field.
func parseItem(item string, f field) (lo, hi, step int, star bool, err *Error) {
	if item == "" {
		return 0, 0, 0, false, fieldErr(f, "empty list item")
	}
	rng, stepStr, hasStep := strings.Cut(item, "/")
	step = 1
	if hasStep {
		n, e := strconv.Atoi(stepStr)
		if e != nil || n < 1 {
			return 0, 0, 0, false, fieldErr(f, "step "+quote(stepStr)+" must be a positive number")
		}
		if n > f.max {
			return 0, 0, 0, false, fieldErr(f, "step "+stepStr+" is out of range 1-"+itoa(f.max))
		}
		step = n
	}
	top := f.max
	if f.name == fieldDOW.name {
		top = 6 // 7 is only another name for Sunday
	}
	if rng == "*" || rng == "?" {
		if rng == "?" && f.name != fieldDOM.name && f.name != fieldDOW.name {
			return 0, 0, 0, false, fieldErr(f, "? is only allowed in day-of-month and day-of-week (use *)")
		}
		// As robfig/cron (and so Kubernetes): */n with n > 1 restricts the
		// field, for crontab's day-of-month/day-of-week OR rule.
		return f.min, top, step, step == 1, nil
	}
	a, b, isRange := strings.Cut(rng, "-")
	lo, err = parseValue(a, f)
	if err != nil {
		return 0, 0, 0, false, err
	}
	hi = lo
	if isRange {
		if hi, err = parseValue(b, f); err != nil {
			return 0, 0, 0, false, err
		}
		if hi < lo {
			return 0, 0, 0, false, fieldErr(f, "range "+rng+" runs backwards (write "+b+"-"+a+" or a list)")
		}
	} else if hasStep {
		hi = max(top, lo)
	}
	return lo, hi, step, false, nil
}

// parseValue parses a number or a name within the field's range.
func parseValue(s string, f field) (int, *Error) {
	for i, n := range f.names {
		if strings.EqualFold(s, n) {
			return f.min + i, nil
		}
	}
	if s == "" {
		return 0, fieldErr(f, "missing value")
	}
	n, e := strconv.Atoi(s)
	if e != nil {
		if len(s) > 20 {
			s = s[:20] + "…"
		}
		return 0, fieldErr(f, quote(s)+" is not a number"+nameHint(f))
	}
	if n < f.min || n > f.max {
		return 0, fieldErr(f, s+" is out of range "+itoa(f.min)+"-"+itoa(f.max))
	}
	return n, nil
}

func nameHint(f field) string {
	switch f.name {
	case fieldMonth.name:
		return " or a month name (JAN-DEC)"
	case fieldDOW.name:
		return " or a day name (SUN-SAT)"
	}
	return ""
}

func parseDOM(m *matcher, s string) *Error {
	f := fieldDOM
	if s == "" {
		return fieldErr(f, "empty field")
	}
	items := strings.Split(s, ",")
	for _, item := range items {
		up := strings.ToUpper(item)
		switch {
		case up == "*" || up == "?":
			m.domAll, m.domStar = true, true
		case strings.HasPrefix(up, "*/") || strings.HasPrefix(up, "?/"):
			set, star, err := parseSimple(item, f)
			if err != nil {
				return err
			}
			m.domDays |= uint32(set)
			m.domStar = m.domStar || star
		case up == "L":
			m.domLast = true
		case up == "LW":
			m.domLastWkd = true
		case strings.HasPrefix(up, "L-"):
			n, e := strconv.Atoi(up[2:])
			if e != nil || n < 0 || n > 30 {
				return fieldErr(f, quote(item)+": L-n needs n in 0-30")
			}
			m.domLastOff = append(m.domLastOff, int8(n))
		case strings.HasSuffix(up, "W"):
			n, e := strconv.Atoi(up[:len(up)-1])
			if e != nil || n < 1 || n > 31 {
				return fieldErr(f, quote(item)+": nW needs a day 1-31 (write 15W)")
			}
			m.domNearest = append(m.domNearest, int8(n))
		default:
			set, _, err := parseSimple(item, f)
			if err != nil {
				return err
			}
			m.domDays |= uint32(set)
		}
	}
	if m.domAll && len(items) > 1 {
		// "*,5" is every day.
		m.domDays, m.domLast, m.domLastWkd, m.domLastOff, m.domNearest = 0, false, false, nil, nil
	}
	return nil
}

func parseDOW(m *matcher, s string) *Error {
	f := fieldDOW
	if s == "" {
		return fieldErr(f, "empty field")
	}
	items := strings.Split(s, ",")
	for _, item := range items {
		up := strings.ToUpper(item)
		switch {
		case up == "*" || up == "?":
			m.dowAll, m.dowStar = true, true
		case strings.HasPrefix(up, "*/") || strings.HasPrefix(up, "?/"):
			star, err := addDOW(m, item)
			if err != nil {
				return err
			}
			m.dowStar = m.dowStar || star
		case up == "L":
			// Quartz: L alone in day-of-week is the last day of the week.
			m.dowDays |= 1 << 6
		case len(up) > 1 && strings.HasSuffix(up, "L"):
			w, err := parseValue(up[:len(up)-1], f)
			if err != nil {
				return err
			}
			m.dowLast |= 1 << (w % 7)
		case strings.Contains(up, "#"):
			a, b, _ := strings.Cut(up, "#")
			w, err := parseValue(a, f)
			if err != nil {
				return err
			}
			k, e := strconv.Atoi(b)
			if e != nil || k < 1 || k > 5 {
				return fieldErr(f, quote(item)+": n#k needs k in 1-5 (write FRI#3)")
			}
			m.dowNth = append(m.dowNth, nthWeekday{weekday: int8(w % 7), k: int8(k)})
		default:
			if _, err := addDOW(m, item); err != nil {
				return err
			}
		}
	}
	if m.dowAll && len(items) > 1 {
		m.dowDays, m.dowLast, m.dowNth = 0, 0, nil
	}
	return nil
}

func addDOW(m *matcher, item string) (star bool, err *Error) {
	set, star, err := parseSimple(item, fieldDOW)
	if err != nil {
		return false, err
	}
	if set&(1<<7) != 0 {
		set |= 1
	}
	m.dowDays |= uint8(set & 0x7f)
	return star, nil
}

func parseYear(m *matcher, s string) *Error {
	f := fieldYear
	for _, item := range strings.Split(s, ",") {
		lo, hi, step, _, err := parseItem(item, f)
		if err != nil {
			return err
		}
		if lo == f.min && hi == f.max && step == 1 {
			m.allYears = true
			m.years = [4]uint64{}
			return nil
		}
		for v := lo; v <= hi; v += step {
			i := v - minYear
			m.years[i/64] |= 1 << (i % 64)
		}
	}
	return nil
}
