// Command asynqcmp measures Sundial's no-op workflow runs against asynq's
// no-op tasks on the same Redis, in one run, and prints the ratio. It is a
// module of its own so that asynq never enters Sundial's go.mod.
//
//	cd cmd/sundial-bench/asynqcmp && go run . --runs 20000
//
// Both systems get one worker child process with the same concurrency and
// the same number of producer goroutines. Sundial counts a run when the
// server acknowledged its completion (CompleteTask, or an item of the
// worker's batched ReportTasks); asynq counts a task when its handler
// returned (before asynq marks it done), which, if anything, favours asynq.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/sundial-dev/sundial/cmd/sundial-bench/internal/runbench"
	"github.com/sundial-dev/sundial/internal/redisconn"
)

const asynqTaskType = "bench:noop"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch {
	case len(os.Args) > 1 && os.Args[1] == "sundial-worker":
		err = runbench.WorkerMain(ctx, os.Args[2:], os.Stdout)
	case len(os.Args) > 1 && os.Args[1] == "asynq-worker":
		err = asynqWorker(ctx, os.Args[2:], os.Stdout)
	default:
		err = compare(ctx, os.Args[1:], os.Stdout)
	}
	if err != nil {
		if err == flag.ErrHelp {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "asynqcmp:", err)
		os.Exit(1)
	}
}

type config struct {
	redisURL    string
	runs        int
	concurrency int
	producers   int
	pickups     int
	rounds      int
	// ownRedis starts a fresh redis-server for each phase.
	ownRedis bool
}

func compare(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("asynqcmp", flag.ContinueOnError)
	var cfg config
	fs.StringVar(&cfg.redisURL, "redis-url", "redis://127.0.0.1:6379/0", "Redis both systems use (unique prefixes and queues, deleted at the end)")
	fs.IntVar(&cfg.runs, "runs", 20000, "runs (tasks) per throughput phase")
	fs.IntVar(&cfg.concurrency, "concurrency", 64, "worker concurrency, both systems")
	fs.IntVar(&cfg.producers, "producers", 32, "goroutines enqueueing, both systems")
	fs.IntVar(&cfg.pickups, "pickups", 20, "one-at-a-time runs for pickup latency, each system (asynq's take about 1 s each)")
	fs.IntVar(&cfg.rounds, "rounds", 1, "alternate the two systems this many times")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up after this long")
	sundialOnly := fs.Bool("sundial-only", false, "measure Sundial alone (no ratio): for profiling its CPU per run")
	fs.BoolVar(&cfg.ownRedis, "own-redis", false, "start a fresh private redis-server (no persistence) on a free loopback port for each phase, instead of --redis-url")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	where := "same Redis " + cfg.redisURL
	if cfg.ownRedis {
		where = "a fresh private redis-server for each phase"
	}
	fmt.Fprintf(out, "%s, %d runs per phase, 1 worker process × %d slots each, %d producers, %d round(s)\n",
		where, cfg.runs, cfg.concurrency, cfg.producers, cfg.rounds)
	var best [2]float64
	for r := range cfg.rounds {
		s, err := sundialPhase(ctx, exe, cfg, out)
		if err != nil {
			return fmt.Errorf("sundial: %w", err)
		}
		if *sundialOnly {
			continue
		}
		a, err := asynqPhase(ctx, exe, cfg, out)
		if err != nil {
			return fmt.Errorf("asynq: %w", err)
		}
		best[0], best[1] = max(best[0], s), max(best[1], a)
		fmt.Fprintf(out, "round %d: sundial %.0f runs/s, asynq %.0f tasks/s, ratio %.2f\n", r+1, s, a, s/a)
	}
	if *sundialOnly {
		return nil
	}
	fmt.Fprintf(out, "RESULT sundial/asynq = %.2f (best of %d: sundial %.0f runs/s, asynq %.0f tasks/s; target ≥ 1.5)\n",
		best[0]/best[1], cfg.rounds, best[0], best[1])
	return nil
}

func sundialPhase(ctx context.Context, exe string, cfg config, out io.Writer) (float64, error) {
	env, err := runbench.StartServer(ctx, cfg.redisURL, runbench.ServerOptions{OwnRedis: cfg.ownRedis})
	if err != nil {
		return 0, err
	}
	defer env.Close()
	queue := "cmp-" + runbench.RandomID()
	wargs := runbench.WorkerArgs{Addr: env.Addr, Namespace: "default", Queue: queue, Concurrency: cfg.concurrency, Pollers: 2}
	procs, err := runbench.StartProcs(ctx, exe, append([]string{"sundial-worker"}, wargs.Args()...), 1)
	if err != nil {
		return 0, err
	}
	defer procs.Stop()
	c, err := runbench.Dial(ctx, env.Addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	lat, err := runbench.MeasurePickup(ctx, procs, cfg.pickups, runbench.SundialEnqueue(c, queue, true))
	if err != nil {
		return 0, err
	}
	fmt.Fprintf(out, "  sundial pickup: %s\n", lat)
	self0, redis0 := runbench.SelfCPU(), runbench.RedisCPU(ctx, env.Redis)
	tp, err := runbench.Measure(ctx, procs, cfg.runs, cfg.producers, runbench.SundialEnqueue(c, queue, false))
	if err != nil {
		return 0, err
	}
	self, rcpu := runbench.SelfCPU()-self0, runbench.RedisCPU(ctx, env.Redis)-redis0
	procs.Stop()
	fmt.Fprintf(out, "  sundial throughput: %s\n", tp)
	printCPU(out, "sundial", cfg.runs, self, procs.CPU(), rcpu)
	return tp.PerSecond(), nil
}

func asynqPhase(ctx context.Context, exe string, cfg config, out io.Writer) (float64, error) {
	redisURL, stopRedis, err := runbench.PhaseRedis(ctx, cfg.redisURL, cfg.ownRedis)
	if err != nil {
		return 0, err
	}
	defer stopRedis()
	opt, err := asynq.ParseRedisURI(redisURL)
	if err != nil {
		return 0, err
	}
	rdb, err := runbench.OpenRedis(redisURL, 1)
	if err != nil {
		return 0, err
	}
	defer rdb.Close()
	queue := "cmp-" + runbench.RandomID()
	if !cfg.ownRedis { // a private server goes with its keys
		defer cleanAsynq(rdb, queue)
	}
	procs, err := runbench.StartProcs(ctx, exe, []string{"asynq-worker", "--redis-url", redisURL, "--queue", queue, "--concurrency", fmt.Sprint(cfg.concurrency)}, 1)
	if err != nil {
		return 0, err
	}
	defer procs.Stop()
	cl := asynq.NewClient(opt)
	defer cl.Close()
	enqueue := func(stamp bool) func(ctx context.Context, i int) error {
		return func(ctx context.Context, i int) error {
			var in runbench.Stamp
			if stamp {
				in.EnqueuedNS = time.Now().UnixNano()
			}
			b, _ := json.Marshal(in)
			if _, err := cl.EnqueueContext(ctx, asynq.NewTask(asynqTaskType, b), asynq.Queue(queue)); err != nil {
				return fmt.Errorf("enqueue %d: %w", i, err)
			}
			return nil
		}
	}
	lat, err := runbench.MeasurePickup(ctx, procs, cfg.pickups, enqueue(true))
	if err != nil {
		return 0, err
	}
	fmt.Fprintf(out, "  asynq pickup: %s\n", lat)
	self0, redis0 := runbench.SelfCPU(), runbench.RedisCPU(ctx, rdb)
	tp, err := runbench.Measure(ctx, procs, cfg.runs, cfg.producers, enqueue(false))
	if err != nil {
		return 0, err
	}
	self, rcpu := runbench.SelfCPU()-self0, runbench.RedisCPU(ctx, rdb)-redis0
	procs.Stop()
	fmt.Fprintf(out, "  asynq throughput: %s\n", tp)
	printCPU(out, "asynq", cfg.runs, self, procs.CPU(), rcpu)
	return tp.PerSecond(), nil
}

// printCPU prints the CPU each part used per run during a throughput phase.
// The worker's figure covers its whole life (pickups included); Redis's
// includes other clients' work when Redis is shared (use --own-redis).
func printCPU(out io.Writer, name string, runs int, self, worker, rcpu time.Duration) {
	per := func(d time.Duration) string { return (d / time.Duration(runs)).Round(time.Microsecond).String() }
	fmt.Fprintf(out, "  %s CPU per run: producers+server %s, worker %s, redis %s, total %s\n",
		name, per(self), per(worker), per(rcpu), per(self+worker+rcpu))
}

// cleanAsynq deletes the bench queue's keys (asynq has no key prefix: its
// keys are "asynq:{<queue>}:...").
func cleanAsynq(rdb redis.UniversalClient, queue string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := redisconn.DeleteMatching(ctx, rdb, "asynq:{"+queue+"}:*"); err != nil {
		fmt.Fprintf(os.Stderr, "asynqcmp: could not delete the keys of queue %s: %v\n", queue, err)
	}
	rdb.SRem(ctx, "asynq:queues", queue)
}

// asynqWorker is the asynq child process: a server with a no-op handler.
func asynqWorker(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("asynq-worker", flag.ContinueOnError)
	redisURL := fs.String("redis-url", "redis://127.0.0.1:6379/0", "Redis")
	queue := fs.String("queue", "", "queue")
	concurrency := fs.Int("concurrency", 64, "concurrency")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opt, err := asynq.ParseRedisURI(*redisURL)
	if err != nil {
		return err
	}
	rep := runbench.NewReporter(out)
	srv := asynq.NewServer(opt, asynq.Config{
		Concurrency:     *concurrency,
		Queues:          map[string]int{*queue: 1},
		LogLevel:        asynq.ErrorLevel,
		ShutdownTimeout: 2 * time.Second,
	})
	mux := asynq.NewServeMux()
	mux.HandleFunc(asynqTaskType, func(_ context.Context, t *asynq.Task) error {
		var in runbench.Stamp
		if err := json.Unmarshal(t.Payload(), &in); err == nil && in.EnqueuedNS != 0 {
			rep.Pickup(time.Duration(time.Now().UnixNano() - in.EnqueuedNS))
		}
		rep.Done()
		return nil
	})
	if err := srv.Start(mux); err != nil {
		return err
	}
	go rep.Loop(ctx)
	rep.Ready()
	<-ctx.Done()
	srv.Shutdown()
	return nil
}
