package schedule

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

var fuzzAfter = []time.Time{
	time.Date(2026, 3, 8, 6, 59, 59, 0, time.UTC),
	time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC),
	time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC),
	time.Date(2199, 12, 31, 0, 0, 0, 0, time.UTC),
}

// checkNext asserts that Next is strictly increasing from a few instants.
func checkNext(t *testing.T, c *CompiledSpec) {
	for _, a := range fuzzAfter {
		for range 5 {
			n, ok := c.Next(a)
			if !ok {
				break
			}
			if !n.After(a) || n.Nanosecond() != 0 {
				t.Fatalf("Next(%v) = %v", a, n)
			}
			a = n
		}
	}
}

func FuzzParseCron(f *testing.F) {
	for _, s := range []string{
		"0 */5 * * * ?", "0 0 12 ? * FRIL", "0 0 0 29 2 ?", "0 0 0 LW * ?", "0 0 0 L-3 * ?",
		"0 0 0 15W * ?", "0 0 0 ? * FRI#3", "0 0 0 1 1 ? 2030/5", "30 9 * * MON-FRI",
		"CRON_TZ=America/New_York 0 9 * * *", "TZ=Asia/Kathmandu @daily", "@every 1h30m",
		"0 0 13 * 5", "*/7 1-5/2 L * 1L", "0 0 0 30 2 ?", "? * * * *",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		p, perr := parseCron(expr)
		c, err := Compile(Spec{CronExpressions: []string{expr}})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrInvalidSpec) {
				t.Fatalf("Compile(%q) error %v is %T, not *Error", expr, err, err)
			}
			return
		}
		if perr != nil || p == nil {
			t.Fatalf("parseCron(%q) = %v but Compile succeeded", expr, perr)
		}
		checkNext(t, c)
	})
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		`{"cron_expressions":["0 9 * * *"],"time_zone":"America/New_York"}`,
		`{"intervals":[{"every":"1h","offset":"15m"}],"jitter":"30s"}`,
		`{"calendars":[{"hour":[{"start":9}],"day_of_week":[{"start":1,"end":5}]}],"skip":[{"month":[{"start":12}]}]}`,
		`{"calendar_intervals":[{"months":1,"time_of_day":"02:30","start_date":"2026-01-31"}],"time_zone":"Australia/Lord_Howe"}`,
		`{"at":["2026-03-01T09:00:00Z"],"start_time":"2026-01-01T00:00:00Z","end_time":"2027-01-01T00:00:00Z"}`,
		`{"cron_expressions":["0 0 0 29 2 ?","@every 90m"],"calendars":[{"year":[{"start":2030,"end":2040,"step":3}]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Spec
		if json.Unmarshal(data, &s) != nil {
			return
		}
		c, err := Compile(s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrInvalidSpec) {
				t.Fatalf("Compile error %v is %T, not *Error", err, err)
			}
			return
		}
		checkNext(t, c)
		from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		n := 0
		var prev time.Time
		for tm := range c.Between(from, from.Add(48*time.Hour)) {
			if !prev.IsZero() && !tm.After(prev) {
				t.Fatalf("Between not ascending: %v then %v", prev, tm)
			}
			prev = tm
			c.Jittered("id", tm)
			if n++; n > 20 {
				break
			}
		}
		_ = Summary(c.Spec())
	})
}
