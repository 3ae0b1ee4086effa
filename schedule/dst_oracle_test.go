package schedule

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	robfig "github.com/robfig/cron/v3"
)

// oracleTimes lists, by brute force over every local minute of the window,
// the instants at which a 5-field expression fires by semantics.md's DST
// rules. It shares no code with the engine: fields come from robfig's
// parser, and local↔UTC mapping from the time package.
func oracleTimes(t *testing.T, expr string, loc *time.Location, from, to time.Time) []int64 {
	t.Helper()
	s, err := robfig.ParseStandard(expr)
	if err != nil {
		t.Fatal(err)
	}
	spec := s.(*robfig.SpecSchedule)
	const star = 1 << 63
	bit := func(set uint64, v int) bool { return set&(1<<uint(v)) != 0 }
	// The zone's offsets in the window (two, around one transition).
	var offsets []int
	for x := from.Add(-48 * time.Hour); x.Before(to.Add(48 * time.Hour)); x = x.Add(15 * time.Minute) {
		if _, off := x.In(loc).Zone(); !slices.Contains(offsets, off) {
			offsets = append(offsets, off)
		}
	}
	everyHour := spec.Hour&(1<<24-1) == 1<<24-1
	var out []int64
	lf := from.In(loc)
	day := time.Date(lf.Year(), lf.Month(), lf.Day()-2, 0, 0, 0, 0, time.UTC) // wall clock as UTC
	for ; day.Before(to.Add(72 * time.Hour)); day = day.AddDate(0, 0, 1) {
		dom, dow := bit(spec.Dom, day.Day()), bit(spec.Dow, int(day.Weekday()))
		dayOK := dom || dow
		if spec.Dom&star != 0 || spec.Dow&star != 0 {
			dayOK = dom && dow
		}
		if !dayOK || !bit(spec.Month, int(day.Month())) {
			continue
		}
		for h := range 24 {
			for m := range 60 {
				if !bit(spec.Hour, h) || !bit(spec.Minute, m) {
					continue
				}
				wall := day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute).Unix()
				var valid []int64
				for _, off := range offsets {
					inst := wall - int64(off)
					if _, o := time.Unix(inst, 0).In(loc).Zone(); o == off {
						valid = append(valid, inst)
					}
				}
				slices.Sort(valid)
				switch {
				case len(valid) == 0: // in a gap: shift forward by it
					out = append(out, wall-int64(slices.Min(offsets)))
				case len(valid) > 1 && !everyHour: // ambiguous: first only
					out = append(out, valid[0])
				default:
					out = append(out, valid...)
				}
			}
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	return slices.DeleteFunc(out, func(x int64) bool { return x < from.Unix() || x > to.Unix() })
}

// TestDSTOracle compares Next with the brute-force oracle for random
// expressions around every transition listed in dst_test.go.
func TestDSTOracle(t *testing.T) {
	t.Parallel()
	windows := []struct{ zone, at string }{
		{"America/New_York", "2026-03-08T07:00:00Z"}, {"America/New_York", "2026-11-01T06:00:00Z"},
		{"Europe/London", "2026-03-29T01:00:00Z"}, {"Europe/London", "2026-10-25T01:00:00Z"},
		{"Australia/Lord_Howe", "2026-10-03T15:30:00Z"}, {"Australia/Lord_Howe", "2026-04-04T15:00:00Z"},
		{"Asia/Kathmandu", "1985-12-31T18:30:00Z"},
		{"Pacific/Apia", "2011-12-30T10:00:00Z"}, {"Pacific/Apia", "2012-03-31T14:00:00Z"}, {"Pacific/Apia", "2012-09-29T14:00:00Z"},
	}
	r := rand.New(rand.NewPCG(3, 4))
	field := func(lo, hi int) string {
		switch r.IntN(4) {
		case 0:
			return "*"
		case 1:
			return "*/" + strconv.Itoa(1+r.IntN(hi/2+1))
		case 2:
			a := lo + r.IntN(hi-lo+1)
			return strconv.Itoa(a) + "-" + strconv.Itoa(a+r.IntN(hi-a+1))
		}
		return strconv.Itoa(lo + r.IntN(hi-lo+1))
	}
	for _, w := range windows {
		loc, err := time.LoadLocation(w.zone)
		if err != nil {
			t.Fatal(err)
		}
		center := mustTime(t, w.at)
		from, to := center.Add(-36*time.Hour), center.Add(36*time.Hour)
		for range 40 {
			hour := field(0, 4) // the transition hours
			if r.IntN(3) == 0 {
				hour = "*"
			}
			expr := strings.Join([]string{field(0, 59), hour, "*", "*", "*"}, " ")
			c, err := Compile(Spec{CronExpressions: []string{expr}, TimeZone: w.zone})
			if err != nil {
				t.Fatalf("%q: %v", expr, err)
			}
			var got []int64
			for n := range c.Between(from, to) {
				got = append(got, n.Unix())
			}
			if want := oracleTimes(t, expr, loc, from, to); !slices.Equal(got, want) {
				t.Fatalf("%s %q around %s:\n got  %v\n want %v", w.zone, expr, w.at, fmtUnix(got, loc), fmtUnix(want, loc))
			}
		}
	}
}

func fmtUnix(xs []int64, loc *time.Location) []string {
	var out []string
	for _, x := range xs {
		out = append(out, time.Unix(x, 0).In(loc).Format("01-02T15:04Z07:00"))
	}
	return out
}
