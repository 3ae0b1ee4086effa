package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sundial-dev/sundial/client"
	"github.com/sundial-dev/sundial/cmd/sundial-bench/internal/runbench"
)

func init() {
	register("runs", "end-to-end no-op workflow runs/s and pickup latency, workers in child processes", runRuns)
	register("runs-worker", "(started by `runs`) a worker child process", func(ctx context.Context, args []string, out io.Writer) error {
		return runbench.WorkerMain(ctx, args, out)
	})
}

func runRuns(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("runs", flag.ContinueOnError)
	redisURL := fs.String("redis-url", runsEnvOr("SUNDIAL_REDIS_URL", "redis://127.0.0.1:6379/0"), "Redis for the in-process server (a unique key prefix is used and deleted)")
	runs := fs.Int("runs", 20000, "runs in the throughput phase")
	workers := fs.Int("workers", 1, "worker processes")
	concurrency := fs.Int("concurrency", 64, "max concurrent runs per worker process")
	pollers := fs.Int("pollers", 2, "pollers per worker process")
	producers := fs.Int("producers", 32, "goroutines starting runs")
	pickups := fs.Int("pickups", 200, "runs in the pickup-latency phase (one at a time)")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this long")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of this process (server and producers) for the throughput phase to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *runs < 1 || *runs > 1_000_000 || *workers < 1 || *workers > 16 || *producers < 1 {
		return fmt.Errorf("--runs must be 1-1000000, --workers 1-16, --producers at least 1")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	env, err := runbench.StartServer(ctx, *redisURL, runbench.ServerOptions{})
	if err != nil {
		return err
	}
	defer env.Close()
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	queue := "bench-" + runbench.RandomID()
	wargs := runbench.WorkerArgs{Addr: env.Addr, Namespace: client.DefaultNamespace, Queue: queue, Concurrency: *concurrency, Pollers: *pollers}
	procs, err := runbench.StartProcs(ctx, exe, append([]string{"runs-worker"}, wargs.Args()...), *workers)
	if err != nil {
		return err
	}
	defer procs.Stop()
	c, err := runbench.Dial(ctx, env.Addr)
	if err != nil {
		return err
	}
	defer c.Close()

	fmt.Fprintf(out, "sundial runs: server in-process on %s (prefix %s), %d worker process(es) × %d slots, %d producers\n",
		*redisURL, env.Prefix, *workers, *concurrency, *producers)
	lat, err := runbench.MeasurePickup(ctx, procs, *pickups, runbench.SundialEnqueue(c, queue, true))
	if err != nil {
		return fmt.Errorf("pickup phase: %w", err)
	}
	fmt.Fprintf(out, "pickup latency (enqueue → handler start, light load): %s\n", lat)
	stopProfile, err := runbench.StartCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	tp, err := runbench.Measure(ctx, procs, *runs, *producers, runbench.SundialEnqueue(c, queue, false))
	if err != nil {
		return fmt.Errorf("throughput phase: %w", err)
	}
	fmt.Fprintf(out, "throughput: %s\n", tp)
	if counts, err := rpcCounts(ctx, env.Addr); err == nil {
		fmt.Fprintf(out, "RPCs (whole run, pickup phase included): %s\n", counts)
	}
	return nil
}

// rpcCounts reads the server's RPC counters from /metrics, summed over
// codes, by procedure name.
func rpcCounts(ctx context.Context, addr string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, addr+"/metrics", nil)
	if err != nil {
		return "", err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(res.Body)
	if err != nil {
		return "", fmt.Errorf("read /metrics: %w", err)
	}
	totals := map[string]float64{}
	if f := families["sundial_rpc_requests_total"]; f != nil {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "procedure" {
					totals[path.Base(l.GetValue())] += m.GetCounter().GetValue()
				}
			}
		}
	}
	names := slices.Sorted(maps.Keys(totals))
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %.0f", n, totals[n])
	}
	return strings.Join(parts, ", "), nil
}

func runsEnvOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
