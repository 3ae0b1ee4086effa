// Package runbench measures Sundial's workflow runs end to end: an
// in-process server on a real Redis, workers in child processes, no-op runs.
// The bench tool's `runs` mode and the asynq comparison module both use it,
// so the two report the same measurement.
//
// Child processes speak a line protocol on stdout:
//
//	ready            the worker is polling
//	completed N      N runs completed so far (cumulative)
//	pickup NS        a run whose input carried an enqueue time started NS ns after it
package runbench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"connectrpc.com/connect"
	"github.com/redis/go-redis/v9"

	"github.com/sundial-dev/sundial/client"
	"github.com/sundial-dev/sundial/internal/redisconn"
	"github.com/sundial-dev/sundial/server"
)

// RandomID returns 8 random hex characters, for prefixes and queue names.
func RandomID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Env is an in-process Sundial server on a loopback port, with its own key
// prefix on a real Redis.
type Env struct {
	// Addr is the server's base URL.
	Addr string
	// Redis is the client the server uses.
	Redis redis.UniversalClient
	// Prefix is the server's key prefix, deleted by Close.
	Prefix string

	cancel context.CancelFunc
	done   chan error
	// stopRedis ends the private redis-server of ServerOptions.OwnRedis;
	// nil on a shared Redis.
	stopRedis func()
}

// ServerOptions configures StartServer.
type ServerOptions struct {
	// PoolSize is the least Redis pool size. Optional: defaults to 64.
	PoolSize int
	// Partitions is the server's partition count. Optional: the server's default.
	Partitions int
	// Prefix is the key prefix. Optional: defaults to "sdbench-<random>".
	Prefix string
	// LogLevel filters the server's logs (text, on stderr). Optional: defaults to warn.
	LogLevel slog.Level
	// OwnRedis runs the server on a fresh private redis-server (see
	// StartRedis) instead of redisURL; Close stops it rather than delete
	// the server's keys one by one.
	OwnRedis bool
}

// PhaseRedis returns the Redis a bench phase uses: redisURL, or with own a
// fresh private redis-server (StartRedis). stop ends a private one and
// does nothing otherwise.
func PhaseRedis(ctx context.Context, redisURL string, own bool) (url string, stop func(), err error) {
	if !own {
		return redisURL, func() {}, nil
	}
	return StartRedis(ctx)
}

// StartServer starts a server on redisURL, which must be a loopback
// address, or with so.OwnRedis on a private redis-server.
func StartServer(ctx context.Context, redisURL string, so ServerOptions) (env *Env, err error) {
	if so.PoolSize == 0 {
		so.PoolSize = 64
	}
	if so.Prefix == "" {
		so.Prefix = "sdbench-" + RandomID()
	}
	if so.LogLevel == 0 {
		so.LogLevel = slog.LevelWarn
	}
	redisURL, stopRedis, err := PhaseRedis(ctx, redisURL, so.OwnRedis)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			stopRedis()
		}
	}()
	rdb, err := OpenRedis(redisURL, so.PoolSize)
	if err != nil {
		return nil, err
	}
	pctx, pcancel := context.WithTimeout(ctx, 3*time.Second)
	defer pcancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("redis at %s does not answer (start redis-server or set --redis-url): %w", redisURL, err)
	}
	env = &Env{Redis: rdb, Prefix: so.Prefix, done: make(chan error, 1)}
	if so.OwnRedis {
		env.stopRedis = stopRedis
	}
	srv, err := server.New(server.Config{
		Redis:      rdb,
		KeyPrefix:  env.Prefix,
		Partitions: so.Partitions,
		Logger:     slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: so.LogLevel})),
	})
	if err != nil {
		_ = rdb.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = rdb.Close()
		return nil, err
	}
	env.Addr = "http://" + ln.Addr().String()
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	env.cancel = cancel
	go func() { env.done <- srv.Serve(sctx, ln) }()
	return env, nil
}

// OpenRedis returns a client for redisURL, which must be on a loopback
// address, with a pool of at least pool connections, through redisconn: the
// connection settings of `sundial server`, so the bench measures what ships.
func OpenRedis(redisURL string, pool int) (redis.UniversalClient, error) {
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, fmt.Errorf("--redis-url %q: %w", redisURL, err)
	}
	if h, _, _ := net.SplitHostPort(opts.Addr); !IsLoopback(h) {
		return nil, fmt.Errorf("--redis-url must be a loopback address, got %s", opts.Addr)
	}
	return redisconn.New(redisconn.Options{URL: redisURL, PoolSize: max(opts.PoolSize, pool)})
}

// StartRedis starts a private redis-server without persistence on a free
// loopback port and waits until it answers. A benchmark phase that starts
// its own measures the code, not the history of a long-lived Redis: one
// that held a large data set runs the same commands markedly slower after
// FLUSHALL or deletes (its freed memory stays fragmented), which made
// back-to-back runs on one server drift.
func StartRedis(ctx context.Context) (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", os.TempDir())
	dieWithBench(cmd)
	var out bytes.Buffer // redis-server logs to stdout
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start redis-server (is it installed?): %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop = func() { _ = cmd.Process.Kill(); <-exited }
	url = fmt.Sprintf("redis://127.0.0.1:%d/0", port)
	rdb, err := OpenRedis(url, 1)
	if err != nil {
		stop()
		return "", nil, err
	}
	defer rdb.Close()
	deadline := time.After(10 * time.Second)
	for rdb.Ping(ctx).Err() != nil {
		select {
		case err := <-exited: // out is complete once the process has exited
			return "", nil, fmt.Errorf("private redis-server on port %d exited (%v): %s", port, err, bytes.TrimSpace(out.Bytes()))
		case <-deadline:
			stop()
			return "", nil, errors.New("private redis-server did not answer within 10s")
		case <-time.After(20 * time.Millisecond): // waiting for a process we started
		}
	}
	return url, stop, nil
}

// Close stops the server, and then its private redis-server, or on a
// shared Redis deletes every key under its prefix.
func (e *Env) Close() {
	e.cancel()
	<-e.done
	if e.stopRedis != nil {
		defer e.stopRedis()
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := redisconn.DeleteMatching(ctx, e.Redis, e.Prefix+":*"); err != nil {
			fmt.Fprintf(os.Stderr, "sundial-bench: could not delete the keys under %s: %v\n", e.Prefix, err)
		}
	}
	_ = e.Redis.Close()
}

// StartCPUProfile writes a CPU profile of this process to path until the
// returned stop is called (calling it again does nothing). An empty path
// profiles nothing.
func StartCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, err
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			pprof.StopCPUProfile()
			_ = f.Close()
		})
	}, nil
}

// IsLoopback reports whether host names this machine's loopback interface:
// the load tool sends traffic nowhere else.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Procs is a set of worker child processes.
type Procs struct {
	cmds    []*exec.Cmd
	mu      sync.Mutex
	counts  []int64
	changed chan struct{}
	pickups chan time.Duration
	exited  chan error
	cpu     time.Duration
}

// StartProcs starts n copies of exe with args, and waits until each says
// "ready". Each child gets SUNDIAL_BENCH_CHILD=<index> in its environment.
func StartProcs(ctx context.Context, exe string, args []string, n int) (*Procs, error) {
	p := &Procs{counts: make([]int64, n), changed: make(chan struct{}, 1), pickups: make(chan time.Duration, 10000), exited: make(chan error, n)}
	ready := make(chan int, n)
	for i := range n {
		cmd := exec.Command(exe, args...)
		cmd.Env = append(os.Environ(), "SUNDIAL_BENCH_CHILD="+strconv.Itoa(i))
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			p.Stop()
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			p.Stop()
			return nil, fmt.Errorf("start worker process %s: %w", exe, err)
		}
		p.cmds = append(p.cmds, cmd)
		go p.read(i, out, ready)
	}
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for range n {
		select {
		case <-ready:
		case err := <-p.exited:
			p.Stop()
			return nil, fmt.Errorf("worker process exited before it was ready: %v", err)
		case <-deadline.C:
			p.Stop()
			return nil, errors.New("worker processes not ready after 30s")
		case <-ctx.Done():
			p.Stop()
			return nil, ctx.Err()
		}
	}
	return p, nil
}

func (p *Procs) read(i int, r io.Reader, ready chan<- int) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 1 && f[0] == "ready":
			ready <- i
		case len(f) == 2 && f[0] == "completed":
			n, _ := strconv.ParseInt(f[1], 10, 64)
			p.mu.Lock()
			p.counts[i] = n
			p.mu.Unlock()
			select {
			case p.changed <- struct{}{}:
			default:
			}
		case len(f) == 2 && f[0] == "pickup":
			ns, _ := strconv.ParseInt(f[1], 10, 64)
			select {
			case p.pickups <- time.Duration(ns):
			default:
			}
		}
	}
	p.exited <- fmt.Errorf("worker process %d: stdout closed", i)
}

// Completed returns the runs the workers completed so far.
func (p *Procs) Completed() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var s int64
	for _, c := range p.counts {
		s += c
	}
	return s
}

// WaitCompleted waits until the workers completed at least n runs and
// returns when they got there.
func (p *Procs) WaitCompleted(ctx context.Context, n int64) (time.Time, error) {
	for {
		if p.Completed() >= n {
			return time.Now(), nil
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("%d of %d runs completed: %w", p.Completed(), n, ctx.Err())
		case err := <-p.exited:
			return time.Time{}, err
		case <-p.changed:
		}
	}
}

// Pickups is where the workers' pickup latencies arrive.
func (p *Procs) Pickups() <-chan time.Duration { return p.pickups }

// CPU returns the user+system CPU time the children used; call it after Stop.
func (p *Procs) CPU() time.Duration { return p.cpu }

// Stop sends SIGTERM to every child and waits for them, killing those that
// take more than 10 s.
func (p *Procs) Stop() {
	for _, c := range p.cmds {
		_ = c.Process.Signal(syscall.SIGTERM)
	}
	for _, c := range p.cmds {
		done := make(chan struct{})
		go func() { _ = c.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = c.Process.Kill()
			<-done
		}
		if st := c.ProcessState; st != nil {
			p.cpu += st.UserTime() + st.SystemTime()
		}
	}
	p.cmds = nil
}

// Reporter prints the child's side of the line protocol.
type Reporter struct {
	mu        sync.Mutex
	w         io.Writer
	completed int64
	printed   int64
}

// NewReporter returns a reporter writing to w.
func NewReporter(w io.Writer) *Reporter { return &Reporter{w: w} }

// Ready says the worker is polling.
func (r *Reporter) Ready() { r.line("ready") }

// Pickup reports one pickup latency.
func (r *Reporter) Pickup(d time.Duration) { r.line("pickup " + strconv.FormatInt(int64(d), 10)) }

// Done counts one completed run; Flush prints the count.
func (r *Reporter) Done() {
	r.mu.Lock()
	r.completed++
	r.mu.Unlock()
}

// Loop prints the completed count every few milliseconds when it changed,
// until ctx ends.
func (r *Reporter) Loop(ctx context.Context) {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.mu.Lock()
		n, changed := r.completed, r.completed != r.printed
		r.printed = n
		r.mu.Unlock()
		if changed {
			r.line("completed " + strconv.FormatInt(n, 10))
		}
	}
}

func (r *Reporter) line(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintln(r.w, s)
}

// Latency summarises pickup latencies.
type Latency struct {
	N                  int
	P50, P90, P99, Max time.Duration
}

// Summarise computes the percentiles of ds.
func Summarise(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return Latency{N: len(s), P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: s[len(s)-1]}
}

// String prints "p50 … p90 … p99 … max … (n=…)", or "no samples".
func (l Latency) String() string {
	if l.N == 0 {
		return "no samples"
	}
	r := func(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  max %s  (n=%d)", r(l.P50), r(l.P90), r(l.P99), r(l.Max), l.N)
}

// Throughput is the outcome of a throughput phase.
type Throughput struct {
	Runs       int
	StartedIn  time.Duration // until the last start was acknowledged
	FinishedIn time.Duration // until the last run completed
}

// PerSecond is runs completed per second, end to end.
func (t Throughput) PerSecond() float64 { return float64(t.Runs) / t.FinishedIn.Seconds() }

// String prints the phase's figures.
func (t Throughput) String() string {
	return fmt.Sprintf("%d runs in %s: %.0f runs/s end to end (starts acknowledged in %s: %.0f starts/s)",
		t.Runs, t.FinishedIn.Round(time.Millisecond), t.PerSecond(), t.StartedIn.Round(time.Millisecond), float64(t.Runs)/t.StartedIn.Seconds())
}

// Measure runs n enqueues with `producers` goroutines, each calling enqueue,
// and waits until procs completed base+n runs.
func Measure(ctx context.Context, procs *Procs, n, producers int, enqueue func(ctx context.Context, i int) error) (Throughput, error) {
	base := procs.Completed()
	start := time.Now()
	var next sync.Mutex
	i := 0
	errc := make(chan error, producers)
	var wg sync.WaitGroup
	for range producers {
		wg.Go(func() {
			for {
				next.Lock()
				k := i
				i++
				next.Unlock()
				if k >= n {
					return
				}
				if err := enqueue(ctx, k); err != nil {
					errc <- err
					return
				}
			}
		})
	}
	wg.Wait()
	started := time.Since(start)
	select {
	case err := <-errc:
		return Throughput{}, err
	default:
	}
	end, err := procs.WaitCompleted(ctx, base+int64(n))
	if err != nil {
		return Throughput{}, err
	}
	return Throughput{Runs: n, StartedIn: started, FinishedIn: end.Sub(start)}, nil
}

// MeasurePickup enqueues n runs one at a time (light load: the next starts
// once the previous was picked up) and collects the workers' pickup
// latencies. enqueue must put the time it is called in the run's input.
func MeasurePickup(ctx context.Context, procs *Procs, n int, enqueue func(ctx context.Context, i int) error) (Latency, error) {
	var ds []time.Duration
	for i := range n {
		if err := enqueue(ctx, i); err != nil {
			return Latency{}, err
		}
		select {
		case d := <-procs.Pickups():
			ds = append(ds, d)
		case <-time.After(30 * time.Second):
			return Latency{}, fmt.Errorf("run %d not picked up within 30s", i)
		case <-ctx.Done():
			return Latency{}, ctx.Err()
		}
	}
	return Summarise(ds), nil
}

// Dial returns a client for env's server.
func Dial(ctx context.Context, addr string) (*client.Client, error) {
	return client.Dial(ctx, client.Options{Address: addr, Identity: "sundial-bench", ClientOptions: ClientOptions()})
}

// ClientOptions are the Connect options of the bench's clients: with
// SUNDIAL_BENCH_NO_GZIP set they stop asking for gzipped responses, to
// measure what compressing tiny messages costs.
func ClientOptions() []connect.ClientOption {
	if os.Getenv("SUNDIAL_BENCH_NO_GZIP") == "" {
		return nil
	}
	return []connect.ClientOption{connect.WithAcceptCompression("gzip", nil, nil)}
}

// SelfCPU returns the user+system CPU time this process used so far.
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// RedisCPU returns the CPU time Redis reports having used (INFO cpu), or 0.
func RedisCPU(ctx context.Context, rdb redis.UniversalClient) time.Duration {
	info, err := rdb.Info(ctx, "cpu").Result()
	if err != nil {
		return 0
	}
	var total float64
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			f, _ := strconv.ParseFloat(v, 64)
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}
