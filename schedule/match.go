package schedule

import "math/bits"

// Years a cron year field or a calendar's year ranges may name.
const (
	minYear = 1970
	maxYear = 2199
)

// searchYears bounds a search for the next matching wall time. The Gregorian
// calendar, weekdays included, repeats every 400 years, so an expression
// without a year restriction that matches at all matches within any 400
// years.
const searchYears = 401

// matcher is a compiled cron expression or calendar: a set of wall times
// described field by field with bitsets, so the next match is found by
// skipping whole years, months, days, hours and minutes at once.
type matcher struct {
	seconds uint64 // bit s: second s matches
	minutes uint64 // bit m
	hours   uint32 // bit h
	months  uint16 // bit m, 1-12

	allYears bool
	years    [4]uint64 // bit y-minYear, when !allYears

	// Day-of-month part.
	domAll     bool   // no day-of-month restriction (* or ?)
	domStar    bool   // the field was written with * or ? (crontab's OR rule)
	domDays    uint32 // bit d: day d matches (1-31)
	domLast    bool   // L: the last day of the month
	domLastOff []int8 // L-n: n days before the last day
	domNearest []int8 // nW: the weekday nearest day n, within the month
	domLastWkd bool   // LW: the last weekday (Mon-Fri) of the month

	// Day-of-week part.
	dowAll     bool      // no day-of-week restriction
	dowStar    bool      // the field was written with * or ?
	dowDays    uint8     // bit w: weekday w matches (0 = Sunday)
	dowByFirst [7]uint32 // day mask of dowDays for a month whose 1st is weekday i
	dowLast    uint8     // nL: bit w: the last weekday w of the month matches
	dowNth     []nthWeekday

	// or says a day matches when either day part matches (crontab, both
	// restricted); otherwise both must match.
	or bool
	// everyHour is true when the hour field matches all 24 hours: an
	// ambiguous local time then fires at both of its instants.
	everyHour bool
}

// nthWeekday is n#k: the k-th weekday n of the month.
type nthWeekday struct{ weekday, k int8 }

// finish precomputes the derived fields once every field is set.
func (m *matcher) finish() {
	for first := 0; first < 7; first++ {
		var mask uint32
		for d := 1; d <= 31; d++ {
			if m.dowDays&(1<<((first+d-1)%7)) != 0 {
				mask |= 1 << d
			}
		}
		m.dowByFirst[first] = mask
	}
	m.everyHour = m.hours == 1<<24-1
}

func (m *matcher) hasYear(y int64) bool {
	if m.allYears {
		return true
	}
	i := y - minYear
	return i >= 0 && i < 256 && m.years[i/64]&(1<<(i%64)) != 0
}

// nextYear returns the first allowed year ≥ y.
func (m *matcher) nextYear(y int64) (int64, bool) {
	if m.allYears {
		return y, true
	}
	i := y - minYear
	if i < 0 {
		i = 0
	}
	for ; i < 256; i++ {
		w := m.years[i/64] >> (i % 64)
		if w == 0 {
			i = (i/64+1)*64 - 1
			continue
		}
		return minYear + i + int64(bits.TrailingZeros64(w)), true
	}
	return 0, false
}

// dayMask returns the days (bit d) of month mo of year y that match.
func (m *matcher) dayMask(y, mo int64) uint32 {
	n := daysIn(y, mo)
	valid := uint32(1<<(n+1)) - 2
	first := weekdayOf(daysFromCivil(y, mo, 1))
	var dom, dow uint32
	if m.domAll {
		dom = valid
	} else {
		dom = m.domDays & valid
		if m.domLast {
			dom |= 1 << n
		}
		for _, off := range m.domLastOff {
			if d := n - int64(off); d >= 1 {
				dom |= 1 << d
			}
		}
		for _, d := range m.domNearest {
			if int64(d) <= n {
				dom |= 1 << nearestWeekday(int64(d), n, first)
			}
		}
		if m.domLastWkd {
			dom |= 1 << nearestWeekday(n, n, first)
		}
	}
	if m.dowAll {
		dow = valid
	} else {
		dow = m.dowByFirst[first] & valid
		if m.dowLast != 0 {
			lastWd := (first + n - 1) % 7
			for w := int64(0); w < 7; w++ {
				if m.dowLast&(1<<w) != 0 {
					dow |= 1 << (n - (lastWd-w+7)%7)
				}
			}
		}
		for _, nk := range m.dowNth {
			d := 1 + (int64(nk.weekday)-first+7)%7 + 7*(int64(nk.k)-1)
			if d <= n {
				dow |= 1 << d
			}
		}
	}
	if m.or && !m.domStar && !m.dowStar {
		return dom | dow
	}
	return dom & dow
}

// nearestWeekday returns the Monday-Friday day nearest day d of a month of n
// days whose 1st is weekday first, without leaving the month (Quartz's W).
func nearestWeekday(d, n, first int64) int64 {
	switch (first + d - 1) % 7 {
	case 6: // Saturday: Friday before, or Monday after on the 1st
		if d == 1 {
			return 3
		}
		return d - 1
	case 0: // Sunday: Monday after, or Friday before on the last day
		if d == n {
			return d - 2
		}
		return d + 1
	}
	return d
}

// nextBit returns the lowest set bit ≥ from in set, or -1.
func nextBit(set uint64, from int64) int64 {
	if from >= 64 {
		return -1
	}
	w := set >> from
	if w == 0 {
		return -1
	}
	return from + int64(bits.TrailingZeros64(w))
}

// nextWall returns the first matching wall time ≥ w.
func (m *matcher) nextWall(w int64) (int64, bool) {
	y, mo, d, h, mi, s := splitWall(w)
	limit := y + searchYears
	for {
		if y > limit {
			return 0, false
		}
		if !m.hasYear(y) {
			ny, ok := m.nextYear(y)
			if !ok || ny > limit {
				return 0, false
			}
			y, mo, d, h, mi, s = ny, 1, 1, 0, 0, 0
		}
		nm := nextBit(uint64(m.months), mo)
		if nm < 0 {
			y, mo, d, h, mi, s = y+1, 1, 1, 0, 0, 0
			continue
		}
		if nm != mo {
			mo, d, h, mi, s = nm, 1, 0, 0, 0
		}
		nd := nextBit(uint64(m.dayMask(y, mo)), d)
		if nd < 0 {
			mo, d, h, mi, s = mo+1, 1, 0, 0, 0
			continue
		}
		if nd != d {
			d, h, mi, s = nd, 0, 0, 0
		}
		nh := nextBit(uint64(m.hours), h)
		if nh < 0 {
			d, h, mi, s = d+1, 0, 0, 0
			continue
		}
		if nh != h {
			h, mi, s = nh, 0, 0
		}
		nmi := nextBit(m.minutes, mi)
		if nmi < 0 {
			h, mi, s = h+1, 0, 0
			continue
		}
		if nmi != mi {
			mi, s = nmi, 0
		}
		ns := nextBit(m.seconds, s)
		if ns < 0 {
			mi, s = mi+1, 0
			continue
		}
		return wallOf(y, mo, d, h, mi, ns), true
	}
}

// matchWall reports whether wall time w matches.
func (m *matcher) matchWall(w int64) bool {
	y, mo, d, h, mi, s := splitWall(w)
	return m.hasYear(y) && m.months&(1<<mo) != 0 && m.hours&(1<<h) != 0 &&
		m.minutes&(1<<mi) != 0 && m.seconds&(1<<s) != 0 && m.dayMask(y, mo)&(1<<d) != 0
}
