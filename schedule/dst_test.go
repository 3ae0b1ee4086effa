package schedule

import "testing"

// Transitions used below (tzdata, checkable with zdump):
//   America/New_York  2026-03-08 02:00 EST → 03:00 EDT; 2026-11-01 02:00 EDT → 01:00 EST
//   Europe/London     2026-03-29 01:00 GMT → 02:00 BST; 2026-10-25 02:00 BST → 01:00 GMT
//   Australia/Lord_Howe 2026-10-04 02:00 +10:30 → 02:30 +11; 2026-04-05 02:00 +11 → 01:30 +10:30
//   Asia/Kathmandu    +05:45 since 1986-01-01 00:00 +05:30 → 00:15 +05:45
//   Pacific/Apia      2011-12-29 24:00 -10 → 2011-12-31 00:00 +14 (30 Dec skipped);
//                     2012-04-01 04:00 +14 → 03:00 +13; 2012-09-30 03:00 +13 → 04:00 +14

func TestDSTSpringForward(t *testing.T) {
	t.Parallel()
	runSpecCases(t, []specCase{
		{"New York: a time in the gap fires once, shifted by the gap", cron("America/New_York", "30 2 * * *"), "2026-03-07T12:00:00Z",
			[]string{"2026-03-08T03:30:00-04:00", "2026-03-09T02:30:00-04:00"}},
		{"New York: equal instants fire once", cron("America/New_York", "0,30 2,3 * * *"), "2026-03-08T05:00:00Z",
			// 02:00→03:00 EDT and 02:30→03:30 EDT coincide with 03:00 and 03:30
			[]string{"2026-03-08T03:00:00-04:00", "2026-03-08T03:30:00-04:00", "2026-03-09T02:00:00-04:00"}},
		{"New York: hourly loses no real hour", cron("America/New_York", "0 * * * *"), "2026-03-08T05:30:00Z",
			[]string{"2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T04:00:00-04:00"}},
		{"New York: 6-field in the gap", cron("America/New_York", "0 15 2 ? * SUN"), "2026-03-01T12:00:00Z",
			[]string{"2026-03-08T03:15:00-04:00", "2026-03-15T02:15:00-04:00"}},
		{"London: 01:30 does not exist", cron("Europe/London", "30 1 * * *"), "2026-03-28T12:00:00Z",
			[]string{"2026-03-29T02:30:00+01:00", "2026-03-30T01:30:00+01:00"}},
		{"Lord Howe: 30-minute gap", cron("Australia/Lord_Howe", "15 2 * * *"), "2026-10-02T14:00:00Z",
			[]string{"2026-10-03T02:15:00+10:30", "2026-10-04T02:45:00+11:00", "2026-10-05T02:15:00+11:00"}},
		{"Lord Howe: shifted time ordered after a later real one", cron("Australia/Lord_Howe", "15,40 2 * * *"), "2026-10-03T13:30:00Z",
			// 02:40 exists (+11); 02:15 is in the gap and becomes 02:45, after it
			[]string{"2026-10-04T02:40:00+11:00", "2026-10-04T02:45:00+11:00", "2026-10-05T02:15:00+11:00"}},
		{"Kathmandu: 1986 quarter-hour gap", cron("Asia/Kathmandu", "10 0 * * *"), "1985-12-30T00:00:00Z",
			[]string{"1985-12-31T00:10:00+05:30", "1986-01-01T00:25:00+05:45", "1986-01-02T00:10:00+05:45"}},
		{"Apia: a skipped day fires once, merged with the next", cron("Pacific/Apia", "0 12 * * *"), "2011-12-29T10:00:00Z",
			// 30 Dec 12:00 shifted by the 24 h gap is 31 Dec 12:00, which fires anyway
			[]string{"2011-12-29T12:00:00-10:00", "2011-12-31T12:00:00+14:00", "2012-01-01T12:00:00+14:00"}},
		{"Apia: a time only on the skipped day still fires", cron("Pacific/Apia", "0 12 30 12 *"), "2011-12-01T00:00:00Z",
			[]string{"2011-12-31T12:00:00+14:00", "2012-12-30T12:00:00+14:00"}},
		{"Apia: DST gap", cron("Pacific/Apia", "30 3 * * *"), "2012-09-28T14:00:00Z",
			[]string{"2012-09-29T03:30:00+13:00", "2012-09-30T04:30:00+14:00", "2012-10-01T03:30:00+14:00"}},
		{"calendar interval in the gap", Spec{TimeZone: "America/New_York", CalendarIntervals: []CalendarInterval{{Days: 1, TimeOfDay: "02:30", StartDate: "2026-03-07"}}}, "2026-03-07T05:00:00Z",
			[]string{"2026-03-07T02:30:00-05:00", "2026-03-08T03:30:00-04:00", "2026-03-09T02:30:00-04:00"}},
		{"calendar in the gap", Spec{TimeZone: "Europe/London", Calendars: []Calendar{{Hour: []Range{{Start: 1}}, Minute: []Range{{Start: 30}}}}}, "2026-03-28T12:00:00Z",
			[]string{"2026-03-29T02:30:00+01:00", "2026-03-30T01:30:00+01:00"}},
	})
}

func TestDSTFallBack(t *testing.T) {
	t.Parallel()
	runSpecCases(t, []specCase{
		{"New York: ambiguous time fires once, first occurrence", cron("America/New_York", "30 1 * * *"), "2026-10-31T12:00:00Z",
			[]string{"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"}},
		{"New York: hour * fires both occurrences", cron("America/New_York", "30 * * * *"), "2026-11-01T04:00:00Z",
			[]string{"2026-11-01T00:30:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-01T01:30:00-05:00", "2026-11-01T02:30:00-05:00"}},
		{"New York: hour 0-23 is every hour too", cron("America/New_York", "0 0 0-23 * * ?"), "2026-11-01T04:30:00Z",
			[]string{"2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00", "2026-11-01T02:00:00-05:00"}},
		{"New York: restricted hours fire once", cron("America/New_York", "0 1-2 * * *"), "2026-11-01T04:00:00Z",
			[]string{"2026-11-01T01:00:00-04:00", "2026-11-01T02:00:00-05:00", "2026-11-02T01:00:00-05:00"}},
		{"New York: minutes within a restricted hour fire once", cron("America/New_York", "*/30 1 * * *"), "2026-11-01T04:00:00Z",
			[]string{"2026-11-01T01:00:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-02T01:00:00-05:00"}},
		{"London: ambiguous time fires once", cron("Europe/London", "30 1 * * *"), "2026-10-24T12:00:00Z",
			[]string{"2026-10-25T01:30:00+01:00", "2026-10-26T01:30:00Z"}},
		{"London: hour * fires both", cron("Europe/London", "15 * * * *"), "2026-10-24T23:00:00Z",
			[]string{"2026-10-25T00:15:00+01:00", "2026-10-25T01:15:00+01:00", "2026-10-25T01:15:00Z", "2026-10-25T02:15:00Z"}},
		{"Lord Howe: 30-minute overlap fires once", cron("Australia/Lord_Howe", "45 1 * * *"), "2026-04-04T01:00:00Z",
			[]string{"2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30"}},
		{"Lord Howe: hour * fires both", cron("Australia/Lord_Howe", "45 * * * *"), "2026-04-04T13:00:00Z",
			[]string{"2026-04-05T00:45:00+11:00", "2026-04-05T01:45:00+11:00", "2026-04-05T01:45:00+10:30", "2026-04-05T02:45:00+10:30"}},
		{"Apia: ambiguous time fires once", cron("Pacific/Apia", "30 3 * * *"), "2012-03-30T12:00:00Z",
			[]string{"2012-03-31T03:30:00+14:00", "2012-04-01T03:30:00+14:00", "2012-04-02T03:30:00+13:00"}},
		{"calendar interval in the overlap", Spec{TimeZone: "America/New_York", CalendarIntervals: []CalendarInterval{{Days: 1, TimeOfDay: "01:30", StartDate: "2026-10-31"}}}, "2026-10-31T00:00:00Z",
			[]string{"2026-10-31T01:30:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"}},
	})
}

func TestZonesWithoutDST(t *testing.T) {
	t.Parallel()
	runSpecCases(t, []specCase{
		{"Kathmandu +05:45", cron("Asia/Kathmandu", "0 9 * * *"), "2026-03-01T00:00:00Z",
			// 09:00 +05:45 is 03:15Z
			[]string{"2026-03-01T09:00:00+05:45", "2026-03-02T09:00:00+05:45"}},
		{"Kathmandu midnight is the previous UTC day", cron("Asia/Kathmandu", "0 0 * * *"), "2026-03-01T00:00:00Z",
			[]string{"2026-03-02T00:00:00+05:45"}},
		{"UTC ignores other zones' transitions", cron("UTC", "30 2 * * *"), "2026-03-08T00:00:00Z",
			[]string{"2026-03-08T02:30:00Z", "2026-03-09T02:30:00Z"}},
		{"UTC hourly through a New York change", cron("", "0 * * * *"), "2026-11-01T04:30:00Z",
			[]string{"2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z", "2026-11-01T07:00:00Z"}},
	})
	t.Run("Kathmandu offset", func(t *testing.T) {
		t.Parallel()
		c, err := Compile(cron("Asia/Kathmandu", "0 9 * * *"))
		if err != nil {
			t.Fatal(err)
		}
		n, _ := c.Next(mustTime(t, "2026-03-01T00:00:00Z"))
		if got := n.UTC().Format("15:04"); got != "03:15" {
			t.Errorf("09:00 Kathmandu = %s UTC, want 03:15", got)
		}
	})
}

func TestDSTYearLongSpans(t *testing.T) {
	t.Parallel()
	runSpecCases(t, []specCase{
		{"leap day in New York", cron("America/New_York", "0 0 0 29 2 ?"), "2026-03-01T00:00:00Z",
			[]string{"2028-02-29T00:00:00-05:00", "2032-02-29T00:00:00-05:00"}},
		{"yearly date that lands in the gap once", cron("America/New_York", "0 30 2 8 3 ?"), "2025-06-01T00:00:00Z",
			// DST starts 8 Mar 2026, 14 Mar 2027, 12 Mar 2028
			[]string{"2026-03-08T03:30:00-04:00", "2027-03-08T02:30:00-05:00", "2028-03-08T02:30:00-05:00"}},
		{"yearly date in the overlap", cron("Europe/London", "0 30 1 25 10 ?"), "2025-11-01T00:00:00Z",
			// 25 Oct 2026 is the fall-back day; 25 Oct 2027 is BST
			[]string{"2026-10-25T01:30:00+01:00", "2027-10-25T01:30:00+01:00"}},
		{"far year in Lord Howe", cron("Australia/Lord_Howe", "0 0 12 1 1 ? 2099"), "2026-03-01T00:00:00Z",
			[]string{"2099-01-01T12:00:00+11:00", "none"}},
	})
}
