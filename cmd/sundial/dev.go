package main

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/sundial-dev/sundial/server"
)

func init() { register("dev", newDevCmd) }

// demoQueues are the task queues the built-in demo worker polls.
var demoQueues = []string{"demo", "default"}

func newDevCmd(m *Main) *cobra.Command {
	var (
		sf     serverFlags
		port   int
		noDemo bool
	)
	c := &cobra.Command{
		Use:   "dev",
		Short: "Run a server with an embedded Redis and a demo worker (nothing to install)",
		Long: `Run everything in one process for development: a Sundial server on
127.0.0.1:7711, an embedded in-memory Redis (miniredis, nothing is kept on
exit) and a demo worker that runs workflow type "sundial.echo" on the task
queues "demo" and "default".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := sf.logger(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			mr := miniredis.NewMiniRedis()
			if err := mr.Start(); err != nil {
				return fmt.Errorf("start embedded Redis: %w", err)
			}
			defer mr.Close()
			rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
			defer rdb.Close()
			srv, err := server.New(server.Config{Redis: rdb, KeyPrefix: sf.keyPrefix, Logger: log, Partitions: sf.partitions, PollInterval: sf.pollInterval, RunRetention: sf.runRetention})
			if err != nil {
				return err
			}
			addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listen on %s: %w (is another `sundial dev` running? pick another port with --port)", addr, err)
			}
			url := listenURL(ln.Addr())
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Sundial dev server listening on %s (embedded Redis: nothing is kept on exit)\n", url)
			if !noDemo {
				fmt.Fprintf(out, "Demo worker: workflow type sundial.echo on task queues %v\n", demoQueues)
			}
			fmt.Fprintf(out, `
Try it, in another terminal:
  go run ./cmd/sundial schedule create --id hello --interval 2s --workflow-type sundial.echo --task-queue demo --input '{"hi":1}'
  go run ./cmd/sundial schedule describe hello
  curl -s -H 'Content-Type: application/json' -d '{"schedule_id":"hello"}' %s/sundial.v1.ScheduleService/DescribeSchedule

Stop with Ctrl-C.
`, url)
			g, ctx := errgroup.WithContext(cmd.Context())
			g.Go(func() error { return srv.Serve(ctx, ln) })
			if !noDemo {
				g.Go(func() error { return runDemoWorker(ctx, url, cmd.ErrOrStderr()) })
			}
			return ignoreCanceled(g.Wait())
		},
	}
	sf.add(c, "", "text", "warn")
	_ = c.Flags().MarkHidden("listen")
	c.Flags().IntVar(&port, "port", 7711, "port to serve on (127.0.0.1 only)")
	c.Flags().BoolVar(&noDemo, "no-demo", false, "do not start the built-in demo worker")
	return c
}

func ignoreCanceled(err error) error {
	if err == context.Canceled {
		return nil
	}
	return err
}
