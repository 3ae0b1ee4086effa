package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/sundial-dev/sundial/cmd/sundial-bench/internal/runbench"
	"github.com/sundial-dev/sundial/internal/backoff"
	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/internal/gen/sundial/v1/sundialv1connect"
	"github.com/sundial-dev/sundial/internal/schedstore"
	"github.com/sundial-dev/sundial/schedule"
)

func init() {
	register("create", "CreateSchedule latency, open loop at --rate for --duration", benchCreate)
	register("fire", "fires/s, fire lag and Redis bytes with --schedules stored", benchFire)
	register("rss", "server RSS and heap with --schedules stored, firing at --rate (compare runs at one rate)", benchRSS)
}

// schedEnv is a server to benchmark: in-process on a fresh key prefix, or
// a running one on a loopback address.
type schedEnv struct {
	addr       string
	prefix     string
	partitions int
	rdb        redis.UniversalClient
	// server is set when the bench started the server itself.
	server *runbench.Env
	client sundialv1connect.ScheduleServiceClient
}

// ownRedisUsage documents --own-redis, which create and fire share.
const ownRedisUsage = "run against a fresh private redis-server on a free loopback port instead of --redis-url (needs redis-server on PATH): a Redis that held a large data set is slower afterwards, even when emptied"

func startSchedEnv(ctx context.Context, redisURL, address, prefix string, partitions int, ownRedis bool) (*schedEnv, error) {
	env := &schedEnv{prefix: prefix, partitions: partitions}
	if ownRedis && address != "" {
		return nil, errors.New("--own-redis starts a server of its own: it does not go with --address")
	}
	if address == "" {
		// An in-process server on a fresh prefix (or a private Redis); its
		// keys, or that Redis, go at the end.
		rb, err := runbench.StartServer(ctx, redisURL, runbench.ServerOptions{PoolSize: 256, Partitions: partitions, LogLevel: slog.LevelError, OwnRedis: ownRedis})
		if err != nil {
			return nil, err
		}
		env.server, env.rdb, env.addr, env.prefix = rb, rb.Redis, rb.Addr, rb.Prefix
	} else {
		u, err := url.Parse(address)
		if err != nil || !runbench.IsLoopback(u.Hostname()) {
			return nil, fmt.Errorf("--address must be an http:// URL on a loopback address, got %q", address)
		}
		rdb, err := runbench.OpenRedis(redisURL, 256)
		if err != nil {
			return nil, err
		}
		env.rdb, env.addr = rdb, address
	}
	// h2c: one multiplexed connection, as gRPC clients use.
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	env.client = sundialv1connect.NewScheduleServiceClient(hc, env.addr)
	return env, nil
}

// close stops an in-process server and deletes its keys or its private
// redis-server (--own-redis).
func (e *schedEnv) close() {
	if e.server != nil {
		e.server.Close() // closes e.rdb too
		return
	}
	_ = e.rdb.Close()
}

func benchSchedule(every, offset time.Duration) *pb.Schedule {
	return benchJitteredSchedule(every, offset, 0)
}

// benchJitteredSchedule is benchSchedule with a jitter (0 for none).
func benchJitteredSchedule(every, offset, jitter time.Duration) *pb.Schedule {
	spec := &pb.ScheduleSpec{Intervals: []*pb.IntervalSpec{{Every: durationpb.New(every), Offset: durationpb.New(offset)}}}
	if jitter > 0 {
		spec.Jitter = durationpb.New(jitter)
	}
	return &pb.Schedule{
		Spec:   spec,
		Action: &pb.StartWorkflowAction{WorkflowType: "bench.Workflow", TaskQueue: "bench-queue"},
		Policy: &pb.SchedulePolicy{Overlap: pb.OverlapPolicy_OVERLAP_POLICY_ALLOW_ALL},
		Tags:   map[string]string{"bench": "yes"},
	}
}

func benchCreate(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("create", flag.ContinueOnError)
	redisURL := fs.String("redis-url", runsEnvOr("SUNDIAL_REDIS_URL", "redis://127.0.0.1:6379/0"), "Redis (loopback) for the in-process server")
	address := fs.String("address", "", "benchmark a running server at this loopback URL instead (http://127.0.0.1:7233)")
	rate := fs.Int("rate", 1000, "creates per second, open loop")
	duration := fs.Duration("duration", 10*time.Second, "how long to send")
	partitions := fs.Int("partitions", 16, "partitions of the in-process server")
	ownRedis := fs.Bool("own-redis", false, ownRedisUsage)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *rate < 1 || *rate > 20000 || *duration <= 0 || *duration > 10*time.Minute {
		return errors.New("--rate must be 1-20000 and --duration at most 10m")
	}
	env, err := startSchedEnv(ctx, *redisURL, *address, "", *partitions, *ownRedis)
	if err != nil {
		return err
	}
	defer env.close()
	ns := "bench-" + runbench.RandomID()
	fmt.Fprintf(out, "sundial create: server %s (prefix %q), namespace %s, %d creates/s for %s, open loop\n", env.addr, env.prefix, ns, *rate, *duration)
	// Warm up the connection and the scripts.
	for i := range 50 {
		_, _ = env.client.CreateSchedule(ctx, connect.NewRequest(&pb.CreateScheduleRequest{Namespace: ns, ScheduleId: "warm-" + strconv.Itoa(i), Schedule: benchSchedule(24*time.Hour, 0)}))
	}
	total := int(float64(*rate) * duration.Seconds())
	lats := make([]time.Duration, total)
	var failed, dropped atomic.Int64
	var inflight atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for i := range total {
		at := start.Add(time.Duration(float64(i) / float64(*rate) * float64(time.Second)))
		if err := sleepCtx(ctx, time.Until(at)); err != nil {
			return err
		}
		if inflight.Load() > 5000 {
			dropped.Add(1)
			lats[i] = -1
			continue
		}
		inflight.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer inflight.Add(-1)
			_, err := env.client.CreateSchedule(ctx, connect.NewRequest(&pb.CreateScheduleRequest{Namespace: ns, ScheduleId: "s-" + strconv.Itoa(i), Schedule: benchSchedule(24*time.Hour, time.Duration(i%86400)*time.Second)}))
			// Latency from the intended send time, so a stalled sender
			// does not hide queueing (no coordinated omission).
			lats[i] = time.Since(at)
			if err != nil {
				failed.Add(1)
				lats[i] = -1
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var ok []time.Duration
	for _, l := range lats {
		if l >= 0 {
			ok = append(ok, l)
		}
	}
	fmt.Fprintf(out, "sent %d in %s (%.0f/s); failed %d, dropped (over 5000 in flight) %d\n", total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), failed.Load(), dropped.Load())
	fmt.Fprintf(out, "CreateSchedule latency: %s\n", runbench.Summarise(ok))
	return nil
}

// rss returns this process's resident set size in bytes (Linux).
func rss() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func heapInuse() uint64 {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// createMany creates schedules [from, to) with workers concurrent calls.
func createMany(ctx context.Context, env *schedEnv, ns string, from, to, workers int, every, jitter time.Duration) error {
	var next atomic.Int64
	next.Store(int64(from))
	var firstErr atomic.Value
	var wg sync.WaitGroup
	secs := int(every / time.Second)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= to || ctx.Err() != nil {
					return
				}
				// Offsets spread the fires evenly over the interval.
				s := benchJitteredSchedule(every, time.Duration(i%secs)*time.Second, jitter)
				if _, err := env.client.CreateSchedule(ctx, connect.NewRequest(&pb.CreateScheduleRequest{Namespace: ns, ScheduleId: fmt.Sprintf("s-%07d", i), Schedule: s})); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return err
	}
	return ctx.Err()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if !backoff.Sleep(ctx, d) {
		return ctx.Err()
	}
	return nil
}

func benchFire(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("fire", flag.ContinueOnError)
	redisURL := fs.String("redis-url", runsEnvOr("SUNDIAL_REDIS_URL", "redis://127.0.0.1:6379/0"), "Redis (loopback) for the in-process server, and where the records are read")
	address := fs.String("address", "", "benchmark a running server at this loopback URL (needs --prefix and --partitions of that server)")
	prefix := fs.String("prefix", "sundial", "key prefix of the server at --address")
	schedules := fs.Int("schedules", 100000, "schedules to store")
	every := fs.Duration("every", 20*time.Second, "interval of each schedule (whole seconds); fires/s = schedules / every")
	jitter := fs.Duration("jitter", 0, "jitter of each schedule: 0 fires every schedule of a second at that second; 1s spreads them over it")
	duration := fs.Duration("duration", 60*time.Second, "measurement window")
	partitions := fs.Int("partitions", 16, "partitions of the server")
	workers := fs.Int("creators", 32, "concurrent CreateSchedule calls while storing")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the measurement window to this file")
	ownRedis := fs.Bool("own-redis", false, ownRedisUsage)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *schedules < 1 || *schedules > 1_000_000 || *every < time.Second || *every%time.Second != 0 || *jitter < 0 || *jitter > *every || *duration <= 0 || *duration > 10*time.Minute {
		return errors.New("--schedules 1-1000000, --every whole seconds ≥ 1s, 0 ≤ --jitter ≤ --every, --duration ≤ 10m")
	}
	env, err := startSchedEnv(ctx, *redisURL, *address, *prefix, *partitions, *ownRedis)
	if err != nil {
		return err
	}
	defer env.close()
	st := schedstore.New(env.rdb, env.prefix, env.partitions)
	ns := "bench-" + runbench.RandomID()
	fmt.Fprintf(out, "sundial fire: server %s (prefix %q, %d partitions), namespace %s, %d schedules every %s, jitter %s (expected %.0f fires/s)\n",
		env.addr, env.prefix, env.partitions, ns, *schedules, *every, *jitter, float64(*schedules)/every.Seconds())

	memBefore, _ := usedMemory(ctx, env.rdb)
	t := time.Now()
	if err := createMany(ctx, env, ns, 0, *schedules, *workers, *every, *jitter); err != nil {
		return fmt.Errorf("create: %w", err)
	}
	createdIn := time.Since(t)
	memAfter, _ := usedMemory(ctx, env.rdb)
	fmt.Fprintf(out, "stored %d schedules in %s (%.0f creates/s, %d concurrent)\n", *schedules, createdIn.Round(time.Millisecond), float64(*schedules)/createdIn.Seconds(), *workers)
	var sample []string
	for i := 0; i < *schedules && len(sample) < 500; i += max(1, *schedules/500) {
		sample = append(sample, fmt.Sprintf("s-%07d", i))
	}
	if stored, firing, err := st.MemoryPerSchedule(ctx, ns, sample); err == nil {
		fmt.Fprintf(out, "Redis bytes per stored schedule (MEMORY USAGE of %d sampled: state hash, definition, share of due and index sets): %.0f; firing state so far (recent actions, open runs): %.0f\n", len(sample), stored, firing)
	} else {
		return err
	}
	fmt.Fprintf(out, "Redis used_memory delta while storing: %.0f bytes/schedule (includes run records and execution records written meanwhile)\n",
		float64(memAfter-memBefore)/float64(*schedules))

	// Steady state: let the backlog of the creation phase settle, then measure.
	if err := sleepCtx(ctx, *every); err != nil {
		return err
	}
	from := time.Now().Truncate(time.Second).Add(time.Second)
	to := from.Add(*duration - time.Second)
	stopProfile, err := runbench.StartCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile() // on early returns; the window ends it below
	if err := sleepCtx(ctx, time.Until(to.Add(time.Second))); err != nil {
		return err
	}
	stopProfile()
	if err := sleepCtx(ctx, 3*time.Second); err != nil { // late commits land
		return err
	}
	// Lag is measured from each fire's due time: its nominal time plus its
	// jitter, computed as the server does.
	secs := int(*every / time.Second)
	specs := make([]*schedule.CompiledSpec, secs) // by offset, as createMany sets it
	for i := range specs {
		if specs[i], err = schedule.Compile(schedule.Spec{Intervals: []schedule.Interval{{Every: *every, Offset: time.Duration(i) * time.Second}}, Jitter: *jitter}); err != nil {
			return err
		}
	}
	var lags []time.Duration
	started, other := 0, 0
	ids := make([]string, *schedules)
	for i := range ids {
		ids[i] = fmt.Sprintf("s-%07d", i)
	}
	err = st.ScanScheduleExecutions(ctx, ns, ids, from, to, func(e schedstore.Execution) {
		if e.Outcome != schedstore.OutcomeStarted {
			other++
			return
		}
		started++
		i, _ := strconv.Atoi(strings.TrimPrefix(e.ScheduleID, "s-"))
		lags = append(lags, e.Actual.Sub(specs[i%secs].Jittered(e.ScheduleID, e.Nominal).Truncate(time.Millisecond)))
	})
	if err != nil {
		return err
	}
	window := to.Sub(from) + time.Second
	fmt.Fprintf(out, "window %s: %d fires started (%.0f fires/s; expected %.0f/s), %d other records\n",
		window, started, float64(started)/window.Seconds(), float64(*schedules)/every.Seconds(), other)
	fmt.Fprintf(out, "fire lag (enqueue − due, due = nominal + jitter): %s\n", runbench.Summarise(lags))
	return nil
}

// benchRSS stores --schedules schedules spread so that --rate of them fire
// each second (every = schedules / rate), fires them for --warmup, then
// reports the process's RSS and Go heap after a GC. Run it once per
// population size with the same --rate: the comparison then holds the fire
// rate, the connection pool and the load tool's own work equal, so a
// difference is what the stored schedules cost the server.
func benchRSS(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("rss", flag.ContinueOnError)
	redisURL := fs.String("redis-url", runsEnvOr("SUNDIAL_REDIS_URL", "redis://127.0.0.1:6379/0"), "Redis (loopback) for the in-process server")
	schedules := fs.Int("schedules", 100000, "schedules to store")
	rate := fs.Int("rate", 1000, "fires per second (schedules / rate must be whole seconds)")
	warmup := fs.Duration("warmup", 30*time.Second, "how long to fire before measuring")
	partitions := fs.Int("partitions", 16, "partitions of the server")
	workers := fs.Int("creators", 32, "concurrent CreateSchedule calls while storing")
	memProfile := fs.String("memprofile", "", "write a heap profile (after the warm-up) to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *schedules < 1 || *schedules > 1_000_000 || *rate < 1 || *schedules%*rate != 0 || *warmup <= 0 {
		return errors.New("--schedules 1-1000000, --rate ≥ 1 dividing --schedules, --warmup > 0")
	}
	every := time.Duration(*schedules / *rate) * time.Second
	env, err := startSchedEnv(ctx, *redisURL, "", "", *partitions, false)
	if err != nil {
		return err
	}
	defer env.close()
	ns := "bench-" + runbench.RandomID()
	fmt.Fprintf(out, "sundial rss: %d schedules every %s (%d fires/s), in-process server (prefix %q)\n", *schedules, every, *rate, env.prefix)
	if err := createMany(ctx, env, ns, 0, *schedules, *workers, every, 0); err != nil {
		return fmt.Errorf("create: %w", err)
	}
	var peak int64
	for end := time.Now().Add(*warmup); time.Now().Before(end); {
		if err := sleepCtx(ctx, time.Second); err != nil {
			return err
		}
		peak = max(peak, rss())
	}
	heap := heapInuse() // GC and return freed memory first, for both sizes alike
	if *memProfile != "" {
		f, err := os.Create(*memProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.WriteHeapProfile(f); err != nil {
			return err
		}
	}
	ps := env.rdb.PoolStats()
	fmt.Fprintf(out, "after %s of firing: RSS %s (peak %s), Go heap in use %s, %d goroutines, %d Redis connections (server and load tool)\n",
		*warmup, mib(rss()), mib(peak), mib(int64(heap)), runtime.NumGoroutine(), ps.TotalConns)
	return nil
}

func usedMemory(ctx context.Context, rdb redis.UniversalClient) (int64, error) {
	s, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(s, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, errors.New("no used_memory in INFO")
}
