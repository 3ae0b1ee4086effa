package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sundial-dev/sundial/client"
	"github.com/sundial-dev/sundial/schedule"
)

func init() { register("schedule", newScheduleCmd) }

// newScheduleCmd builds `sundial schedule` and its subcommands.
func newScheduleCmd(m *Main) *cobra.Command {
	cmd, f := newClientGroup(m, "schedule", "Create, inspect and change schedules",
		"Create, inspect and change schedules on a Sundial server.")
	cmd.AddCommand(
		scheduleCreateCmd(m, f), scheduleDescribeCmd(f), scheduleListCmd(f), scheduleUpdateCmd(m, f),
		schedulePauseCmd(f, true), schedulePauseCmd(f, false), scheduleTriggerCmd(f), scheduleBackfillCmd(f),
		scheduleDeleteCmd(f), scheduleExecutionsCmd(f), schedulePauseAllCmd(f, true), schedulePauseAllCmd(f, false),
		scheduleNextCmd(f),
	)
	return cmd
}

func scheduleCreateCmd(m *Main, f *clientFlags) *cobra.Command {
	var (
		sf      scheduleFlags
		id      string
		trigger bool
	)
	cmd := &cobra.Command{
		Use:   "create [id]",
		Short: "Create a schedule",
		Example: "  sundial schedule create --id hello --interval 2s --workflow-type sundial.echo --task-queue demo\n" +
			"  sundial schedule create --id nightly --cron '0 2 * * *' --tz Europe/Paris --workflow-type report --task-queue reports\n" +
			"  sundial schedule create --id copy --file schedule.json",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var s schedule.Schedule
			if sf.file != "" {
				fs, fileID, err := sf.readFile(m.Stdin)
				if err != nil {
					return err
				}
				s = fs
				if id == "" {
					id = fileID
				}
			}
			if len(args) == 1 {
				if id != "" && id != args[0] {
					return usageErrorf("the id is given twice (%q and --id %q); give it once", args[0], id)
				}
				id = args[0]
			}
			if id == "" {
				return usageErrorf("give the schedule id: --id <id>")
			}
			if err := sf.apply(cmd.Flags(), &s, time.Now()); err != nil {
				return err
			}
			return f.withClient(cmd, func(ctx context.Context, c *client.Client) error {
				opts := client.NewScheduleOptions(id, s)
				opts.TriggerImmediately = trigger
				h, err := c.ScheduleClient().Create(ctx, opts)
				if errors.Is(err, client.ErrScheduleAlreadyExists) {
					return fmt.Errorf("schedule %q already exists in namespace %q (change it with `sundial schedule update %s`, or delete it first)", id, c.Namespace(), id)
				}
				if h == nil {
					return callError(err, "schedule "+id)
				}
				if err != nil {
					return err
				}
				next, err := h.ListMatchingTimes(ctx, time.Time{}, 3)
				if err != nil {
					return callError(err, "schedule "+id)
				}
				if f.json() {
					return writeJSON(cmd.OutOrStdout(), map[string]any{"schedule_id": id, "namespace": c.Namespace(), "next_action_times": nonNil(next)})
				}
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "Created schedule %s in namespace %s.\n", id, c.Namespace())
				for _, t := range next {
					fmt.Fprintf(w, "  next: %s\n", formatTime(t))
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "schedule id")
	cmd.Flags().BoolVar(&trigger, "trigger-immediately", false, "also trigger the schedule once right away")
	sf.add(cmd.Flags())
	return cmd
}

func scheduleDescribeCmd(f *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "describe <id>",
		Short: "Show a schedule, its recent actions and its next times",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withClient(cmd, func(ctx context.Context, c *client.Client) error {
				d, err := c.ScheduleClient().GetHandle(ctx, args[0]).Describe(ctx)
				if err != nil {
					return callError(err, "schedule "+args[0])
				}
				if f.json() {
					return writeJSON(cmd.OutOrStdout(), struct {
						ScheduleID string `json:"schedule_id"`
						Namespace  string `json:"namespace"`
						*client.ScheduleDescription
					}{args[0], c.Namespace(), d})
				}
				printDescription(cmd.OutOrStdout(), args[0], c.Namespace(), d)
				return nil
			})
		},
	}
}

// printDescription prints a schedule for humans.
func printDescription(out io.Writer, id, ns string, d *client.ScheduleDescription) {
	s, in := d.Schedule, d.Info
	loc := zoneOrLocal(s.Spec.TimeZone)
	w := newTable(out)
	fmt.Fprintf(w, "Schedule:\t%s (namespace %s)\n", id, ns)
	wid := s.Action.WorkflowID
	if wid == "" {
		wid = id
	}
	fmt.Fprintf(w, "Workflow:\t%s on task queue %s, workflow ids %s-<nominal time>\n", s.Action.WorkflowType, s.Action.TaskQueue, wid)
	if len(s.Action.Input) > 0 {
		fmt.Fprintf(w, "Input:\t%s\n", s.Action.Input)
	}
	fmt.Fprintf(w, "Spec:\t%s\n", specSummary(s.Spec))
	overlap := s.Policy.Overlap
	if overlap == schedule.OverlapUnspecified {
		overlap = schedule.OverlapSkip
	}
	catchup := s.Policy.CatchupWindow
	if catchup == 0 {
		catchup = schedule.DefaultCatchupWindow
	}
	fmt.Fprintf(w, "Policy:\toverlap %s, catchup window %s, coalesce %t, pause on failure %t\n", overlap, formatDuration(catchup), s.Policy.Coalesce, s.Policy.PauseOnFailure)
	state := "active"
	if s.State.Paused {
		state = "PAUSED"
	}
	if s.State.Note != "" {
		state += fmt.Sprintf(" (note: %s)", s.State.Note)
	}
	fmt.Fprintf(w, "State:\t%s\n", state)
	if s.State.LimitedActions {
		fmt.Fprintf(w, "Remaining actions:\t%d\n", s.State.RemainingActions)
	}
	if len(s.Tags) > 0 {
		fmt.Fprintf(w, "Tags:\t%s\n", formatTags(s.Tags))
	}
	fmt.Fprintf(w, "Created:\t%s\n", formatTime(in.CreatedAt))
	fmt.Fprintf(w, "Updated:\t%s\n", formatTime(in.LastUpdateAt))
	fmt.Fprintf(w, "Actions:\t%d taken, %d missed (catchup window), %d skipped (overlap), %d dropped (buffer full), %d buffered\n",
		in.NumActions, in.NumActionsMissedCatchupWindow, in.NumActionsSkippedOverlap, in.BufferDropped, in.BufferSize)
	for _, r := range in.RunningWorkflows {
		fmt.Fprintf(w, "Running:\t%s (run %s)\n", r.WorkflowID, r.RunID)
	}
	_ = w.Flush()
	fmt.Fprintln(out, "\nRecent actions:")
	if len(in.RecentActions) == 0 {
		fmt.Fprintln(out, "  none yet")
	} else {
		_ = writeTable(out, "  NOMINAL (UTC)\tACTUAL (UTC)\tWORKFLOW ID\tRUN ID\tSTATUS", in.RecentActions, func(r client.ScheduleActionResult) string {
			return fmt.Sprintf("  %s\t%s\t%s\t%s\t%s", formatTime(r.ScheduleTime), formatTime(r.ActualTime), r.WorkflowID, r.RunID, r.Status)
		})
	}
	fmt.Fprintln(out, "\nNext action times:")
	if len(in.NextActionTimes) == 0 {
		fmt.Fprintln(out, "  none")
	}
	for _, t := range in.NextActionTimes {
		fmt.Fprintf(out, "  %s  (%s)\n", formatTime(t), formatLocal(t, loc))
	}
}

// zoneOrLocal returns the named zone, or the machine's local zone when the
// name is empty or unknown.
func zoneOrLocal(name string) *time.Location {
	if name != "" {
		if l, err := time.LoadLocation(name); err == nil {
			return l
		}
	}
	return time.Local
}

func formatTags(tags map[string]string) string {
	kv := make([]string, 0, len(tags))
	for k, v := range tags {
		kv = append(kv, k+"="+v)
	}
	slices.Sort(kv)
	return strings.Join(kv, ",")
}

func scheduleListCmd(f *clientFlags) *cobra.Command {
	var (
		workflowType   string
		paused, active bool
		tags           []string
		limit, page    int
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List schedules: id, workflow type, spec, next run, paused, note",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if paused && active {
				return usageErrorf("--paused and --active exclude each other; give one")
			}
			tagMap, err := parseTags("tag", tags)
			if err != nil {
				return err
			}
			opts := client.ScheduleListOptions{PageSize: page, WorkflowType: workflowType, Tags: tagMap}
			switch {
			case paused:
				opts.Paused = client.ScheduleListPaused
			case active:
				opts.Paused = client.ScheduleListActive
			}
			return f.withClient(cmd, func(ctx context.Context, c *client.Client) error {
				entries, err := collect(c.ScheduleClient().List(ctx, opts), limit, "schedules")
				if err != nil {
					return err
				}
				if f.json() {
					return writeJSON(cmd.OutOrStdout(), entries)
				}
				return writeTable(cmd.OutOrStdout(), "ID\tWORKFLOW TYPE\tSPEC\tNEXT RUN (LOCAL)\tNEXT RUN (UTC)\tPAUSED\tNOTE", entries, func(e *client.ScheduleListEntry) string {
					return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%t\t%s", e.ID, e.WorkflowType, e.SpecSummary,
						formatLocal(e.NextActionTime, zoneOrLocal(e.TimeZone)), formatTime(e.NextActionTime), e.Paused, e.Note)
				})
			})
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&workflowType, "workflow-type", "", "only schedules starting this workflow type")
	fs.BoolVar(&paused, "paused", false, "only paused schedules")
	fs.BoolVar(&active, "active", false, "only schedules that are not paused")
	fs.StringArrayVar(&tags, "tag", nil, "only schedules with this tag key=value (repeatable)")
	fs.IntVar(&limit, "limit", 0, "print at most this many (0: all)")
	fs.IntVar(&page, "page-size", 0, "schedules fetched per call (default 100)")
	return cmd
}

func scheduleUpdateCmd(m *Main, f *clientFlags) *cobra.Command {
	var sf scheduleFlags
	cmd := &cobra.Command{
		Use:   "update <id> [flags]",
		Short: "Change a schedule: only the parts given as flags (or the whole schedule with --file)",
		Example: "  sundial schedule update nightly --cron '30 2 * * *'\n" +
			"  sundial schedule update nightly --overlap BUFFER_ONE --tag team=data",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			if !anyDefinitionFlag(cmd.Flags(), "address", "namespace", "output") {
				return usageErrorf("nothing to update: give the flags to change (see 'sundial schedule update --help')")
			}
			var file *schedule.Schedule
			if sf.file != "" {
				s, _, err := sf.readFile(m.Stdin)
				if err != nil {
					return err
				}
				file = &s
			}
			return f.withClient(cmd, func(ctx context.Context, c *client.Client) error {
				now := time.Now()
				var applyErr error
				err := c.ScheduleClient().GetHandle(ctx, id).Update(ctx, client.ScheduleUpdateOptions{
					DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
						s := in.Description.Schedule
						if file != nil {
							s = *file
						}
						if err := sf.apply(cmd.Flags(), &s, now); err != nil {
							applyErr = err
							return nil, err
						}
						return &client.ScheduleUpdate{Schedule: &s}, nil
					},
				})
				if applyErr != nil {
					return applyErr
				}
				if err != nil {
					return callError(err, "schedule "+id)
				}
				return f.outputf(cmd.OutOrStdout(), map[string]any{"schedule_id": id, "updated": true}, "Updated schedule %s.\n", id)
			})
		},
	}
	sf.add(cmd.Flags())
	return cmd
}

func schedulePauseCmd(f *clientFlags, pause bool) *cobra.Command {
	var note string
	name, verb := "pause", "Paused"
	if !pause {
		name, verb = "unpause", "Unpaused"
	}
	cmd := &cobra.Command{
		Use:   name + " <id>",
		Short: strings.ToUpper(name[:1]) + name[1:] + " a schedule",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withClient(cmd, func(ctx context.Context, c *client.Client) error {
				h := c.ScheduleClient().GetHandle(ctx, args[0])
				var err error
				if pause {
					err = h.Pause(ctx, client.SchedulePauseOptions{Note: note})
				} else {
					err = h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: note})
				}
				if err != nil {
					return callError(err, "schedule "+args[0])
				}
				return f.outputf(cmd.OutOrStdout(), map[string]any{"schedule_id": args[0], "paused": pause}, "%s schedule %s.\n", verb, args[0])
			})
		},
	}
	cmd.Flags().StringVar(&note, "note", "", "why (shown by describe and list)")
	return cmd
}

func scheduleTriggerCmd(f *clientFlags) *cobra.Command {
	var overlap string
	cmd := &cobra.Command{
		Use:   "trigger <id>",
		Short: "Start the schedule's workflow now",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := client.ScheduleTriggerOptions{}
			if overlap != "" {
				p, err := schedule.ParseOverlapPolicy(overlap)
				if err != nil {
					return &UsageError{Err: fmt.Errorf("--%w", err)}
				}
				opts.Overlap = p
			}
			return f.withClient(cmd, func(ctx context.Context, c *client.Client) error {
				res, err := c.ScheduleClient().GetHandle(ctx, args[0]).Trigger(ctx, opts)
				if err != nil {
					return callError(err, "schedule "+args[0])
				}
				if f.json() {
					return writeJSON(cmd.OutOrStdout(), struct {
						ScheduleID string `json:"schedule_id"`
						client.ScheduleTriggerResult
					}{args[0], res})
				}
				if res.RunID != "" {
					fmt.Fprintf(cmd.OutOrStdout(), "Triggered schedule %s: %s workflow %s (run %s).\n", args[0], strings.ToLower(res.Outcome.String()), res.WorkflowID, res.RunID)
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "Triggered schedule %s: %s.\n", args[0], res.Outcome)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&overlap, "overlap", "", "overlap policy for this run (default: the schedule's)")
	return cmd
}

func scheduleBackfillCmd(f *clientFlags) *cobra.Command {
	var start, end, overlap string
	cmd := &cobra.Command{
		Use:     "backfill <id> --start <time> --end <time>",
		Short:   "Run the nominal times of a past range now",
		Example: "  sundial schedule backfill nightly --start 2026-01-01 --end 2026-01-07\n  sundial schedule backfill hourly --start -6h --end now --overlap ALLOW_ALL",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if start == "" || end == "" {
				return usageErrorf("give the range: --start <time> --end <time>")
			}
			b := client.ScheduleBackfill{}
			if err := parseTimeFlags(time.UTC, time.Now(), timeFlag{"start", start, &b.Start}, timeFlag{"end", end, &b.End}); err != nil {
				return err
			}
			if overlap != "" {
				var err error
				if b.Overlap, err = schedule.ParseOverlapPolicy(overlap); err != nil {
					return &UsageError{Err: fmt.Errorf("--%w", err)}
				}
			}
			return f.withClient(cmd, func(ctx context.Context, c *client.Client) error {
				n, err := c.ScheduleClient().GetHandle(ctx, args[0]).Backfill(ctx, client.ScheduleBackfillOptions{Backfill: []client.ScheduleBackfill{b}})
				if err != nil {
					return callError(err, "schedule "+args[0])
				}
				return f.outputf(cmd.OutOrStdout(), map[string]any{"schedule_id": args[0], "nominal_times": n},
					"Backfilling schedule %s: %d nominal time(s) from %s to %s.\n", args[0], n, formatTime(b.Start), formatTime(b.End))
			})
		},
	}
	cmd.Flags().StringVar(&start, "start", "", "first nominal time (RFC 3339, date, now, or -2h)")
	cmd.Flags().StringVar(&end, "end", "", "last nominal time, inclusive")
	cmd.Flags().StringVar(&overlap, "overlap", "", "overlap policy for the backfilled runs (default: the schedule's)")
	return cmd
}

func scheduleDeleteCmd(f *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "delete <id>",
		Short: "Delete a schedule (runs it started are not affected)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withClient(cmd, func(ctx context.Context, c *client.Client) error {
				if err := c.ScheduleClient().GetHandle(ctx, args[0]).Delete(ctx); err != nil {
					return callError(err, "schedule "+args[0])
				}
				return f.outputf(cmd.OutOrStdout(), map[string]any{"schedule_id": args[0], "deleted": true}, "Deleted schedule %s.\n", args[0])
			})
		},
	}
}

func scheduleExecutionsCmd(f *clientFlags) *cobra.Command {
	var (
		outcomes   []string
		start, end string
		ascending  bool
		limit      int
	)
	cmd := &cobra.Command{
		Use:   "executions [id]",
		Short: "List execution records (every fire, skip and miss), newest first",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := client.ScheduleExecutionListOptions{Ascending: ascending}
			if len(args) == 1 {
				opts.ScheduleID = args[0]
			}
			for _, o := range outcomes {
				v, err := client.ParseScheduleExecutionOutcome(o)
				if err != nil {
					return &UsageError{Err: fmt.Errorf("--outcome %q: use STARTED, SKIPPED_OVERLAP, MISSED, BUFFER_DROPPED, BUFFERED or FAILED", o)}
				}
				opts.Outcomes = append(opts.Outcomes, v)
			}
			if err := parseTimeFlags(time.UTC, time.Now(), timeFlag{"start", start, &opts.Start}, timeFlag{"end", end, &opts.End}); err != nil {
				return err
			}
			if limit > 0 && limit < 1000 {
				opts.PageSize = limit
			}
			return f.withClient(cmd, func(ctx context.Context, c *client.Client) error {
				recs, err := collect(c.ScheduleClient().ListExecutions(ctx, opts), limit, "executions")
				if err != nil {
					return err
				}
				if f.json() {
					return writeJSON(cmd.OutOrStdout(), recs)
				}
				return writeTable(cmd.OutOrStdout(), "SCHEDULE\tNOMINAL (UTC)\tACTUAL (UTC)\tTRIGGER\tOUTCOME\tWORKFLOW ID\tRUN ID\tREASON", recs, func(e *client.ScheduleExecution) string {
					return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", e.ScheduleID, formatTime(e.NominalTime), formatTime(e.ActualTime),
						e.Trigger, e.Outcome, orDefault(e.WorkflowID, "-"), orDefault(e.RunID, "-"), e.Reason)
				})
			})
		},
	}
	fs := cmd.Flags()
	fs.StringArrayVar(&outcomes, "outcome", nil, "only this outcome (repeatable)")
	fs.StringVar(&start, "start", "", "only nominal times from this instant")
	fs.StringVar(&end, "end", "", "only nominal times up to this instant")
	fs.BoolVar(&ascending, "ascending", false, "oldest first")
	fs.IntVar(&limit, "limit", 50, "print at most this many (0: all)")
	return cmd
}

func schedulePauseAllCmd(f *clientFlags, pause bool) *cobra.Command {
	var (
		tags []string
		note string
	)
	name, verb, short := "pause-all", "Paused", "Pause"
	if !pause {
		name, verb, short = "resume-all", "Resumed", "Resume"
	}
	cmd := &cobra.Command{
		Use:   name,
		Short: short + " every schedule of the namespace, or those with the given tags",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tagMap, err := parseTags("tag", tags)
			if err != nil {
				return err
			}
			return f.withClient(cmd, func(ctx context.Context, c *client.Client) error {
				opts := client.SchedulePauseAllOptions{Tags: tagMap, Note: note}
				var (
					n   int64
					err error
				)
				if pause {
					n, err = c.ScheduleClient().PauseAll(ctx, opts)
				} else {
					n, err = c.ScheduleClient().ResumeAll(ctx, opts)
				}
				if err != nil {
					return callError(err, "schedules")
				}
				return f.outputf(cmd.OutOrStdout(), map[string]any{"count": n}, "%s %d schedule(s) in namespace %s.\n", verb, n, c.Namespace())
			})
		},
	}
	cmd.Flags().StringArrayVar(&tags, "tag", nil, "only schedules with this tag key=value (repeatable)")
	cmd.Flags().StringVar(&note, "note", "", "why (shown by describe and list)")
	return cmd
}

func scheduleNextCmd(f *clientFlags) *cobra.Command {
	var (
		after string
		count int
	)
	cmd := &cobra.Command{
		Use:   "next <id>",
		Short: "Print a stored schedule's next nominal times (see `sundial spec next` for a spec not yet stored)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if count < 1 || count > 1000 {
				return usageErrorf("--count %d: use 1 to 1000", count)
			}
			var start time.Time
			if err := parseTimeFlags(time.UTC, time.Now(), timeFlag{"after", after, &start}); err != nil {
				return err
			}
			return f.withClient(cmd, func(ctx context.Context, c *client.Client) error {
				h := c.ScheduleClient().GetHandle(ctx, args[0])
				times, err := h.ListMatchingTimes(ctx, start, count)
				if err != nil {
					return callError(err, "schedule "+args[0])
				}
				if f.json() {
					return writeJSON(cmd.OutOrStdout(), map[string]any{"schedule_id": args[0], "next_action_times": nonNil(times)})
				}
				loc := time.Local
				if d, err := h.Describe(ctx); err == nil {
					loc = zoneOrLocal(d.Schedule.Spec.TimeZone)
				}
				for _, t := range times {
					fmt.Fprintf(cmd.OutOrStdout(), "%s  (%s)\n", formatTime(t), formatLocal(t, loc))
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&after, "after", "", "start from this instant (default now)")
	cmd.Flags().IntVar(&count, "count", 10, "how many times")
	return cmd
}

// nonNil returns ts, or an empty slice for nil, so JSON prints [] not null.
func nonNil(ts []time.Time) []time.Time {
	if ts == nil {
		return []time.Time{}
	}
	return ts
}
