package runbench

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	"github.com/sundial-dev/sundial/client"
	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/internal/gen/sundial/v1/sundialv1connect"
	"github.com/sundial-dev/sundial/worker"
)

// NoopWorkflow is the workflow type the bench starts.
const NoopWorkflow = "bench.Noop"

// Stamp is a run's input: when set, EnqueuedNS is when the producer called
// start, and the worker reports the pickup latency.
type Stamp struct {
	EnqueuedNS int64 `json:"enq,omitempty"`
}

// WorkerArgs are the flags of a Sundial worker child process.
type WorkerArgs struct {
	Addr        string
	Namespace   string
	Queue       string
	Concurrency int
	Pollers     int
}

// Args returns the flags that WorkerMain parses back.
func (a WorkerArgs) Args() []string {
	return []string{"--addr", a.Addr, "--namespace", a.Namespace, "--queue", a.Queue,
		"--concurrency", fmt.Sprint(a.Concurrency), "--pollers", fmt.Sprint(a.Pollers)}
}

// WorkerMain is a Sundial worker child process: it runs NoopWorkflow on a
// queue until ctx ends, speaking the line protocol on out.
func WorkerMain(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("runs-worker", flag.ContinueOnError)
	var a WorkerArgs
	fs.StringVar(&a.Addr, "addr", client.DefaultAddress, "server address")
	fs.StringVar(&a.Namespace, "namespace", client.DefaultNamespace, "namespace")
	fs.StringVar(&a.Queue, "queue", "", "task queue")
	fs.IntVar(&a.Concurrency, "concurrency", 64, "max concurrent runs")
	fs.IntVar(&a.Pollers, "pollers", 2, "pollers")
	cpuProfile := fs.String("cpuprofile", os.Getenv("SUNDIAL_BENCH_WORKER_CPUPROFILE"), "write a CPU profile of this worker process to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	profilePath := ""
	if *cpuProfile != "" {
		profilePath = *cpuProfile + "." + os.Getenv("SUNDIAL_BENCH_CHILD")
	}
	stopProfile, err := StartCPUProfile(profilePath)
	if err != nil {
		return err
	}
	defer stopProfile()
	rep := NewReporter(out)
	var polls, polled atomic.Int64
	count := connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			res, err := next(ctx, req)
			switch {
			case err != nil:
			case req.Spec().Procedure == sundialv1connect.WorkerServiceCompleteTaskProcedure:
				rep.Done()
			case req.Spec().Procedure == sundialv1connect.WorkerServiceReportTasksProcedure:
				if m, ok := res.Any().(*pb.ReportTasksResponse); ok {
					for _, r := range m.GetCompletions() {
						if r.GetCode() == 0 {
							rep.Done()
						}
					}
				}
			case req.Spec().Procedure == sundialv1connect.WorkerServicePollTasksProcedure:
				polls.Add(1)
				if m, ok := res.Any().(*pb.PollTasksResponse); ok {
					polled.Add(int64(len(m.GetTasks())))
				}
			}
			return res, err
		}
	})
	defer func() {
		if os.Getenv("SUNDIAL_BENCH_VERBOSE") != "" {
			fmt.Fprintf(os.Stderr, "worker %d: %d polls returned %d tasks\n", os.Getpid(), polls.Load(), polled.Load())
		}
	}()
	c, err := client.Dial(ctx, client.Options{Address: a.Addr, Namespace: a.Namespace, Identity: fmt.Sprintf("bench-worker-%d", os.Getpid()),
		ClientOptions: append(ClientOptions(), connect.WithInterceptors(count))})
	if err != nil {
		return err
	}
	defer c.Close()
	w := worker.New(c, a.Queue, worker.Options{
		MaxConcurrentRuns: a.Concurrency,
		Pollers:           a.Pollers,
		GracePeriod:       2 * time.Second,
		Logger:            slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	w.RegisterWorkflow(NoopWorkflow, func(_ context.Context, in Stamp) error {
		if in.EnqueuedNS != 0 {
			rep.Pickup(time.Duration(time.Now().UnixNano() - in.EnqueuedNS))
		}
		return nil
	})
	go rep.Loop(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	rep.Ready()
	return <-done
}

// SundialEnqueue returns an enqueue function starting NoopWorkflow runs on
// queue; with stamp, each run's input carries the time of the call.
func SundialEnqueue(c *client.Client, queue string, stamp bool) func(ctx context.Context, i int) error {
	return func(ctx context.Context, i int) error {
		var in Stamp
		if stamp {
			in.EnqueuedNS = time.Now().UnixNano()
		}
		_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: queue}, NoopWorkflow, in)
		if err != nil {
			return fmt.Errorf("start run %d: %w", i, err)
		}
		return nil
	}
}
