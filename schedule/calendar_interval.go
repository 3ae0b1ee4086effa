package schedule

import (
	"strconv"
	"strings"
)

// calInterval is a compiled CalendarInterval: occurrence k (k ≥ 0) is the
// start date plus k·(years, months), skipped when that day does not exist in
// the month, plus k·(7·weeks + days) days, at the time of day.
type calInterval struct {
	y0, m0, d0    int64 // start date
	years, months int64
	days          int64 // 7·weeks + days
	tod           int64 // seconds after midnight
	approx        int64 // approximate period in seconds, for estimating k
}

// maxSkippedOccurrences bounds how many non-existent dates in a row are
// skipped before a calendar interval is considered exhausted.
const maxSkippedOccurrences = 4000

// compileCalendarInterval validates ci; defaultStart is used when StartDate is
// empty. Error paths are relative to the calendar interval.
func compileCalendarInterval(ci CalendarInterval, defaultStart [3]int64) (calInterval, *Error) {
	c := calInterval{years: int64(ci.Years), months: int64(ci.Months), days: 7*int64(ci.Weeks) + int64(ci.Days)}
	for _, f := range []struct {
		name string
		v    int
	}{{"years", ci.Years}, {"months", ci.Months}, {"weeks", ci.Weeks}, {"days", ci.Days}} {
		if f.v < 0 || f.v > 100000 {
			return c, &Error{Path: f.name, Reason: "must be between 0 and 100000, got " + itoa(f.v)}
		}
	}
	if c.years == 0 && c.months == 0 && c.days == 0 {
		return c, &Error{Path: "", Reason: "set at least one of years, months, weeks or days"}
	}
	if ci.TimeOfDay != "" {
		tod, ok := parseTimeOfDay(ci.TimeOfDay)
		if !ok {
			return c, &Error{Path: "time_of_day", Reason: "invalid time of day " + quote(ci.TimeOfDay) + " (write HH:MM or HH:MM:SS, 00:00-23:59:59)"}
		}
		c.tod = tod
	}
	if ci.StartDate == "" {
		c.y0, c.m0, c.d0 = defaultStart[0], defaultStart[1], defaultStart[2]
	} else {
		y, m, d, ok := parseDate(ci.StartDate)
		if !ok {
			return c, &Error{Path: "start_date", Reason: "invalid date " + quote(ci.StartDate) + " (write YYYY-MM-DD)"}
		}
		c.y0, c.m0, c.d0 = y, m, d
	}
	// Mean Gregorian year and month: 365.2425 and 30.436875 days.
	c.approx = c.years*31556952 + c.months*2629746 + c.days*secondsPerDay
	return c, nil
}

func parseTimeOfDay(s string) (int64, bool) {
	parts := strings.Split(s, ":")
	if len(parts) != 2 && len(parts) != 3 {
		return 0, false
	}
	limits := []int64{23, 59, 59}
	var v [3]int64
	for i, p := range parts {
		if len(p) != 2 {
			return 0, false
		}
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil || n < 0 || n > limits[i] {
			return 0, false
		}
		v[i] = n
	}
	return v[0]*3600 + v[1]*60 + v[2], true
}

func parseDate(s string) (y, m, d int64, ok bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, 0, 0, false
	}
	var err error
	if y, err = strconv.ParseInt(s[:4], 10, 64); err != nil || y < 1 {
		return 0, 0, 0, false
	}
	if m, err = strconv.ParseInt(s[5:7], 10, 64); err != nil || m < 1 || m > 12 {
		return 0, 0, 0, false
	}
	if d, err = strconv.ParseInt(s[8:], 10, 64); err != nil || d < 1 || d > daysIn(y, m) {
		return 0, 0, 0, false
	}
	return y, m, d, true
}

// occurrence returns the wall time of occurrence k, or false when its date
// does not exist.
func (c *calInterval) occurrence(k int64) (int64, bool) {
	ym := (c.y0+k*c.years)*12 + c.m0 - 1 + k*c.months
	y, m := floorDiv(ym, 12), ym-floorDiv(ym, 12)*12+1
	if c.d0 > daysIn(y, m) {
		return 0, false
	}
	return (daysFromCivil(y, m, c.d0)+k*c.days)*secondsPerDay + c.tod, true
}

// nextWall returns the first occurrence whose wall time is ≥ w.
func (c *calInterval) nextWall(w int64) (int64, bool) {
	w0 := daysFromCivil(c.y0, c.m0, c.d0)*secondsPerDay + c.tod
	k := int64(0)
	if w > w0 {
		// The estimate is off by at most a few days; step back a margin.
		k = (w-w0)/c.approx - 1 - 8*secondsPerDay/c.approx
		if k < 0 {
			k = 0
		}
	}
	maxWall := daysFromCivil(10000, 1, 1) * secondsPerDay
	for skipped := 0; skipped <= maxSkippedOccurrences; k++ {
		o, ok := c.occurrence(k)
		if !ok {
			skipped++
			continue
		}
		if o > maxWall {
			return 0, false
		}
		if o >= w {
			return o, true
		}
	}
	return 0, false
}
