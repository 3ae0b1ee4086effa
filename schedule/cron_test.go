package schedule

import (
	"testing"
)

// Calendar facts used below (derived by hand, checkable on any calendar):
// 2026-03-01 is a Sunday; the 1st of the month is a Sunday in Feb, Mar and
// Nov 2026; 2027-08-01 is a Sunday; 2028 is a leap year.

func TestCronDialects(t *testing.T) {
	t.Parallel()
	const after = "2026-03-01T00:00:00Z"
	runSpecCases(t, []specCase{
		{"5-field basic", cron("", "30 9 * * *"), after,
			[]string{"2026-03-01T09:30:00Z", "2026-03-02T09:30:00Z", "2026-03-03T09:30:00Z"}},
		{"5-field dom or dow when both restricted", cron("", "0 0 13 * FRI"), "2026-04-01T00:00:00Z",
			[]string{"2026-04-03T00:00:00Z", "2026-04-10T00:00:00Z", "2026-04-13T00:00:00Z", "2026-04-17T00:00:00Z"}},
		{"5-field star dom means dow only", cron("", "0 0 * * MON"), after,
			[]string{"2026-03-02T00:00:00Z", "2026-03-09T00:00:00Z"}},
		{"5-field */2 restricts dom, so OR (as robfig and Kubernetes)", cron("", "0 0 */2 * MON"), after,
			// odd days or Mondays
			[]string{"2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z", "2026-03-05T00:00:00Z", "2026-03-07T00:00:00Z", "2026-03-09T00:00:00Z", "2026-03-11T00:00:00Z"}},
		{"5-field * in a dom list means unrestricted, so AND", cron("", "0 0 *,5 * MON"), after,
			[]string{"2026-03-02T00:00:00Z", "2026-03-09T00:00:00Z"}},
		{"6-field both restricted means both (Friday 13th)", cron("", "0 0 0 13 * FRI"), after,
			[]string{"2026-03-13T00:00:00Z", "2026-11-13T00:00:00Z", "2027-08-13T00:00:00Z"}},
		{"6-field seconds", cron("", "*/15 * * * * ?"), after,
			[]string{"2026-03-01T00:00:15Z", "2026-03-01T00:00:30Z", "2026-03-01T00:00:45Z", "2026-03-01T00:01:00Z"}},
		{"7-field year", cron("", "0 0 0 1 1 ? 2030"), after,
			[]string{"2030-01-01T00:00:00Z", "none"}},
		{"7-field year list and step", cron("", "0 0 0 1 1 ? 2027,2030/5"), after,
			[]string{"2027-01-01T00:00:00Z", "2030-01-01T00:00:00Z", "2035-01-01T00:00:00Z"}},
		{"names are case-insensitive", cron("", "0 0 9 ? jan-Mar mon"), after,
			[]string{"2026-03-02T09:00:00Z", "2026-03-09T09:00:00Z", "2026-03-16T09:00:00Z", "2026-03-23T09:00:00Z", "2026-03-30T09:00:00Z", "2027-01-04T09:00:00Z"}},
		{"day of week 7 is Sunday", cron("", "0 0 * * 7"), after,
			[]string{"2026-03-08T00:00:00Z", "2026-03-15T00:00:00Z"}},
		{"day of week 0 is Sunday", cron("", "0 0 * * 0"), after,
			[]string{"2026-03-08T00:00:00Z", "2026-03-15T00:00:00Z"}},
		{"day-of-week range ending at 7", cron("", "0 12 * * 5-7"), "2026-03-02T00:00:00Z",
			[]string{"2026-03-06T12:00:00Z", "2026-03-07T12:00:00Z", "2026-03-08T12:00:00Z", "2026-03-13T12:00:00Z"}},
		{"strictly after", cron("", "0 0 * * *"), after,
			[]string{"2026-03-02T00:00:00Z"}},
		{"sub-second after truncates", cron("", "* * * * * ?"), "2026-03-01T00:00:00.5Z",
			[]string{"2026-03-01T00:00:01Z", "2026-03-01T00:00:02Z"}},
		{"steps and ranges", cron("", "10-50/20 * * * *"), after,
			[]string{"2026-03-01T00:10:00Z", "2026-03-01T00:30:00Z", "2026-03-01T00:50:00Z", "2026-03-01T01:10:00Z"}},
		{"start with step runs to the end", cron("", "0 18/2 * * *"), after,
			[]string{"2026-03-01T18:00:00Z", "2026-03-01T20:00:00Z", "2026-03-01T22:00:00Z", "2026-03-02T18:00:00Z"}},
		{"lists", cron("", "0 0 1,15 * *"), after,
			[]string{"2026-03-15T00:00:00Z", "2026-04-01T00:00:00Z", "2026-04-15T00:00:00Z"}},
	})
}

func TestCronExtensions(t *testing.T) {
	t.Parallel()
	const after = "2026-03-01T00:00:00Z"
	runSpecCases(t, []specCase{
		{"L last day of month", cron("", "0 0 0 L * ?"), "2026-01-15T00:00:00Z",
			[]string{"2026-01-31T00:00:00Z", "2026-02-28T00:00:00Z", "2026-03-31T00:00:00Z", "2026-04-30T00:00:00Z"}},
		{"L in a leap February", cron("", "0 0 0 L 2 ?"), "2027-06-01T00:00:00Z",
			[]string{"2028-02-29T00:00:00Z", "2029-02-28T00:00:00Z"}},
		{"L-2", cron("", "0 0 0 L-2 * ?"), after,
			[]string{"2026-03-29T00:00:00Z", "2026-04-28T00:00:00Z", "2026-05-29T00:00:00Z"}},
		{"15W nearest weekday", cron("", "0 0 0 15W * ?"), after,
			// 15 Mar is a Sunday: Monday 16; 15 Apr is a Wednesday; 15 May a Friday
			[]string{"2026-03-16T00:00:00Z", "2026-04-15T00:00:00Z", "2026-05-15T00:00:00Z"}},
		{"15W on a Saturday moves to Friday", cron("", "0 0 0 15W 8 ?"), after,
			// 1 Aug 2026 is a Saturday, so the 15th is too
			[]string{"2026-08-14T00:00:00Z"}},
		{"1W on a Saturday stays in the month", cron("", "0 0 0 1W * ?"), "2026-07-15T00:00:00Z",
			[]string{"2026-08-03T00:00:00Z", "2026-09-01T00:00:00Z"}},
		{"31W on a Sunday stays in the month", cron("", "0 0 0 31W * ?"), "2026-05-01T00:00:00Z",
			// 31 May 2026 is a Sunday: Friday 29; June has no 31st; 31 Jul is a Friday
			[]string{"2026-05-29T00:00:00Z", "2026-07-31T00:00:00Z"}},
		{"LW last weekday", cron("", "0 0 0 LW * ?"), "2026-02-01T00:00:00Z",
			[]string{"2026-02-27T00:00:00Z", "2026-03-31T00:00:00Z", "2026-04-30T00:00:00Z", "2026-05-29T00:00:00Z"}},
		{"FRIL last Friday", cron("", "0 0 12 ? * FRIL"), after,
			[]string{"2026-03-27T12:00:00Z", "2026-04-24T12:00:00Z", "2026-05-29T12:00:00Z"}},
		{"5L last Friday", cron("", "0 0 12 ? * 5L"), after,
			[]string{"2026-03-27T12:00:00Z", "2026-04-24T12:00:00Z", "2026-05-29T12:00:00Z"}},
		{"FRI#3 third Friday", cron("", "0 0 0 ? * FRI#3"), after,
			[]string{"2026-03-20T00:00:00Z", "2026-04-17T00:00:00Z", "2026-05-15T00:00:00Z"}},
		{"1#5 fifth Monday skips months without one", cron("", "0 0 0 ? * 1#5"), after,
			[]string{"2026-03-30T00:00:00Z", "2026-06-29T00:00:00Z"}},
		{"leap day", cron("", "0 0 0 29 2 ?"), after,
			[]string{"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}},
		{"leap day skips 2100", cron("", "0 0 0 29 2 ?"), "2096-03-01T00:00:00Z",
			[]string{"2104-02-29T00:00:00Z"}},
		{"L alone in day-of-week is Saturday (Quartz)", cron("", "0 0 0 ? * L"), after,
			[]string{"2026-03-07T00:00:00Z", "2026-03-14T00:00:00Z"}},
		{"L and a day in one list", cron("", "0 0 0 1,L * ?"), "2026-02-15T00:00:00Z",
			[]string{"2026-02-28T00:00:00Z", "2026-03-01T00:00:00Z", "2026-03-31T00:00:00Z"}},
		{"year * is every year", cron("", "0 0 0 1 1 ? *"), after,
			[]string{"2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"}},
		{"extensions in 5 fields", cron("", "0 9 L * *"), after,
			[]string{"2026-03-31T09:00:00Z"}},
	})
}

func TestCronMacros(t *testing.T) {
	t.Parallel()
	const after = "2026-03-01T00:00:00Z"
	runSpecCases(t, []specCase{
		{"@yearly", cron("", "@yearly"), after, []string{"2027-01-01T00:00:00Z"}},
		{"@annually", cron("", "@annually"), after, []string{"2027-01-01T00:00:00Z"}},
		{"@monthly", cron("", "@monthly"), after, []string{"2026-04-01T00:00:00Z"}},
		{"@weekly", cron("", "@weekly"), after, []string{"2026-03-08T00:00:00Z"}},
		{"@daily", cron("", "@daily"), after, []string{"2026-03-02T00:00:00Z"}},
		{"@midnight", cron("", "@midnight"), after, []string{"2026-03-02T00:00:00Z"}},
		{"@hourly", cron("", "@hourly"), after, []string{"2026-03-01T01:00:00Z", "2026-03-01T02:00:00Z"}},
		{"macros are case-insensitive", cron("", "@Daily"), after, []string{"2026-03-02T00:00:00Z"}},
		// 2026-03-01T00:00Z is 20513 days after the epoch, a multiple of 90 min.
		{"@every is aligned to the epoch", cron("", "@every 90m"), "2026-03-01T00:10:00Z",
			[]string{"2026-03-01T01:30:00Z", "2026-03-01T03:00:00Z"}},
		{"@every ignores the zone", cron("America/New_York", "@every 1h"), "2026-03-08T05:30:00Z",
			// 06:00Z is 01:00 EST, 07:00Z is 03:00 EDT: real hours, no gap
			[]string{"2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T04:00:00-04:00"}},
	})
}

func TestCronZonePrefix(t *testing.T) {
	t.Parallel()
	runSpecCases(t, []specCase{
		{"CRON_TZ sets the zone", cron("", "CRON_TZ=America/New_York 0 9 * * *"), "2026-03-01T00:00:00Z",
			[]string{"2026-03-01T09:00:00-05:00"}},
		{"TZ sets the zone", cron("", "TZ=Asia/Kathmandu 0 9 * * *"), "2026-03-01T00:00:00Z",
			[]string{"2026-03-01T09:00:00+05:45"}},
		{"prefix equal to time_zone", cron("Europe/London", "CRON_TZ=Europe/London 0 9 * * *", "0 10 * * *"), "2026-03-01T00:00:00Z",
			[]string{"2026-03-01T09:00:00Z", "2026-03-01T10:00:00Z"}},
	})
	t.Run("Location and Spec report the prefix zone", func(t *testing.T) {
		t.Parallel()
		c, err := Compile(cron("", " CRON_TZ=Asia/Kathmandu 0 9 * * * "))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Location().String(); got != "Asia/Kathmandu" {
			t.Errorf("Location = %s", got)
		}
		s := c.Spec()
		if s.TimeZone != "Asia/Kathmandu" || s.CronExpressions[0] != "CRON_TZ=Asia/Kathmandu 0 9 * * *" {
			t.Errorf("Spec() = %+v", s)
		}
	})
}

func TestCronErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		spec Spec
		want string
	}{
		{"day of week out of range", cron("", "0 0 9 * * *", "0 0 0 ? * 8"), "cron_expressions[1]: day-of-week: 8 is out of range 0-7"},
		{"minute out of range", cron("", "61 * * * *"), "cron_expressions[0]: minute: 61 is out of range 0-59"},
		{"second out of range", cron("", "60 * * * * ?"), "cron_expressions[0]: second: 60 is out of range 0-59"},
		{"month name unknown", cron("", "0 0 1 FOO *"), `cron_expressions[0]: month: "FOO" is not a number or a month name (JAN-DEC)`},
		{"too few fields", cron("", "* * * *"), "cron_expressions[0]: expected 5 fields (min hour dom month dow), 6 (sec ...) or 7 (sec ... year), got 4"},
		{"too many fields", cron("", "0 0 0 * * ? 2030 x"), "cron_expressions[0]: expected 5 fields (min hour dom month dow), 6 (sec ...) or 7 (sec ... year), got 8"},
		{"empty", cron("", "  "), "cron_expressions[0]: empty cron expression"},
		{"question mark in minute", cron("", "? * * * *"), "cron_expressions[0]: minute: ? is only allowed in day-of-month and day-of-week (use *)"},
		{"backwards range", cron("", "0 5-1 * * *"), "cron_expressions[0]: hour: range 5-1 runs backwards (write 1-5 or a list)"},
		{"zero step", cron("", "*/0 * * * *"), `cron_expressions[0]: minute: step "0" must be a positive number`},
		{"year out of range", cron("", "0 0 0 1 1 ? 1969"), "cron_expressions[0]: year: 1969 is out of range 1970-2199"},
		{"n#k with k 6", cron("", "0 0 0 ? * FRI#6"), `cron_expressions[0]: day-of-week: "FRI#6": n#k needs k in 1-5 (write FRI#3)`},
		{"32W", cron("", "0 0 0 32W * ?"), `cron_expressions[0]: day-of-month: "32W": nW needs a day 1-31 (write 15W)`},
		{"never fires", cron("", "0 0 0 30 2 ?"), "cron_expressions[0]: can never fire (no date matches: check day-of-month against month, e.g. 30 February)"},
		{"never fires: 31 April", cron("", "0 0 31 4 *"), "cron_expressions[0]: can never fire (no date matches: check day-of-month against month, e.g. 30 February)"},
		{"unknown macro", cron("", "@fortnightly"), `cron_expressions[0]: unknown macro "@fortnightly" (use @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every <duration>)`},
		{"@every too short", cron("", "@every 500ms"), "cron_expressions[0]: @every: must be at least 1s, got 500ms"},
		{"@every not a duration", cron("", "@every often"), `cron_expressions[0]: @every: invalid duration "often" (write @every 1h30m)`},
		{"unknown prefix zone", cron("", "CRON_TZ=Mars/Olympus 0 0 * * *"), `cron_expressions[0]: unknown time zone "Mars/Olympus" (use an IANA name such as "America/New_York")`},
		{"prefix conflicts with time_zone", cron("Europe/London", "CRON_TZ=America/New_York 0 0 * * *"), "cron_expressions[0]: zone America/New_York conflicts with time_zone Europe/London (a spec has one time zone)"},
		{"prefixes conflict", cron("", "CRON_TZ=America/New_York 0 0 * * *", "TZ=Europe/London 0 0 * * *"), "cron_expressions[1]: zone Europe/London conflicts with America/New_York in cron_expressions[0] (a spec has one time zone)"},
		{"prefix without expression", cron("", "CRON_TZ=UTC"), "cron_expressions[0]: missing expression after CRON_TZ= (write CRON_TZ=Europe/London 0 9 * * *)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Compile(tc.spec)
			if err == nil {
				t.Fatalf("Compile(%q) succeeded", tc.spec.CronExpressions)
			}
			asError(t, err)
			if err.Error() != tc.want {
				t.Errorf("error\n got  %s\n want %s", err, tc.want)
			}
		})
	}
}

func TestErrorWithPrefix(t *testing.T) {
	t.Parallel()
	_, err := Compile(cron("", "0 0 9 * * *", "0 0 0 ? * 8"))
	e := asError(t, err).WithPrefix("spec")
	if want := "spec.cron_expressions[1]: day-of-week: 8 is out of range 0-7"; e.Error() != want {
		t.Errorf("got %s, want %s", e, want)
	}
}
