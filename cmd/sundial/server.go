package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sundial-dev/sundial/internal/redisconn"
	"github.com/sundial-dev/sundial/server"
)

func init() { register("server", newServerCmd) }

// serverFlags are the settings `sundial server` and `sundial dev` share.
type serverFlags struct {
	listen       string
	keyPrefix    string
	partitions   int
	logLevel     string
	logFormat    string
	pollInterval time.Duration
	runRetention time.Duration
}

// add declares the flags on c with the given defaults.
func (f *serverFlags) add(c *cobra.Command, defaultListen, defaultLogFormat, defaultLogLevel string) {
	c.Flags().StringVar(&f.listen, "listen", defaultListen, "address to serve on (host:port)")
	c.Flags().StringVar(&f.keyPrefix, "key-prefix", "sundial", "prefix of every Redis key")
	c.Flags().IntVar(&f.partitions, "partitions", 16, "due-time partitions (every replica must use the same number)")
	c.Flags().StringVar(&f.logLevel, "log-level", defaultLogLevel, "debug, info, warn or error")
	c.Flags().StringVar(&f.logFormat, "log-format", defaultLogFormat, "json or text")
	c.Flags().DurationVar(&f.pollInterval, "poll-interval", 100*time.Millisecond, "how often the loops look for due work")
	c.Flags().DurationVar(&f.runRetention, "run-retention", 7*24*time.Hour, "how long closed runs are kept (negative: for ever)")
}

func (f *serverFlags) logger(w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, usageErrorf("--log-level %q: use debug, info, warn or error", f.logLevel)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch f.logFormat {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, usageErrorf("--log-format %q: use json or text", f.logFormat)
}

func newServerCmd(m *Main) *cobra.Command {
	var (
		sf         serverFlags
		redisURL   string
		redisMode  string
		masterName string
	)
	c := &cobra.Command{
		Use:   "server",
		Short: "Run a Sundial server against Redis (production)",
		Long: `Run a Sundial server. Several replicas may share one Redis: they divide the
schedule partitions between them, and every fire starts exactly one run.

Redis: --redis-url or SUNDIAL_REDIS_URL (redis:// or rediss:// with password and
TLS); --redis-mode cluster or sentinel (with --redis-master-name) for those
deployments. Logs are JSON on stderr. SIGTERM shuts down gracefully.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if redisURL == "" {
				redisURL = m.getenv("SUNDIAL_REDIS_URL")
			}
			if redisURL == "" {
				return usageErrorf("missing Redis URL (set --redis-url or SUNDIAL_REDIS_URL, e.g. redis://127.0.0.1:6379/0; or run `sundial dev` for an embedded Redis)")
			}
			log, err := sf.logger(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			rdb, err := redisconn.Open(cmd.Context(), redisconn.Options{URL: redisURL, Mode: redisconn.Mode(redisMode), MasterName: masterName})
			if err != nil {
				return err
			}
			defer rdb.Close()
			srv, err := server.New(server.Config{
				Redis: rdb, KeyPrefix: sf.keyPrefix, Logger: log,
				Partitions: sf.partitions, PollInterval: sf.pollInterval, RunRetention: sf.runRetention,
			})
			if err != nil {
				return usageErrorf("%v", err)
			}
			ln, err := net.Listen("tcp", sf.listen)
			if err != nil {
				return fmt.Errorf("listen on %s: %w (is another server running? pick one with --listen)", sf.listen, err)
			}
			return srv.Serve(cmd.Context(), ln)
		},
	}
	sf.add(c, "0.0.0.0:7711", "json", "info")
	c.Flags().StringVar(&redisURL, "redis-url", "", "Redis URL (default $SUNDIAL_REDIS_URL)")
	c.Flags().StringVar(&redisMode, "redis-mode", "single", "single, cluster or sentinel")
	c.Flags().StringVar(&masterName, "redis-master-name", "", "Sentinel master name (sentinel mode)")
	return c
}

// listenURL turns a listener address into the URL clients should use.
func listenURL(addr net.Addr) string {
	s := addr.String()
	if strings.HasPrefix(s, "0.0.0.0:") || strings.HasPrefix(s, "[::]:") {
		s = "127.0.0.1" + s[strings.LastIndex(s, ":"):]
	}
	return "http://" + s
}
