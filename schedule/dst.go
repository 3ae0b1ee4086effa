package schedule

import "time"

// Mapping wall times to instants in a zone, with Sundial's daylight-saving
// rules (semantics.md, "no fire lost, none doubled"):
//
//   - A wall time in a gap (spring forward) fires once, shifted forward by
//     the gap: 02:30 on a New York spring-forward day fires at 03:30 EDT.
//     Go's time.Date may pick the instant before the gap instead (Go 1.26
//     gives 01:30 EST); we always shift forward, so the fire is never
//     earlier than the time the user wrote.
//   - A wall time that occurs twice (fall back) fires at its first instant
//     only, unless the matcher's hour field matches every hour, in which
//     case it fires at both.
//   - Equal instants fire once.

// wallSource yields the matching wall times of one spec part.
type wallSource interface {
	// nextWall returns the first matching wall time ≥ w.
	nextWall(w int64) (int64, bool)
}

// maxOffset bounds the UTC offset of any zone, past or present (tzdata's
// extremes are about -12 h and +15 h).
const maxOffset = 16 * 3600

// zone is a compiled time zone: a fixed offset, or a location with
// transitions.
type zone struct {
	loc   *time.Location
	fixed bool  // no transitions: every instant has offset off
	off   int64 // the fixed offset
}

func newZone(loc *time.Location) zone {
	t := time.Unix(0, 0).In(loc)
	s, e := t.ZoneBounds()
	_, off := t.Zone()
	return zone{loc: loc, fixed: s.IsZero() && e.IsZero(), off: int64(off)}
}

// offsetAt returns the UTC offset at instant t.
func (z *zone) offsetAt(t int64) int64 {
	if z.fixed {
		return z.off
	}
	_, off := time.Unix(t, 0).In(z.loc).Zone()
	return int64(off)
}

// wallAt returns the wall time of instant t and, when the offset changes
// later, the instant it changes.
func (z *zone) wallAt(t int64) (w, segEnd int64, bounded bool) {
	if z.fixed {
		return t + z.off, 0, false
	}
	tm := time.Unix(t, 0).In(z.loc)
	_, off := tm.Zone()
	_, end := tm.ZoneBounds()
	return t + int64(off), end.Unix(), !end.IsZero()
}

// next returns the first instant ≥ t at which src fires in z. everyHour
// makes both instants of an ambiguous wall time fire.
func (z *zone) next(src wallSource, t int64, everyHour bool) (int64, bool) {
	if z.fixed {
		w, ok := src.nextWall(t + z.off)
		return w - z.off, ok
	}
	for {
		tm := time.Unix(t, 0).In(z.loc)
		_, o := tm.Zone()
		off := int64(o)
		segStart, segEnd := tm.ZoneBounds()
		best, found := int64(0), false
		lo := t + off
		if !segStart.IsZero() {
			s := segStart.Unix()
			poff := z.offsetAt(s - 1)
			switch {
			case off > poff && t < s+off-poff:
				// Wall times in the gap [s+poff, s+off) fire shifted
				// forward by the gap, at w-poff in [s, s+off-poff).
				if w, ok := src.nextWall(t + poff); ok && w < s+off {
					best, found = w-poff, true
				}
			case off < poff && !everyHour && lo < s+poff:
				// Wall times in [s+off, s+poff) already fired before s.
				lo = s + poff
			}
		}
		w, ok := src.nextWall(lo)
		if ok {
			c := w - off
			if (segEnd.IsZero() || c < segEnd.Unix()) && (!found || c < best) {
				best, found = c, true
			}
		}
		if found {
			return best, true
		}
		if segEnd.IsZero() {
			return 0, false
		}
		// Nothing in this segment. Any later fire comes from a wall time
		// below lo (an instant before t+2·maxOffset) or from one ≥ w (an
		// instant after w-maxOffset), so a long segment lets us jump.
		e := segEnd.Unix()
		if !ok {
			if e >= t+2*maxOffset {
				return 0, false
			}
			t = e
			continue
		}
		if e >= t+2*maxOffset && w-maxOffset > e {
			t = w - maxOffset
		} else {
			t = e
		}
	}
}
