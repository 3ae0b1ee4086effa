package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runSpec runs `sundial spec next args...` in-process.
func runSpec(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	m := &Main{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut}
	err = m.Run(context.Background(), append([]string{"spec", "next"}, args...))
	return out.String(), errOut.String(), err
}

func jsonTimes(t *testing.T, out string) []string {
	t.Helper()
	var v struct {
		Times []string `json:"times"`
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("output %q is not {\"times\": [...]}: %v", out, err)
	}
	return v.Times
}

func TestSpecNextJSON(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	specFile := filepath.Join(dir, "spec.json")
	if err := os.WriteFile(specFile, []byte(`{"intervals":[{"every":"3600s","offset":"15m"}],"time_zone":"Asia/Kathmandu"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		want  []string
	}{
		{"cron in New York across spring forward",
			"", []string{"--cron", "0 0 9 ? * MON-FRI", "--tz", "America/New_York", "--after", "2026-03-05T00:00:00Z", "--count", "3"},
			// Thu 5, Fri 6 (EST, 14:00Z), Mon 9 (EDT, 13:00Z)
			[]string{"2026-03-05T14:00:00Z", "2026-03-06T14:00:00Z", "2026-03-09T13:00:00Z"}},
		{"interval with offset",
			"", []string{"--interval", "1h", "--offset", "15m", "--after", "2026-03-01T00:00:00Z", "--count", "3"},
			[]string{"2026-03-01T00:15:00Z", "2026-03-01T01:15:00Z", "2026-03-01T02:15:00Z"}},
		{"repeated flags make a union",
			"", []string{"--cron", "0 9 * * *", "--cron", "0 21 * * *", "--at", "2026-03-01T12:00:00Z", "--interval", "24h", "--after", "2026-03-01T00:00:00Z", "--count", "5"},
			[]string{"2026-03-01T09:00:00Z", "2026-03-01T12:00:00Z", "2026-03-01T21:00:00Z", "2026-03-02T00:00:00Z", "2026-03-02T09:00:00Z"}},
		{"spec file",
			"", []string{"--spec", specFile, "--after", "2026-03-01T00:00:00Z", "--count", "2"},
			[]string{"2026-03-01T00:15:00Z", "2026-03-01T01:15:00Z"}},
		{"spec on stdin",
			`{"cron_expressions":["0 0 12 ? * FRIL"]}`, []string{"--spec", "-", "--after", "2026-03-01T00:00:00Z", "--count", "2"},
			[]string{"2026-03-27T12:00:00Z", "2026-04-24T12:00:00Z"}},
		{"fewer times than count",
			"", []string{"--at", "2026-03-02T00:00:00Z", "--after", "2026-03-01T00:00:00Z", "--count", "3"},
			[]string{"2026-03-02T00:00:00Z"}},
		{"no times",
			"", []string{"--at", "2026-03-02T00:00:00Z", "--after", "2026-04-01T00:00:00Z"},
			[]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, _, err := runSpec(t, tc.stdin, append(tc.args, "--output", "json")...)
			if err != nil {
				t.Fatal(err)
			}
			got := jsonTimes(t, out)
			if strings.Join(got, ",") != strings.Join(tc.want, ",") || got == nil {
				t.Errorf("times = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSpecNextTable(t *testing.T) {
	t.Parallel()
	out, _, err := runSpec(t, "", "--cron", "30 2 * * *", "--tz", "America/New_York", "--after", "2026-03-07T12:00:00Z", "--count", "2")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"America/New_York",
		"Sun 2026-03-08 03:30:00 EDT", "2026-03-08T07:30:00Z",
		"Mon 2026-03-09 02:30:00 EDT", "2026-03-09T06:30:00Z",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if lines := strings.Count(out, "\n"); lines != 3 {
		t.Errorf("%d lines, want a header and 2 rows:\n%s", lines, out)
	}
}

func TestSpecNextErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		args  []string
		want  string
		stdin string // for --spec -
	}{
		{"invalid cron", []string{"--cron", "0 0 0 ? * 8"}, "cron_expressions[0]: day-of-week: 8 is out of range 0-7", ""},
		{"never fires", []string{"--cron", "0 0 0 30 2 ?"}, "can never fire", ""},
		{"unknown zone", []string{"--cron", "@daily", "--tz", "Mars/Olympus"}, `time_zone: unknown time zone "Mars/Olympus"`, ""},
		{"bad interval", []string{"--interval", "often"}, `--interval: "often" is not a duration`, ""},
		{"offset without interval", []string{"--offset", "5m"}, "--offset given 1 times but --interval only 0", ""},
		{"offset too large", []string{"--interval", "1h", "--offset", "2h"}, "intervals[0].offset", ""},
		{"bad at", []string{"--at", "tomorrow"}, `--at: "tomorrow" is not an RFC 3339 time`, ""},
		{"bad after", []string{"--cron", "@daily", "--after", "2026-03-01"}, "--after", ""},
		{"bad output", []string{"--cron", "@daily", "--output", "yaml"}, "--output must be table or json", ""},
		{"bad count", []string{"--cron", "@daily", "--count", "0"}, "--count must be between 1 and 10000", ""},
		{"empty spec", nil, "spec never fires", ""},
		{"camelCase spec field", []string{"--spec", "-"}, `unknown field "cronExpressions" (spec fields are at, calendar_intervals, calendars, cron_expressions, end_time, intervals, jitter, skip, start_time, time_zone)`,
			`{"cronExpressions":["@daily"]}`},
		{"bad duration in spec file", []string{"--spec", "-"}, `invalid duration "soon"`, `{"jitter":"soon"}`},
		{"spec file not JSON", []string{"--spec", "-"}, "invalid JSON spec", `cron: "@daily"`},
		{"missing spec file", []string{"--spec", "/nonexistent/spec.json"}, "--spec", ""},
		{"unknown flag", []string{"--crон", "x"}, "unknown flag", ""},
		{"stray argument", []string{"--cron", "@daily", "extra"}, "unknown command", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, _, err := runSpec(t, tc.stdin, tc.args...)
			if err == nil {
				t.Fatalf("no error; output:\n%s", out)
			}
			var u *UsageError
			if !errors.As(err, &u) {
				t.Errorf("error %v is %T, not a *UsageError (exit 2)", err, err)
			}
			var ebuf bytes.Buffer
			if code := exitCode(&ebuf, err); code != 2 {
				t.Errorf("exit code %d, want 2", code)
			}
			if !strings.Contains(ebuf.String(), tc.want) {
				t.Errorf("stderr %q does not contain %q", ebuf.String(), tc.want)
			}
		})
	}
}
