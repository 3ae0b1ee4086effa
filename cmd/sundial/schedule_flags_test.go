package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sundial-dev/sundial/schedule"
)

func TestParseIntervals(t *testing.T) {
	t.Parallel()
	got, err := parseIntervals([]string{"1h", "1h/15m", "90s"}, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	want := []schedule.Interval{{Every: time.Hour, Offset: 5 * time.Minute}, {Every: time.Hour, Offset: 15 * time.Minute}, {Every: 90 * time.Second, Offset: 5 * time.Minute}}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for _, bad := range []string{"", "soon", "1h/", "1h/x", "/5m"} {
		if _, err := parseIntervals([]string{bad}, 0); err == nil {
			t.Errorf("parseIntervals(%q): no error", bad)
		}
	}
}

func TestParseTimeFlag(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]time.Time{
		"now":                       now,
		"-2h":                       now.Add(-2 * time.Hour),
		"+30m":                      now.Add(30 * time.Minute),
		"2026-01-02T03:04:05Z":      time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		"2026-01-02T03:04:05+01:00": time.Date(2026, 1, 2, 2, 4, 5, 0, time.UTC),
		"2026-07-01":                time.Date(2026, 6, 30, 22, 0, 0, 0, time.UTC),
		"2026-07-01T09:30":          time.Date(2026, 7, 1, 7, 30, 0, 0, time.UTC),
	} {
		got, err := parseTimeFlag("start", in, paris, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseTimeFlag(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "tomorrow", "2h", "2026-13-01"} {
		if _, err := parseTimeFlag("start", bad, time.UTC, now); err == nil || !strings.Contains(err.Error(), "--start") {
			t.Errorf("parseTimeFlag(%q): %v, want an error naming --start", bad, err)
		}
	}

	// parseTimeFlags stores each instant in UTC, and the zero time for an
	// empty value.
	start, end := now, now
	if err := parseTimeFlags(paris, now, timeFlag{"start", "2026-07-01", &start}, timeFlag{"end", "", &end}); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 6, 30, 22, 0, 0, 0, time.UTC); !start.Equal(want) || start.Location() != time.UTC {
		t.Errorf("parseTimeFlags: start = %v, want %v in UTC", start, want)
	}
	if !end.IsZero() {
		t.Errorf("parseTimeFlags: an empty --end stored %v, want the zero time", end)
	}
	err = parseTimeFlags(time.UTC, now, timeFlag{"start", "now", &start}, timeFlag{"end", "soon", &end})
	wantUsageError(t, err, "--end")
}

func TestUnknownFields(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{`{"spec":{"cron_expressions":["@daily"]},"action":{"workflow_type":"w","task_queue":"q"}}`, nil},
		{`{"spec":{"cron_expresions":["@daily"]}}`, []string{"spec.cron_expresions"}},
		{`{"spec":{"intervals":[{"every":"1h","ofset":"5m"}]},"tagz":{"a":"b"}}`, []string{"spec.intervals[0].ofset", "tagz"}},
		// Empty values that omitempty drops are not reported.
		{`{"state":{"note":"","paused":false},"tags":{}}`, nil},
	} {
		var s schedule.Schedule
		if err := json.Unmarshal([]byte(tt.in), &s); err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if got := unknownFields([]byte(tt.in), s); !slices.Equal(got, tt.want) {
			t.Errorf("unknownFields(%s) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func FuzzParseIntervals(f *testing.F) {
	for _, s := range []string{"1h", "1h/15m", "90s/0s", "x", "1h/", "-1s/-1s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ivs, err := parseIntervals([]string{s}, 0)
		if err != nil {
			return
		}
		if len(ivs) != 1 {
			t.Fatalf("parseIntervals(%q) = %v, want one interval", s, ivs)
		}
		// What parsed prints back to something that parses to the same.
		again := ivs[0].Every.String() + "/" + ivs[0].Offset.String()
		ivs2, err := parseIntervals([]string{again}, 0)
		if err != nil || ivs2[0] != ivs[0] {
			t.Fatalf("%q -> %v -> %q -> %v, %v", s, ivs[0], again, ivs2, err)
		}
	})
}

func FuzzParseTimeFlag(f *testing.F) {
	for _, s := range []string{"now", "-2h", "2026-01-02", "2026-01-02T03:04:05Z", "2026-01-02 03:04", "+1"} {
		f.Add(s)
	}
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseTimeFlag("at", s, time.UTC, now)
		if err == nil && got.IsZero() && s != "0001-01-01" && !strings.HasPrefix(s, "0001-01-01") {
			t.Fatalf("parseTimeFlag(%q) accepted and returned the zero time", s)
		}
		if err != nil && !strings.Contains(err.Error(), "--at") {
			t.Fatalf("parseTimeFlag(%q): error %q does not name the flag", s, err)
		}
	})
}
