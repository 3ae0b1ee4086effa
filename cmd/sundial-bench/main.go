// Command sundial-bench is Sundial's load tool. It drives a server (its own,
// in-process on a real Redis, or a running one) and reports figures:
//
//	sundial-bench create  --rate 1000 --duration 10s     # CreateSchedule latency
//	sundial-bench fire    --schedules 100000 --duration 60s  # fire rate and lag
//	sundial-bench runs    --runs 20000 --workers 4         # end-to-end run throughput
//
// Every mode bounds its requests in count and time, talks only to loopback
// addresses, and stops by itself.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// mode is one benchmark, registered by the file that implements it.
type mode struct {
	summary string
	run     func(ctx context.Context, args []string, out io.Writer) error
}

var modes = map[string]mode{}

func register(name, summary string, run func(ctx context.Context, args []string, out io.Writer) error) {
	modes[name] = mode{summary: summary, run: run}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: sundial-bench MODE [flags]   (sundial-bench MODE -h for the flags)")
	names := make([]string, 0, len(modes))
	for n := range modes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, modes[n].summary)
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) < 2 || strings.HasPrefix(os.Args[1], "-") {
		usage(os.Stderr)
		os.Exit(2)
	}
	m, ok := modes[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown mode %q\n", os.Args[1])
		usage(os.Stderr)
		os.Exit(2)
	}
	if err := m.run(ctx, os.Args[2:], os.Stdout); err != nil {
		if err == flag.ErrHelp {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "sundial-bench:", err)
		os.Exit(1)
	}
}
