package schedule

import "time"

// interval is a compiled Interval, in seconds.
type interval struct{ every, offset int64 }

// compileInterval validates an Interval: Every at least one second and a
// whole number of seconds, 0 ≤ Offset < Every.
func compileInterval(iv Interval) (interval, *Error) {
	switch {
	case iv.Every < time.Second:
		return interval{}, &Error{Path: "every", Reason: "must be at least 1s, got " + iv.Every.String()}
	case iv.Every%time.Second != 0:
		return interval{}, &Error{Path: "every", Reason: iv.Every.String() + " is not a whole number of seconds"}
	case iv.Offset < 0 || iv.Offset >= iv.Every:
		return interval{}, &Error{Path: "offset", Reason: "must be at least 0 and less than every (" + iv.Every.String() + "), got " + iv.Offset.String()}
	case iv.Offset%time.Second != 0:
		return interval{}, &Error{Path: "offset", Reason: iv.Offset.String() + " is not a whole number of seconds"}
	}
	return interval{every: int64(iv.Every / time.Second), offset: int64(iv.Offset / time.Second)}, nil
}

// next returns the first fire ≥ t: the smallest k·every + offset ≥ t.
func (iv interval) next(t int64) int64 {
	k := floorDiv(t-iv.offset-1, iv.every) + 1
	return k*iv.every + iv.offset
}
