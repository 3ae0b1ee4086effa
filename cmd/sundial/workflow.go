package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sundial-dev/sundial/client"
	"github.com/sundial-dev/sundial/schedule"
)

func init() { register("workflow", newWorkflowCmd) }

// newWorkflowCmd builds `sundial workflow` and its subcommands.
func newWorkflowCmd(m *Main) *cobra.Command {
	cmd, f := newClientGroup(m, "workflow", "Start, inspect, cancel and terminate workflow runs",
		"Start, inspect, cancel and terminate workflow runs on a Sundial server.")
	cmd.AddCommand(workflowStartCmd(f), workflowDescribeCmd(f), workflowListCmd(f), workflowResultCmd(f),
		workflowStopCmd(f, "cancel"), workflowStopCmd(f, "terminate"))
	return cmd
}

var workflowStatusNames = map[string]client.WorkflowStatus{
	"SCHEDULED": client.WorkflowStatusScheduled, "PENDING": client.WorkflowStatusPending, "RUNNING": client.WorkflowStatusRunning,
	"COMPLETED": client.WorkflowStatusCompleted, "FAILED": client.WorkflowStatusFailed, "CANCELED": client.WorkflowStatusCanceled,
	"TERMINATED": client.WorkflowStatusTerminated, "TIMED_OUT": client.WorkflowStatusTimedOut,
}

var idReusePolicies = map[string]client.IDReusePolicy{
	"ALLOW_DUPLICATE": client.IDReusePolicyAllowDuplicate, "ALLOW_DUPLICATE_FAILED_ONLY": client.IDReusePolicyAllowDuplicateFailedOnly,
	"REJECT_DUPLICATE": client.IDReusePolicyRejectDuplicate, "TERMINATE_IF_RUNNING": client.IDReusePolicyTerminateIfRunning,
}

func workflowStartCmd(f *clientFlags) *cobra.Command {
	var (
		opts                client.StartWorkflowOptions
		workflowType, input string
		idReuse             string
		maxAttempts         int
		memo                []string
		wait                bool
		waitTimeout         time.Duration
	)
	cmd := &cobra.Command{
		Use:     "start --workflow-type <type> --task-queue <queue>",
		Short:   "Start a workflow run",
		Example: "  sundial workflow start --workflow-type sundial.echo --task-queue demo --input '{\"hi\":1}' --wait",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if workflowType == "" || opts.TaskQueue == "" {
				return usageErrorf("give --workflow-type and --task-queue")
			}
			var in any
			if input != "" {
				if !json.Valid([]byte(input)) {
					return usageErrorf("--input: not valid JSON (quote strings: --input '\"hello\"')")
				}
				in = json.RawMessage(input)
			}
			if idReuse != "" {
				p, ok := idReusePolicies[strings.ToUpper(idReuse)]
				if !ok {
					return usageErrorf("--id-reuse-policy %q: use ALLOW_DUPLICATE, ALLOW_DUPLICATE_FAILED_ONLY, REJECT_DUPLICATE or TERMINATE_IF_RUNNING", idReuse)
				}
				opts.IDReusePolicy = p
			}
			if maxAttempts > 0 {
				opts.RetryPolicy = &schedule.RetryPolicy{MaximumAttempts: maxAttempts}
			}
			for _, kv := range memo {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" || !json.Valid([]byte(v)) {
					return usageErrorf("--memo %q: use key=<JSON value>, e.g. owner='\"data\"'", kv)
				}
				if opts.Memo == nil {
					opts.Memo = map[string]any{}
				}
				opts.Memo[k] = json.RawMessage(v)
			}
			return f.withClient(cmd, func(ctx context.Context, c *client.Client) error {
				run, err := c.ExecuteWorkflow(ctx, opts, workflowType, in)
				if errors.Is(err, client.ErrWorkflowAlreadyStarted) {
					return fmt.Errorf("workflow %q already has an open run (see `sundial workflow describe %s`, or pick another --workflow-id)", opts.ID, opts.ID)
				}
				if err != nil {
					return callError(err, "workflow")
				}
				if !wait {
					return f.outputf(cmd.OutOrStdout(), map[string]string{"workflow_id": run.GetID(), "run_id": run.GetRunID()},
						"Started workflow %s (run %s).\n", run.GetID(), run.GetRunID())
				}
				if f.output == "text" {
					fmt.Fprintf(cmd.OutOrStdout(), "Started workflow %s (run %s); waiting for its result.\n", run.GetID(), run.GetRunID())
				}
				return printResult(cmd, f, run, waitTimeout)
			})
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&workflowType, "workflow-type", "", "workflow type to start (required)")
	fs.StringVar(&opts.ID, "workflow-id", "", "workflow id (default: a new ULID)")
	fs.StringVar(&opts.TaskQueue, "task-queue", "", "task queue whose workers run it (required)")
	fs.StringVar(&input, "input", "", "input as JSON")
	fs.DurationVar(&opts.StartDelay, "start-delay", 0, "hold the first attempt back this long")
	fs.StringVar(&opts.CronSchedule, "cron", "", "cron workflow: start the next run at the next matching time after each run closes")
	fs.DurationVar(&opts.RunTimeout, "run-timeout", 0, "bound on the run")
	fs.DurationVar(&opts.ExecutionTimeout, "execution-timeout", 0, "bound on the workflow id, cron chain included")
	fs.DurationVar(&opts.HeartbeatTimeout, "heartbeat-timeout", 0, "redeliver an attempt silent for this long (default 30s)")
	fs.IntVar(&maxAttempts, "max-attempts", 0, "retry failed attempts up to this many attempts in all (0: no retries)")
	fs.StringArrayVar(&memo, "memo", nil, "memo key=<JSON value> (repeatable)")
	fs.StringVar(&idReuse, "id-reuse-policy", "", "ALLOW_DUPLICATE (default), ALLOW_DUPLICATE_FAILED_ONLY, REJECT_DUPLICATE or TERMINATE_IF_RUNNING")
	fs.BoolVar(&wait, "wait", false, "wait for the run to close and print its result")
	fs.DurationVar(&waitTimeout, "timeout", 0, "with --wait: give up waiting after this long (default: wait forever)")
	return cmd
}

// printResult waits for run to close and prints its result; a run that did
// not complete is an error naming its status and failure.
func printResult(cmd *cobra.Command, f *clientFlags, run client.WorkflowRun, timeout time.Duration) error {
	ctx := cmd.Context()
	if timeout > 0 {
		var cancel func()
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var result json.RawMessage
	err := run.Get(ctx, &result)
	if ctx.Err() != nil && cmd.Context().Err() == nil {
		return fmt.Errorf("workflow %s still open after %s (wait longer with --timeout, or check `sundial workflow describe %s`)", run.GetID(), timeout, run.GetID())
	}
	var failed *client.WorkflowFailedError
	if errors.As(err, &failed) {
		if f.json() {
			_ = writeJSON(cmd.OutOrStdout(), map[string]any{"workflow_id": failed.WorkflowID, "run_id": failed.RunID, "status": failed.Status.String(), "failure": failed.Failure})
		}
		return err
	}
	if err != nil {
		return callError(err, "workflow "+run.GetID())
	}
	if result == nil {
		result = json.RawMessage("null")
	}
	if f.json() {
		return writeJSON(cmd.OutOrStdout(), map[string]any{"workflow_id": run.GetID(), "status": client.WorkflowStatusCompleted.String(), "result": result})
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s\n", result)
	return nil
}

func workflowDescribeCmd(f *clientFlags) *cobra.Command {
	var runID string
	cmd := &cobra.Command{
		Use:   "describe <workflow-id>",
		Short: "Show a run (the latest of the id unless --run-id)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withClient(cmd, func(ctx context.Context, c *client.Client) error {
				d, err := c.DescribeWorkflow(ctx, args[0], runID)
				if err != nil {
					return callError(err, "workflow "+args[0])
				}
				if f.json() {
					return writeJSON(cmd.OutOrStdout(), workflowJSON(d))
				}
				printWorkflow(cmd.OutOrStdout(), d)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&runID, "run-id", "", "a specific run (default: the latest)")
	return cmd
}

// printWorkflow prints a run for humans.
func printWorkflow(out io.Writer, d *client.WorkflowDescription) {
	w := newTable(out)
	fmt.Fprintf(w, "Workflow:\t%s (run %s, namespace %s)\n", d.WorkflowID, d.RunID, d.Namespace)
	fmt.Fprintf(w, "Type:\t%s on task queue %s\n", d.WorkflowType, d.TaskQueue)
	status := d.Status.String()
	if d.CancelRequested && !d.Status.Closed() {
		status += " (cancel requested)"
	}
	fmt.Fprintf(w, "Status:\t%s, attempt %d\n", status, d.Attempt)
	if o := d.Origin; o.ScheduleID != "" {
		fmt.Fprintf(w, "Started by:\tschedule %s (%s, nominal time %s)\n", o.ScheduleID, strings.ToLower(o.Trigger), formatTime(o.NominalTime))
	} else if o.ClientIdentity != "" {
		fmt.Fprintf(w, "Started by:\t%s\n", o.ClientIdentity)
	}
	if d.CronSchedule != "" {
		fmt.Fprintf(w, "Cron:\t%s\n", d.CronSchedule)
	}
	fmt.Fprintf(w, "Created:\t%s\n", formatTime(d.CreateTime))
	fmt.Fprintf(w, "Started:\t%s\n", formatTime(d.StartTime))
	fmt.Fprintf(w, "Closed:\t%s\n", formatTime(d.CloseTime))
	if len(d.Input) > 0 {
		fmt.Fprintf(w, "Input:\t%s\n", d.Input)
	}
	if len(d.Result) > 0 {
		fmt.Fprintf(w, "Result:\t%s\n", d.Result)
	}
	if d.Failure != nil {
		fmt.Fprintf(w, "Failure:\t%s\n", failureText(d.Failure))
	}
	_ = w.Flush()
	if len(d.Attempts) > 0 {
		fmt.Fprintln(out, "\nAttempts:")
		_ = writeTable(out, "  #\tSTARTED (UTC)\tENDED (UTC)\tWORKER\tFAILURE", d.Attempts, func(a client.WorkflowAttempt) string {
			return fmt.Sprintf("  %d\t%s\t%s\t%s\t%s", a.Attempt, formatTime(a.StartTime), formatTime(a.EndTime), orDefault(a.WorkerIdentity, "-"), failureText(a.Failure))
		})
	}
}

func failureText(f *client.WorkflowFailure) string {
	if f == nil {
		return "-"
	}
	if f.Type != "" {
		return f.Type + ": " + f.Message
	}
	return f.Message
}

func workflowListCmd(f *clientFlags) *cobra.Command {
	var (
		opts   client.ListWorkflowsOptions
		status string
		limit  int
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List runs, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if status != "" {
				s, ok := workflowStatusNames[strings.ToUpper(status)]
				if !ok {
					return usageErrorf("--status %q: use SCHEDULED, PENDING, RUNNING, COMPLETED, FAILED, CANCELED, TERMINATED or TIMED_OUT", status)
				}
				opts.Status = s
			}
			if limit > 0 && limit < 1000 {
				opts.PageSize = limit
			}
			return f.withClient(cmd, func(ctx context.Context, c *client.Client) error {
				descs, err := collect(c.ListWorkflows(ctx, opts), limit, "workflows")
				if err != nil {
					return err
				}
				if f.json() {
					runs := make([]map[string]any, len(descs))
					for i, d := range descs {
						runs[i] = workflowJSON(d)
					}
					return writeJSON(cmd.OutOrStdout(), runs)
				}
				return writeTable(cmd.OutOrStdout(), "WORKFLOW ID\tRUN ID\tTYPE\tTASK QUEUE\tSTATUS\tCREATED (UTC)\tCLOSED (UTC)", descs, func(d *client.WorkflowDescription) string {
					return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", d.WorkflowID, d.RunID, d.WorkflowType, d.TaskQueue, d.Status, formatTime(d.CreateTime), formatTime(d.CloseTime))
				})
			})
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&status, "status", "", "only runs with this status")
	fs.StringVar(&opts.WorkflowType, "workflow-type", "", "only runs of this type")
	fs.StringVar(&opts.TaskQueue, "task-queue", "", "only runs on this task queue")
	fs.StringVar(&opts.ScheduleID, "schedule-id", "", "only runs this schedule started")
	fs.IntVar(&limit, "limit", 50, "print at most this many (0: all)")
	return cmd
}

func workflowResultCmd(f *clientFlags) *cobra.Command {
	var (
		runID   string
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "result <workflow-id>",
		Short: "Wait for a run to close and print its result",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withClient(cmd, func(_ context.Context, c *client.Client) error {
				return printResult(cmd, f, c.GetWorkflow(args[0], runID), timeout)
			})
		},
	}
	cmd.Flags().StringVar(&runID, "run-id", "", "a specific run (default: the latest)")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "give up waiting after this long (default: wait forever)")
	return cmd
}

// workflowStopCmd builds cancel (cooperative) or terminate (at once).
func workflowStopCmd(f *clientFlags, verb string) *cobra.Command {
	var runID, reason string
	short, jsonKey, past := "Ask a run to stop (the worker sees it on its next heartbeat)", "cancel_requested", "Cancel requested for"
	if verb == "terminate" {
		short, jsonKey, past = "Close a run at once; a late completion is rejected", "terminated", "Terminated"
	}
	cmd := &cobra.Command{
		Use:   verb + " <workflow-id>",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withClient(cmd, func(ctx context.Context, c *client.Client) error {
				var err error
				if verb == "cancel" {
					err = c.CancelWorkflow(ctx, args[0], runID, reason)
				} else {
					err = c.TerminateWorkflow(ctx, args[0], runID, reason)
				}
				if errors.Is(err, client.ErrFailedPrecondition) {
					return fmt.Errorf("workflow %s: cannot %s: %w", args[0], verb, err)
				}
				if err != nil {
					return callError(err, "workflow "+args[0])
				}
				return f.outputf(cmd.OutOrStdout(), map[string]any{"workflow_id": args[0], "run_id": runID, jsonKey: true}, "%s workflow %s.\n", past, args[0])
			})
		},
	}
	cmd.Flags().StringVar(&runID, "run-id", "", "a specific run (default: the latest)")
	cmd.Flags().StringVar(&reason, "reason", "", "why (recorded on the run)")
	return cmd
}

// workflowJSON is the stable JSON form of a run, with the proto's field names.
func workflowJSON(d *client.WorkflowDescription) map[string]any {
	out := map[string]any{
		"namespace":        d.Namespace,
		"workflow_id":      d.WorkflowID,
		"run_id":           d.RunID,
		"workflow_type":    d.WorkflowType,
		"task_queue":       d.TaskQueue,
		"status":           d.Status.String(),
		"attempt":          d.Attempt,
		"create_time":      timeOrNil(d.CreateTime),
		"start_time":       timeOrNil(d.StartTime),
		"close_time":       timeOrNil(d.CloseTime),
		"cancel_requested": d.CancelRequested,
	}
	if len(d.Input) > 0 {
		out["input"] = d.Input
	}
	if len(d.Result) > 0 {
		out["result"] = d.Result
	}
	if d.Failure != nil {
		out["failure"] = map[string]any{"message": d.Failure.Message, "type": d.Failure.Type, "non_retryable": d.Failure.NonRetryable}
	}
	if o := d.Origin; o.ScheduleID != "" || o.ClientIdentity != "" {
		out["origin"] = map[string]any{"schedule_id": o.ScheduleID, "nominal_time": timeOrNil(o.NominalTime), "trigger": o.Trigger,
			"client_identity": o.ClientIdentity, "previous_run_id": o.PreviousRunID}
	}
	if d.CronSchedule != "" {
		out["cron_schedule"] = d.CronSchedule
	}
	if len(d.Memo) > 0 {
		out["memo"] = d.Memo
	}
	return out
}

// timeOrNil returns t in UTC, or nil for the zero time (JSON null).
func timeOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}
