// Command sundial is Sundial's one binary: the server, the dev server and the
// command-line client.
//
//	sundial dev                       # server + embedded Redis + demo worker
//	sundial server --redis-url ...    # production server
//	sundial schedule create|describe|list|...
//	sundial workflow start|describe|list|...
//	sundial spec next --cron '0 9 * * MON-FRI' --count 5
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	m := &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
	err := m.Run(ctx, os.Args[1:])
	stop()
	os.Exit(exitCode(m.Stderr, err))
}

// exitCode prints err in one line and maps it to the process exit code:
// 0 for success, 2 for bad input, 1 for anything else.
func exitCode(stderr io.Writer, err error) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "sundial:", err)
	var u *UsageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

// UsageError marks bad input (a flag, an argument, an invalid spec): the
// command exits with status 2.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// usageErrorf returns a *UsageError with a formatted message.
func usageErrorf(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// Main is the program, with its environment injected so tests can run every
// command in-process.
type Main struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads environment variables; nil means none are set.
	Getenv func(string) string
}

func (m *Main) getenv(k string) string {
	if m.Getenv == nil {
		return ""
	}
	return m.Getenv(k)
}

// command is a top-level subcommand constructor, registered by the file that
// implements it, so each command lives in a file of its own.
type command func(m *Main) *cobra.Command

var commands = map[string]command{}

// register adds a top-level subcommand; called from init in each command's file.
func register(name string, c command) { commands[name] = c }

// Run runs the command line args (without the program name).
func (m *Main) Run(ctx context.Context, args []string) error {
	root := &cobra.Command{
		Use:           "sundial",
		Short:         "Sundial: workflow schedules on Redis",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetIn(m.Stdin)
	root.SetOut(m.Stdout)
	root.SetErr(m.Stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &UsageError{Err: fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		root.AddCommand(commands[n](m))
	}
	err := root.ExecuteContext(ctx)
	if err != nil && isCobraUsage(err) {
		return &UsageError{Err: err}
	}
	return err
}

// isCobraUsage reports whether err is one of cobra's own argument errors
// (unknown command, wrong argument count), which are bad input.
func isCobraUsage(err error) bool {
	var u *UsageError
	if errors.As(err, &u) {
		return false
	}
	msg := err.Error()
	for _, p := range []string{"unknown command", "accepts ", "requires at least", "requires at most", "unknown flag", "unknown shorthand", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
