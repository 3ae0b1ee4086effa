package schedule

import (
	"testing"
	"time"
)

func BenchmarkNext(b *testing.B) {
	for _, bc := range []struct {
		name string
		spec Spec
	}{
		{"every5min", Spec{CronExpressions: []string{"0 */5 * * * ?"}}},
		{"every5min_NewYork", Spec{CronExpressions: []string{"0 */5 * * * ?"}, TimeZone: "America/New_York"}},
		{"FRIL", Spec{CronExpressions: []string{"0 0 12 ? * FRIL"}}},
		{"FRIL_NewYork", Spec{CronExpressions: []string{"0 0 12 ? * FRIL"}, TimeZone: "America/New_York"}},
		{"leapday", Spec{CronExpressions: []string{"0 0 0 29 2 ?"}}},
		{"leapday_NewYork", Spec{CronExpressions: []string{"0 0 0 29 2 ?"}, TimeZone: "America/New_York"}},
		{"year2199_LordHowe", Spec{CronExpressions: []string{"0 0 0 1 1 ? 2199"}, TimeZone: "Australia/Lord_Howe"}},
		{"leapMonday_NewYork", Spec{CronExpressions: []string{"0 0 0 29 2 MON"}, TimeZone: "America/New_York"}},
		{"every_second_skip_weekends", Spec{CronExpressions: []string{"* * * * * ?"}, Skip: []Calendar{{DayOfWeek: []Range{{Start: 0}, {Start: 6}},
			Hour: []Range{{Start: 0, End: 23}}, Minute: []Range{{Start: 0, End: 59}}, Second: []Range{{Start: 0, End: 59}}}}, TimeZone: "Europe/London"}},
		{"interval", Spec{Intervals: []Interval{{Every: time.Hour, Offset: 15 * time.Minute}}}},
		{"calendar", Spec{Calendars: []Calendar{{Hour: []Range{{Start: 9}}, DayOfWeek: []Range{{Start: 1, End: 5}}}}, TimeZone: "Europe/London"}},
		{"calendar_interval", Spec{CalendarIntervals: []CalendarInterval{{Months: 1, TimeOfDay: "09:00", StartDate: "2020-01-31"}}, TimeZone: "Europe/London"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := Compile(bc.spec)
			if err != nil {
				b.Fatal(err)
			}
			base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				// Walk through a year in uneven steps, so every call works.
				c.Next(base.Add(time.Duration(i%8760)*time.Hour + time.Duration(i%60)*time.Minute))
				i++
			}
		})
	}
}

func BenchmarkCompile(b *testing.B) {
	s := Spec{
		CronExpressions: []string{"0 0 9 ? * MON-FRI", "0 0 12 ? * FRIL"},
		Intervals:       []Interval{{Every: time.Hour}},
		Skip:            []Calendar{{Month: []Range{{Start: 12}}, DayOfMonth: []Range{{Start: 25}}}},
		TimeZone:        "America/New_York",
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(s); err != nil {
			b.Fatal(err)
		}
	}
}

// TestNextDoesNotAllocate pins the zero-allocation Next for typical specs.
// Not parallel: testing.AllocsPerRun refuses to run in parallel tests.
func TestNextDoesNotAllocate(t *testing.T) {
	for _, s := range []Spec{
		{CronExpressions: []string{"0 */5 * * * ?"}},
		{CronExpressions: []string{"0 */5 * * * ?"}, TimeZone: "America/New_York"},
		{CronExpressions: []string{"0 0 12 ? * FRIL"}, TimeZone: "Australia/Lord_Howe"},
		{CalendarIntervals: []CalendarInterval{{Months: 1}}, Intervals: []Interval{{Every: time.Hour}}, TimeZone: "Europe/London"},
	} {
		c, err := Compile(s)
		if err != nil {
			t.Fatal(err)
		}
		after := time.Date(2026, 3, 7, 0, 0, 0, 0, time.UTC)
		if n := testing.AllocsPerRun(100, func() { after, _ = c.Next(after) }); n != 0 {
			t.Errorf("%s: %v allocations per Next", Summary(s), n)
		}
	}
}
