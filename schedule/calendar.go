package schedule

import "fmt"

// compileCalendar turns a structured calendar into a matcher. Empty Second,
// Minute and Hour mean 0; empty DayOfMonth, Month, Year and DayOfWeek mean
// every value; when both DayOfMonth and DayOfWeek are set, both must match
// (as in Temporal and Spring). Errors have paths relative to the calendar
// ("hour[1]").
func compileCalendar(c Calendar) (*matcher, *Error) {
	m := &matcher{}
	var err *Error
	if m.seconds, err = rangeSet(c.Second, fieldSecond, "second", true); err != nil {
		return nil, err
	}
	if m.minutes, err = rangeSet(c.Minute, fieldMinute, "minute", true); err != nil {
		return nil, err
	}
	h, err := rangeSet(c.Hour, fieldHour, "hour", true)
	if err != nil {
		return nil, err
	}
	m.hours = uint32(h)
	dom, err := rangeSet(c.DayOfMonth, fieldDOM, "day_of_month", false)
	if err != nil {
		return nil, err
	}
	m.domDays, m.domAll, m.domStar = uint32(dom), len(c.DayOfMonth) == 0, len(c.DayOfMonth) == 0
	mo, err := rangeSet(c.Month, fieldMonth, "month", false)
	if err != nil {
		return nil, err
	}
	m.months = uint16(mo)
	dow, err := rangeSet(c.DayOfWeek, fieldDOW, "day_of_week", false)
	if err != nil {
		return nil, err
	}
	if dow&(1<<7) != 0 {
		dow |= 1
	}
	m.dowDays, m.dowAll, m.dowStar = uint8(dow&0x7f), len(c.DayOfWeek) == 0, len(c.DayOfWeek) == 0
	if len(c.Year) == 0 {
		m.allYears = true
	} else {
		for i, r := range c.Year {
			lo, hi, step, err := checkRange(r, fieldYear, fmt.Sprintf("year[%d]", i))
			if err != nil {
				return nil, err
			}
			for v := lo; v <= hi; v += step {
				k := v - minYear
				m.years[k/64] |= 1 << (k % 64)
			}
		}
	}
	m.finish()
	return m, nil
}

// rangeSet returns the bitset of ranges; an empty list means {0} when zero
// is set, else every value of the field.
func rangeSet(rs []Range, f field, name string, zero bool) (uint64, *Error) {
	if len(rs) == 0 {
		if zero {
			return 1, nil
		}
		var set uint64
		for v := f.min; v <= f.max; v++ {
			set |= 1 << v
		}
		return set, nil
	}
	var set uint64
	for i, r := range rs {
		lo, hi, step, err := checkRange(r, f, fmt.Sprintf("%s[%d]", name, i))
		if err != nil {
			return 0, err
		}
		for v := lo; v <= hi; v += step {
			set |= 1 << v
		}
	}
	return set, nil
}

// checkRange validates one Range: End 0 means Start, Step 0 means 1.
func checkRange(r Range, f field, path string) (lo, hi, step int, err *Error) {
	lo, hi, step = r.Start, r.End, r.Step
	if hi == 0 {
		hi = lo
	}
	if step == 0 {
		step = 1
	}
	switch {
	case lo < f.min || lo > f.max:
		return 0, 0, 0, &Error{Path: path, Reason: "start " + itoa(lo) + " is out of range " + itoa(f.min) + "-" + itoa(f.max)}
	case hi < f.min || hi > f.max:
		return 0, 0, 0, &Error{Path: path, Reason: "end " + itoa(hi) + " is out of range " + itoa(f.min) + "-" + itoa(f.max)}
	case hi < lo:
		return 0, 0, 0, &Error{Path: path, Reason: "end " + itoa(hi) + " is before start " + itoa(lo)}
	case step < 0:
		return 0, 0, 0, &Error{Path: path, Reason: "step " + itoa(step) + " must be positive"}
	}
	return lo, hi, step, nil
}
