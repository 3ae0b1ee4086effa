package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sundial-dev/sundial/schedule"
)

func init() { register("spec", newSpecCmd) }

// newSpecCmd builds `sundial spec`, which checks specs offline.
func newSpecCmd(m *Main) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "spec",
		Short: "Check schedule specs offline",
	}
	cmd.AddCommand(newSpecNextCmd(m))
	return cmd
}

// specNextOptions are the flags of `sundial spec next`.
type specNextOptions struct {
	crons     []string
	intervals []string
	offsets   []string
	at        []string
	tz        string
	after     string
	count     int
	specFile  string
	output    string
}

func newSpecNextCmd(m *Main) *cobra.Command {
	var o specNextOptions
	cmd := &cobra.Command{
		Use:   "next",
		Short: "Print the next nominal fire times of a spec",
		Long: `Print the next nominal fire times of a spec, to check it before saving it.

The spec is the union of every --cron, --interval and --at given, plus the
spec read from --spec (JSON, with the proto's snake_case field names and
durations such as "1h30m").`,
		Example: `  sundial spec next --cron '0 0 9 ? * MON-FRI' --tz America/New_York --after 2026-03-01T00:00:00Z --count 5
  sundial spec next --interval 1h --offset 15m --count 3
  sundial spec next --spec spec.json --count 10 --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSpecNext(m, cmd.OutOrStdout(), o)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.crons, "cron", nil, "cron expression (5, 6 or 7 fields, or a macro); repeatable")
	f.StringArrayVar(&o.intervals, "interval", nil, "fire every this duration, aligned to the Unix epoch (1h, 90s); repeatable")
	f.StringArrayVar(&o.offsets, "offset", nil, "offset of the --interval at the same position (15m); repeatable")
	f.StringArrayVar(&o.at, "at", nil, "one-shot time, RFC 3339 (2026-03-01T09:00:00Z); repeatable")
	f.StringVar(&o.tz, "tz", "", "IANA time zone of the spec (default UTC, or the spec file's time_zone)")
	f.StringVar(&o.after, "after", "", "list times strictly after this RFC 3339 instant (default now)")
	f.IntVar(&o.count, "count", 10, "how many times to print")
	f.StringVar(&o.specFile, "spec", "", "read the spec as JSON from this file ('-' for stdin)")
	f.StringVar(&o.output, "output", "table", "output format: table or json")
	return cmd
}

func runSpecNext(m *Main, out io.Writer, o specNextOptions) error {
	if o.output != "table" && o.output != "json" {
		return usageErrorf("--output must be table or json, got %q", o.output)
	}
	if o.count < 1 || o.count > 10000 {
		return usageErrorf("--count must be between 1 and 10000, got %d", o.count)
	}
	spec, err := buildSpec(m, o)
	if err != nil {
		return err
	}
	after := time.Now()
	if o.after != "" {
		if after, err = time.Parse(time.RFC3339, o.after); err != nil {
			return usageErrorf("--after: %q is not an RFC 3339 time (write 2026-03-01T00:00:00Z)", o.after)
		}
	}
	c, err := schedule.Compile(spec)
	if err != nil {
		return &UsageError{Err: fmt.Errorf("invalid spec: %w", err)}
	}
	times := make([]time.Time, 0, o.count)
	for t, ok := c.Next(after); ok && len(times) < o.count; t, ok = c.Next(t) {
		times = append(times, t)
	}
	if o.output == "json" {
		return writeTimesJSON(out, times)
	}
	return writeTimesTable(out, c.Location(), times)
}

// buildSpec merges the --spec file with the other flags.
func buildSpec(m *Main, o specNextOptions) (schedule.Spec, error) {
	var spec schedule.Spec
	if o.specFile != "" {
		var b []byte
		var err error
		if o.specFile == "-" {
			if m.Stdin == nil {
				return spec, usageErrorf("--spec -: no standard input")
			}
			b, err = io.ReadAll(m.Stdin)
		} else {
			b, err = os.ReadFile(o.specFile)
		}
		if err != nil {
			return spec, usageErrorf("--spec: %v", err)
		}
		if err := json.Unmarshal(b, &spec); err != nil {
			return spec, usageErrorf("--spec %s: invalid JSON spec: %v", o.specFile, err)
		}
		if err := checkSpecFields(b); err != nil {
			return spec, usageErrorf("--spec %s: %v", o.specFile, err)
		}
	}
	spec.CronExpressions = append(spec.CronExpressions, o.crons...)
	if len(o.offsets) > len(o.intervals) {
		return spec, usageErrorf("--offset given %d times but --interval only %d (each --offset goes with the --interval at the same position)", len(o.offsets), len(o.intervals))
	}
	for i, s := range o.intervals {
		every, err := time.ParseDuration(s)
		if err != nil {
			return spec, usageErrorf("--interval: %q is not a duration (write 1h30m)", s)
		}
		iv := schedule.Interval{Every: every}
		if i < len(o.offsets) {
			if iv.Offset, err = time.ParseDuration(o.offsets[i]); err != nil {
				return spec, usageErrorf("--offset: %q is not a duration (write 15m)", o.offsets[i])
			}
		}
		spec.Intervals = append(spec.Intervals, iv)
	}
	for _, s := range o.at {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return spec, usageErrorf("--at: %q is not an RFC 3339 time (write 2026-03-01T09:00:00Z)", s)
		}
		spec.At = append(spec.At, t)
	}
	if o.tz != "" {
		spec.TimeZone = o.tz
	}
	return spec, nil
}

// checkSpecFields rejects top-level keys that are not Spec fields, such as
// protojson's camelCase names, which would otherwise be ignored silently.
func checkSpecFields(b []byte) error {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		return err
	}
	known := map[string]bool{}
	st := reflect.TypeFor[schedule.Spec]()
	for i := range st.NumField() {
		name, _, _ := strings.Cut(st.Field(i).Tag.Get("json"), ",")
		known[name] = true
	}
	for k := range keys {
		if !known[k] {
			names := make([]string, 0, len(known))
			for n := range known {
				names = append(names, n)
			}
			sort.Strings(names)
			return fmt.Errorf("unknown field %q (spec fields are %s)", k, strings.Join(names, ", "))
		}
	}
	return nil
}

// writeTimesJSON prints {"times": ["RFC 3339 UTC", ...]}: a stable format
// other tools read.
func writeTimesJSON(out io.Writer, times []time.Time) error {
	v := struct {
		Times []string `json:"times"`
	}{Times: make([]string, 0, len(times))}
	for _, t := range times {
		v.Times = append(v.Times, t.UTC().Format(time.RFC3339))
	}
	enc := json.NewEncoder(out)
	return enc.Encode(v)
}

// writeTimesTable prints each time in the spec's zone and in UTC.
func writeTimesTable(out io.Writer, loc *time.Location, times []time.Time) error {
	if len(times) == 0 {
		_, err := fmt.Fprintln(out, "no upcoming times")
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "#\tLOCAL (%s)\tUTC\n", loc)
	for i, t := range times {
		fmt.Fprintf(tw, "%d\t%s\t%s\n", i+1, t.In(loc).Format("Mon 2006-01-02 15:04:05 MST"), t.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}
