package schedule

import (
	"slices"
	"testing"
	"time"
)

func TestOtherParts(t *testing.T) {
	t.Parallel()
	const after = "2026-03-01T00:00:00Z"
	at := func(ss ...string) []time.Time {
		var out []time.Time
		for _, s := range ss {
			v, _ := time.Parse(time.RFC3339, s)
			out = append(out, v)
		}
		return out
	}
	runSpecCases(t, []specCase{
		{"interval with offset", Spec{Intervals: []Interval{{Every: time.Hour, Offset: 15 * time.Minute}}}, after,
			[]string{"2026-03-01T00:15:00Z", "2026-03-01T01:15:00Z"}},
		{"interval aligned to the epoch", Spec{Intervals: []Interval{{Every: 7 * time.Minute}}}, after,
			// 1772323200 s is 4219817 × 420 s + 60 s
			[]string{"2026-03-01T00:06:00Z", "2026-03-01T00:13:00Z"}},
		{"interval ignores DST", Spec{TimeZone: "America/New_York", Intervals: []Interval{{Every: time.Hour}}}, "2026-11-01T04:30:00Z",
			[]string{"2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00", "2026-11-01T02:00:00-05:00"}},
		{"calendar weekdays", Spec{Calendars: []Calendar{{Hour: []Range{{Start: 9}}, DayOfWeek: []Range{{Start: 1, End: 5}}}}}, after,
			[]string{"2026-03-02T09:00:00Z", "2026-03-03T09:00:00Z"}},
		{"calendar dom and dow both match", Spec{Calendars: []Calendar{{DayOfMonth: []Range{{Start: 13}}, DayOfWeek: []Range{{Start: 5}}}}}, after,
			[]string{"2026-03-13T00:00:00Z", "2026-11-13T00:00:00Z"}},
		{"calendar steps", Spec{Calendars: []Calendar{{Hour: []Range{{Start: 0, End: 23}}, Minute: []Range{{Start: 0, End: 59, Step: 20}}}}}, after,
			[]string{"2026-03-01T00:20:00Z", "2026-03-01T00:40:00Z", "2026-03-01T01:00:00Z"}},
		{"calendar day of week 7 is Sunday", Spec{Calendars: []Calendar{{DayOfWeek: []Range{{Start: 7}}}}}, after,
			[]string{"2026-03-08T00:00:00Z"}},
		{"calendar year", Spec{Calendars: []Calendar{{Month: []Range{{Start: 6}}, DayOfMonth: []Range{{Start: 1}}, Year: []Range{{Start: 2027, End: 2028}}}}}, after,
			[]string{"2027-06-01T00:00:00Z", "2028-06-01T00:00:00Z", "none"}},
		{"calendar interval monthly skips missing days", Spec{CalendarIntervals: []CalendarInterval{{Months: 1, TimeOfDay: "09:00", StartDate: "2026-01-31"}}}, "2026-01-01T00:00:00Z",
			[]string{"2026-01-31T09:00:00Z", "2026-03-31T09:00:00Z", "2026-05-31T09:00:00Z", "2026-07-31T09:00:00Z", "2026-08-31T09:00:00Z"}},
		{"calendar interval every two weeks across DST", Spec{TimeZone: "America/New_York", CalendarIntervals: []CalendarInterval{{Weeks: 2, TimeOfDay: "10:30:15", StartDate: "2026-03-02"}}}, after,
			[]string{"2026-03-02T10:30:15-05:00", "2026-03-16T10:30:15-04:00", "2026-03-30T10:30:15-04:00"}},
		{"calendar interval yearly leap day", Spec{CalendarIntervals: []CalendarInterval{{Years: 1, StartDate: "2024-02-29"}}}, "2024-03-01T00:00:00Z",
			[]string{"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}},
		{"calendar interval from the epoch", Spec{CalendarIntervals: []CalendarInterval{{Days: 1}}}, after,
			[]string{"2026-03-02T00:00:00Z"}},
		{"calendar interval every 3 days", Spec{CalendarIntervals: []CalendarInterval{{Days: 3, StartDate: "2026-03-01"}}}, "2026-02-01T00:00:00Z",
			[]string{"2026-03-01T00:00:00Z", "2026-03-04T00:00:00Z", "2026-03-07T00:00:00Z"}},
		{"calendar interval years and months", Spec{CalendarIntervals: []CalendarInterval{{Years: 1, Months: 6, StartDate: "2026-01-15"}}}, "2026-01-15T00:00:00Z",
			[]string{"2027-07-15T00:00:00Z", "2029-01-15T00:00:00Z"}},
		{"calendar interval starts at start_time's date", Spec{StartTime: mustTime(t, "2026-03-10T15:00:00Z"), CalendarIntervals: []CalendarInterval{{Weeks: 1, TimeOfDay: "12:00"}}}, after,
			// 10 Mar 12:00 is before start_time
			[]string{"2026-03-17T12:00:00Z", "2026-03-24T12:00:00Z"}},
		{"at one-shots", Spec{At: at("2026-02-01T00:00:00Z", "2026-04-01T10:00:00Z", "2026-03-05T08:00:00Z", "2026-03-05T08:00:00Z")}, after,
			[]string{"2026-03-05T08:00:00Z", "2026-04-01T10:00:00Z", "none"}},
		{"at truncates to seconds", Spec{At: at("2026-03-05T08:00:00.9Z")}, after,
			[]string{"2026-03-05T08:00:00Z", "none"}},
		{"union, equal instants once", Spec{CronExpressions: []string{"0 9,12 * * *"}, Intervals: []Interval{{Every: 12 * time.Hour}}, At: at("2026-03-01T10:00:00Z")}, after,
			[]string{"2026-03-01T09:00:00Z", "2026-03-01T10:00:00Z", "2026-03-01T12:00:00Z", "2026-03-02T00:00:00Z", "2026-03-02T09:00:00Z"}},
		{"skip removes matching times", Spec{CronExpressions: []string{"0 9 * * *"}, Skip: []Calendar{{Month: []Range{{Start: 12}}, DayOfMonth: []Range{{Start: 25}}, Hour: []Range{{Start: 9}}}}}, "2026-12-24T00:00:00Z",
			[]string{"2026-12-24T09:00:00Z", "2026-12-26T09:00:00Z"}},
		{"skip weekends in the spec's zone", Spec{TimeZone: "Asia/Kathmandu", CronExpressions: []string{"0 * * * *"},
			Skip: []Calendar{{DayOfWeek: []Range{{Start: 0}, {Start: 6}}, Hour: []Range{{Start: 0, End: 23}}}}},
			"2026-03-06T17:30:00Z", // Friday 23:15 in Kathmandu
			[]string{"2026-03-09T00:00:00+05:45"}},
		{"skip whole days without stepping each second", Spec{CronExpressions: []string{"* * * * * ?"},
			Skip: []Calendar{{DayOfWeek: []Range{{Start: 6}}, Hour: []Range{{Start: 0, End: 23}}, Minute: []Range{{Start: 0, End: 59}}, Second: []Range{{Start: 0, End: 59}}}}},
			"2026-03-06T23:59:58Z", // Friday
			[]string{"2026-03-06T23:59:59Z", "2026-03-08T00:00:00Z", "2026-03-08T00:00:01Z"}},
		{"skip a whole hour through fall back", Spec{TimeZone: "America/New_York", CronExpressions: []string{"* * * * *"},
			Skip: []Calendar{{Hour: []Range{{Start: 1}}, Minute: []Range{{Start: 0, End: 59}}, Second: []Range{{Start: 0, End: 59}}}}},
			"2026-11-01T04:58:00Z", // 00:58 EDT; both 01:xx hours are skipped
			[]string{"2026-11-01T00:59:00-04:00", "2026-11-01T02:00:00-05:00"}},
		{"start and end are inclusive", Spec{CronExpressions: []string{"0 * * * *"}, StartTime: mustTime(t, "2026-03-01T05:00:00Z"), EndTime: mustTime(t, "2026-03-01T07:00:00Z")}, after,
			[]string{"2026-03-01T05:00:00Z", "2026-03-01T06:00:00Z", "2026-03-01T07:00:00Z", "none"}},
		{"start with a fraction rounds up", Spec{CronExpressions: []string{"* * * * * ?"}, StartTime: mustTime(t, "2026-03-01T05:00:00.2Z")}, after,
			[]string{"2026-03-01T05:00:01Z"}},
	})
}

func TestSpecErrors(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		spec Spec
		path string
	}{
		{"empty spec", Spec{}, ""},
		{"unknown zone", Spec{TimeZone: "Nowhere/City", CronExpressions: []string{"@daily"}}, "time_zone"},
		{"Local zone", Spec{TimeZone: "Local", CronExpressions: []string{"@daily"}}, "time_zone"},
		{"interval zero", Spec{Intervals: []Interval{{Every: time.Hour}, {}}}, "intervals[1].every"},
		{"interval fraction", Spec{Intervals: []Interval{{Every: 1500 * time.Millisecond}}}, "intervals[0].every"},
		{"offset too large", Spec{Intervals: []Interval{{Every: time.Hour, Offset: time.Hour}}}, "intervals[0].offset"},
		{"offset negative", Spec{Intervals: []Interval{{Every: time.Hour, Offset: -time.Second}}}, "intervals[0].offset"},
		{"calendar hour out of range", Spec{Calendars: []Calendar{{Hour: []Range{{Start: 1, End: 24}}}}}, "calendars[0].hour[0]"},
		{"calendar backwards", Spec{Calendars: []Calendar{{Minute: []Range{{Start: 0}, {Start: 30, End: 10}}}}}, "calendars[0].minute[1]"},
		{"calendar day of week 8", Spec{Calendars: []Calendar{{DayOfWeek: []Range{{Start: 8}}}}}, "calendars[0].day_of_week[0]"},
		{"calendar never fires", Spec{Calendars: []Calendar{{Month: []Range{{Start: 2}}, DayOfMonth: []Range{{Start: 30}}}}}, "calendars[0]"},
		{"calendar year", Spec{Calendars: []Calendar{{Year: []Range{{Start: 1900}}}}}, "calendars[0].year[0]"},
		{"calendar negative step", Spec{Calendars: []Calendar{{Hour: []Range{{Start: 1, End: 5, Step: -1}}}}}, "calendars[0].hour[0]"},
		{"skip range", Spec{CronExpressions: []string{"@daily"}, Skip: []Calendar{{Month: []Range{{Start: 13}}}}}, "skip[0].month[0]"},
		{"calendar interval without period", Spec{CalendarIntervals: []CalendarInterval{{TimeOfDay: "09:00"}}}, "calendar_intervals[0]"},
		{"calendar interval bad time", Spec{CalendarIntervals: []CalendarInterval{{Days: 1, TimeOfDay: "24:00"}}}, "calendar_intervals[0].time_of_day"},
		{"calendar interval bad date", Spec{CalendarIntervals: []CalendarInterval{{Days: 1, StartDate: "2026-02-30"}}}, "calendar_intervals[0].start_date"},
		{"calendar interval negative", Spec{CalendarIntervals: []CalendarInterval{{Weeks: -1}}}, "calendar_intervals[0].weeks"},
		{"end before start", Spec{CronExpressions: []string{"@daily"}, StartTime: start, EndTime: start.Add(-time.Second)}, "end_time"},
		{"nothing between start and end", Spec{CronExpressions: []string{"0 0 1 1 *"}, StartTime: start, EndTime: start.Add(24 * time.Hour)}, "end_time"},
		{"skip removes everything", Spec{CronExpressions: []string{"0 9 * * *"}, Skip: []Calendar{{Hour: []Range{{Start: 9}}}}}, "skip"},
		{"negative jitter", Spec{CronExpressions: []string{"@daily"}, Jitter: -time.Second}, "jitter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Compile(tc.spec)
			if err == nil {
				t.Fatal("Compile succeeded")
			}
			if e := asError(t, err); e.Path != tc.path {
				t.Errorf("path %q, want %q (error: %v)", e.Path, tc.path, err)
			}
		})
	}
}

func TestNextNone(t *testing.T) {
	t.Parallel()
	c, err := Compile(Spec{At: []time.Time{mustTime(t, "2020-01-01T00:00:00Z")}})
	if err != nil {
		t.Fatalf("a spec with only past at times compiles: %v", err)
	}
	if n, ok := c.Next(mustTime(t, "2026-01-01T00:00:00Z")); ok {
		t.Errorf("Next = %v, want none", n)
	}
	c, err = Compile(Spec{CronExpressions: []string{"@daily"}, EndTime: mustTime(t, "2026-01-01T00:00:00Z")})
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := c.Next(mustTime(t, "2026-01-01T00:00:00Z")); ok {
		t.Errorf("Next after end_time = %v, want none", n)
	}
}

func TestBetween(t *testing.T) {
	t.Parallel()
	c, err := Compile(cron("", "0 * * * *"))
	if err != nil {
		t.Fatal(err)
	}
	from, to := mustTime(t, "2026-03-01T00:00:00Z"), mustTime(t, "2026-03-01T03:00:00Z")
	var got []string
	for tm := range c.Between(from, to) {
		got = append(got, tm.Format(time.RFC3339))
	}
	want := []string{"2026-03-01T00:00:00Z", "2026-03-01T01:00:00Z", "2026-03-01T02:00:00Z", "2026-03-01T03:00:00Z"}
	if !equalStrings(got, want) {
		t.Errorf("Between inclusive = %q, want %q", got, want)
	}
	got = got[:0]
	for tm := range c.Between(from.Add(time.Nanosecond), to.Add(-time.Nanosecond)) {
		got = append(got, tm.Format(time.RFC3339))
	}
	if want := []string{"2026-03-01T01:00:00Z", "2026-03-01T02:00:00Z"}; !equalStrings(got, want) {
		t.Errorf("Between exclusive ends = %q, want %q", got, want)
	}
	n := 0
	for range c.Between(from, to) {
		n++
		break
	}
	if n != 1 {
		t.Errorf("break did not stop the iterator")
	}
	if slices.Collect(c.Between(to, from)) != nil {
		t.Errorf("Between(to, from) yields times")
	}
}

func TestJittered(t *testing.T) {
	t.Parallel()
	nominal := mustTime(t, "2026-03-01T09:00:00Z")
	t.Run("within jitter and deterministic", func(t *testing.T) {
		t.Parallel()
		c, err := Compile(Spec{CronExpressions: []string{"0 9 * * *"}, Jitter: 10 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[time.Duration]bool{}
		for i := range 50 {
			id := "sched-" + itoa(i)
			j := c.Jittered(id, nominal)
			d := j.Sub(nominal)
			if d < 0 || d >= 10*time.Minute {
				t.Fatalf("delay %v outside [0, 10m)", d)
			}
			if again := c.Jittered(id, nominal); !again.Equal(j) {
				t.Fatalf("Jittered not deterministic: %v then %v", j, again)
			}
			seen[d] = true
		}
		if len(seen) < 40 {
			t.Errorf("only %d distinct delays for 50 ids", len(seen))
		}
		if a, b := c.Jittered("x", nominal), c.Jittered("x", nominal.Add(24*time.Hour)); a.Sub(nominal) == b.Sub(nominal.Add(24*time.Hour)) {
			t.Errorf("the same delay on two days: %v", a.Sub(nominal))
		}
	})
	t.Run("never past the next nominal time", func(t *testing.T) {
		t.Parallel()
		c, err := Compile(Spec{CronExpressions: []string{"* * * * *"}, Jitter: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 100 {
			if d := c.Jittered("s"+itoa(i), nominal).Sub(nominal); d < 0 || d >= time.Minute {
				t.Fatalf("delay %v not in [0, 1m)", d)
			}
		}
	})
	t.Run("zero jitter", func(t *testing.T) {
		t.Parallel()
		c, err := Compile(Spec{CronExpressions: []string{"0 9 * * *"}})
		if err != nil {
			t.Fatal(err)
		}
		if j := c.Jittered("x", nominal); !j.Equal(nominal) {
			t.Errorf("Jittered = %v, want nominal", j)
		}
	})
}

func TestSummary(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		spec Spec
		want string
	}{
		{Spec{CronExpressions: []string{"0 9 * * MON-FRI"}, TimeZone: "America/New_York"}, "cron 0 9 * * MON-FRI (America/New_York)"},
		{Spec{CronExpressions: []string{"@daily"}}, "cron @daily"},
		{Spec{Intervals: []Interval{{Every: time.Hour, Offset: 15 * time.Minute}}}, "every 1h+15m"},
		{Spec{Intervals: []Interval{{Every: 90 * time.Minute}}}, "every 1h30m"},
		{Spec{Calendars: []Calendar{{Comment: "payroll"}}}, "calendar payroll"},
		{Spec{CalendarIntervals: []CalendarInterval{{Weeks: 2, TimeOfDay: "09:00"}}, TimeZone: "Europe/London"}, "every 2 weeks at 09:00 (Europe/London)"},
		{Spec{At: []time.Time{time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}}, "once at 2026-03-01T09:00:00Z"},
		{Spec{CronExpressions: []string{"@daily"}, Intervals: []Interval{{Every: time.Hour}}, At: []time.Time{{}}}, "3 parts"},
		{Spec{}, "never"},
	} {
		if got := Summary(tc.spec); got != tc.want {
			t.Errorf("Summary = %q, want %q", got, tc.want)
		}
	}
}

func TestSpecNormalised(t *testing.T) {
	t.Parallel()
	in := Spec{CronExpressions: []string{"  0 9 * * * "}, At: []time.Time{mustTime(t, "2026-03-02T00:00:00.7+01:00"), mustTime(t, "2026-03-01T00:00:00Z")}}
	c, err := Compile(in)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Spec()
	if s.CronExpressions[0] != "0 9 * * *" {
		t.Errorf("cron not trimmed: %q", s.CronExpressions[0])
	}
	if len(s.At) != 2 || s.At[0].Format(time.RFC3339Nano) != "2026-03-01T00:00:00Z" || s.At[1].Format(time.RFC3339Nano) != "2026-03-01T23:00:00Z" {
		t.Errorf("At = %v", s.At)
	}
	s.CronExpressions[0] = "changed"
	if c.Spec().CronExpressions[0] != "0 9 * * *" {
		t.Errorf("Spec() shares memory with the compiled spec")
	}
	if in.CronExpressions[0] != "  0 9 * * * " {
		t.Errorf("Compile modified its input")
	}
}

func TestNextExtremes(t *testing.T) {
	t.Parallel()
	specs := []Spec{
		cron("America/New_York", "0 30 2 * * ?"),
		cron("Pacific/Apia", "0 0 0 29 2 ?"),
		cron("Australia/Lord_Howe", "0 0 12 ? * FRIL 2199"),
		{Intervals: []Interval{{Every: 7 * time.Second}}},
		{TimeZone: "Europe/London", CalendarIntervals: []CalendarInterval{{Years: 3, StartDate: "2000-02-29"}}},
		{TimeZone: "Asia/Kathmandu", Calendars: []Calendar{{DayOfWeek: []Range{{Start: 1}}}}, Skip: []Calendar{{Month: []Range{{Start: 1}}}}},
	}
	for _, after := range []time.Time{{}, time.Date(1899, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)} {
		for _, s := range specs {
			c, err := Compile(s)
			if err != nil {
				t.Fatalf("%+v: %v", s, err)
			}
			if n, ok := c.Next(after); ok && !n.After(after) {
				t.Errorf("%s: Next(%v) = %v", Summary(s), after, n)
			}
		}
	}
}
