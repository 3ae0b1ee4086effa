package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sundial-dev/sundial/client"
	"github.com/sundial-dev/sundial/schedule"
)

// clientFlags are the flags every command that talks to a server shares:
// where the server is, which namespace, and how to print results. They are
// persistent flags of the parent command (schedule, workflow).
type clientFlags struct {
	m         *Main
	address   string
	namespace string
	output    string
}

// clientFlagsHelp ends the long help of every command group whose
// subcommands talk to a server.
const clientFlagsHelp = "Every subcommand takes --address (env SUNDIAL_ADDRESS, default " + client.DefaultAddress + "),\n" +
	"--namespace (env SUNDIAL_NAMESPACE, default " + client.DefaultNamespace + ") and --output text|json."

// newClientGroup builds a parent command (schedule, workflow) whose
// subcommands talk to a server: it carries the shared flags, and its long
// help is long followed by a paragraph on them.
func newClientGroup(m *Main, use, short, long string) (*cobra.Command, *clientFlags) {
	cmd := &cobra.Command{Use: use, Short: short, Long: long + "\n\n" + clientFlagsHelp}
	return cmd, addClientFlags(m, cmd)
}

// addClientFlags registers the shared flags on parent, with defaults from
// SUNDIAL_ADDRESS and SUNDIAL_NAMESPACE.
func addClientFlags(m *Main, parent *cobra.Command) *clientFlags {
	f := &clientFlags{m: m}
	addr := m.getenv("SUNDIAL_ADDRESS")
	if addr == "" {
		addr = client.DefaultAddress
	}
	ns := m.getenv("SUNDIAL_NAMESPACE")
	if ns == "" {
		ns = client.DefaultNamespace
	}
	pf := parent.PersistentFlags()
	pf.StringVar(&f.address, "address", addr, "server address (env SUNDIAL_ADDRESS)")
	pf.StringVar(&f.namespace, "namespace", ns, "namespace (env SUNDIAL_NAMESPACE)")
	pf.StringVarP(&f.output, "output", "o", "text", "output format: text or json")
	parent.PersistentPreRunE = func(*cobra.Command, []string) error {
		if f.output != "text" && f.output != "json" {
			return usageErrorf("--output %q: use text or json", f.output)
		}
		return nil
	}
	return f
}

// json reports whether the user asked for JSON output.
func (f *clientFlags) json() bool { return f.output == "json" }

// dial connects to the server; a server that does not answer is an error
// that says how to start one.
func (f *clientFlags) dial(ctx context.Context) (*client.Client, error) {
	c, err := client.Dial(ctx, client.Options{Address: f.address, Namespace: f.namespace, Identity: "sundial-cli"})
	if err != nil {
		if ce := (*client.Error)(nil); errors.As(err, &ce) && ce.Field == "address" {
			return nil, &UsageError{Err: fmt.Errorf("--address: %w", err)}
		}
		return nil, fmt.Errorf("%w (set --address or SUNDIAL_ADDRESS)", err)
	}
	return c, nil
}

// withClient dials the server, calls call with the command's context and the
// client, and closes the client.
func (f *clientFlags) withClient(cmd *cobra.Command, call func(ctx context.Context, c *client.Client) error) error {
	ctx := cmd.Context()
	c, err := f.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return call(ctx, c)
}

// outputf prints v as JSON with --output json, and otherwise the text that
// format and args make.
func (f *clientFlags) outputf(w io.Writer, v any, format string, args ...any) error {
	if f.json() {
		return writeJSON(w, v)
	}
	fmt.Fprintf(w, format, args...)
	return nil
}

// collect gathers what seq yields, at most limit items (0: all), into a
// slice that is never nil, so JSON prints [] rather than null. An error ends
// it, turned by callError into what the user sees about what.
func collect[T any](seq iter.Seq2[T, error], limit int, what string) ([]T, error) {
	out := []T{}
	for v, err := range seq {
		if err != nil {
			return nil, callError(err, what)
		}
		out = append(out, v)
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	return out, nil
}

// newTable returns a writer that aligns tab-separated columns on out; call
// Flush when done.
func newTable(out io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
}

// writeTable prints header, then one line per row as line formats it, in
// aligned columns.
func writeTable[T any](out io.Writer, header string, rows []T, line func(T) string) error {
	w := newTable(out)
	fmt.Fprintln(w, header)
	for _, r := range rows {
		fmt.Fprintln(w, line(r))
	}
	return w.Flush()
}

// callError turns a client error into what the user sees: bad input the
// server refused is a usage error (exit 2); a missing object says how to
// find the right one.
func callError(err error, what string) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, client.ErrInvalidArgument):
		return &UsageError{Err: err}
	case errors.Is(err, client.ErrNotFound):
		return fmt.Errorf("%s not found (check the id and --namespace)", what)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: the server did not answer in time: %w", what, err)
	}
	return err
}

// writeJSON prints v as indented JSON followed by a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// parseTimeFlag reads an instant: RFC 3339, "2006-01-02T15:04:05" or
// "2006-01-02" (in loc), "now", or a duration relative to now ("-2h", "+30m").
func parseTimeFlag(name, s string, loc *time.Location, now time.Time) (time.Time, error) {
	if s == "now" {
		return now, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
		if d, err := time.ParseDuration(s); err == nil {
			return now.Add(d), nil
		}
	}
	return time.Time{}, usageErrorf("--%s %q: use RFC 3339 (2026-01-02T15:04:05Z), a date (2026-01-02), now, or a duration from now (-2h)", name, s)
}

// timeFlag is a time flag to parse: its name, its value as given, and where
// to store the instant.
type timeFlag struct {
	name, val string
	dst       *time.Time
}

// parseTimeFlags parses each flag's value with parseTimeFlag and stores the
// instant, in UTC, in its destination; an empty value stores the zero time.
func parseTimeFlags(loc *time.Location, now time.Time, flags ...timeFlag) error {
	for _, fl := range flags {
		*fl.dst = time.Time{}
		if fl.val == "" {
			continue
		}
		t, err := parseTimeFlag(fl.name, fl.val, loc, now)
		if err != nil {
			return err
		}
		*fl.dst = t.UTC()
	}
	return nil
}

// parseTags reads repeated k=v flags.
func parseTags(name string, kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageErrorf("--%s %q: use key=value", name, kv)
		}
		out[k] = v
	}
	return out, nil
}

// formatTime prints t in UTC, or "-" for the zero time.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// formatLocal prints t in loc with its zone abbreviation, or "-".
func formatLocal(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(loc).Format("2006-01-02 15:04:05 MST")
}

// formatDuration prints d without trailing zero units ("1h", "10m", "1h30m"),
// and whole days as days ("365d").
func formatDuration(d time.Duration) string {
	const day = 24 * time.Hour
	if d >= day && d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	return schedule.FormatDuration(d)
}
