// Package server is Sundial's server: the Connect handlers (which also speak
// gRPC and gRPC-Web), the scheduler loop that fires schedules and the timer
// loop that drives runs. Every replica is stateless; Redis holds everything.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	"github.com/oklog/ulid/v2"
	"github.com/redis/go-redis/v9"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c" //lint:ignore SA1019 see buildHandler
	"golang.org/x/sync/errgroup"

	"github.com/sundial-dev/sundial/internal/clock"
)

// Config configures a Server. Call WithDefaults, then New validates it.
type Config struct {
	// Redis is where everything is stored. Required. Single node, Sentinel
	// and Cluster clients all work.
	Redis redis.UniversalClient
	// KeyPrefix starts every Redis key. Optional: defaults to "sundial".
	KeyPrefix string
	// Clock tells the time. Optional: defaults to the wall clock.
	Clock clock.Clock
	// Logger receives JSON-able structured logs. Optional: defaults to slog.Default().
	Logger *slog.Logger
	// ReplicaID names this replica in leases and logs. Optional: defaults to
	// hostname-pid-ULID.
	ReplicaID string
	// Partitions is how many partitions the due-time sets are split into;
	// replicas divide them with leases. Changing it on a live deployment is
	// not supported. Optional: defaults to 16.
	Partitions int
	// MaxRequestBytes caps a request body. Optional: defaults to 4 MiB.
	MaxRequestBytes int
	// PollInterval is how often the loops look for due work when nothing
	// wakes them earlier. Optional: defaults to 100 ms.
	PollInterval time.Duration
	// RunRetention is how long a closed run stays describable and listable
	// before it is deleted. Negative keeps closed runs for ever. Optional:
	// defaults to 7 days.
	RunRetention time.Duration

	// metrics is set by New; components record into it.
	metrics *metrics

	// DisableLoops stops New from running the scheduler and timer loops, for
	// tests that drive them step by step. Optional: defaults to false.
	DisableLoops bool
}

// WithDefaults returns a copy of c with every unset optional field set.
func (c Config) WithDefaults() Config {
	if c.KeyPrefix == "" {
		c.KeyPrefix = "sundial"
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.ReplicaID == "" {
		host, _ := os.Hostname()
		c.ReplicaID = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), ulid.Make())
	}
	if c.Partitions == 0 {
		c.Partitions = 16
	}
	if c.MaxRequestBytes == 0 {
		c.MaxRequestBytes = 4 << 20
	}
	if c.PollInterval == 0 {
		c.PollInterval = 100 * time.Millisecond
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.Redis == nil:
		return errors.New("missing Redis client (set --redis-url or SUNDIAL_REDIS_URL)")
	case c.Partitions < 1 || c.Partitions > 1024:
		return fmt.Errorf("partitions must be in 1-1024, got %d", c.Partitions)
	case c.MaxRequestBytes < 1024:
		return fmt.Errorf("max request bytes must be at least 1024, got %d", c.MaxRequestBytes)
	case c.PollInterval < time.Millisecond:
		return fmt.Errorf("poll interval must be at least 1ms, got %s", c.PollInterval)
	}
	return nil
}

// component is one part of the server: the Connect services it mounts and
// the background loops it runs.
type component interface {
	mount(mux *http.ServeMux, opts []connect.HandlerOption)
	serviceNames() []string
	run(ctx context.Context) error
}

// Server is one Sundial replica.
type Server struct {
	cfg        Config
	log        *slog.Logger
	components []component
	handler    http.Handler
	runs       *runsComponent
	schedules  *schedulesComponent
}

// New builds a server. It does not touch the network until Serve or Run.
func New(cfg Config) (*Server, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.metrics = newMetrics(cfg.Redis)
	s := &Server{cfg: cfg, log: cfg.Logger.With("replica", cfg.ReplicaID)}
	rc, err := newRunsComponent(&cfg)
	if err != nil {
		return nil, err
	}
	sc, err := newSchedulesComponent(&cfg, rc.starter())
	if err != nil {
		return nil, err
	}
	rc.setClosedHandler(sc.closedHandler())
	s.runs, s.schedules = rc, sc
	s.components = []component{rc, sc}
	s.handler = s.buildHandler()
	return s, nil
}

func (s *Server) buildHandler() http.Handler {
	mux := http.NewServeMux()
	opts := []connect.HandlerOption{
		connect.WithReadMaxBytes(s.cfg.MaxRequestBytes),
		// Most messages are a few hundred bytes; gzip costs more CPU than
		// it saves below about 1 KiB.
		connect.WithCompressMinBytes(1024),
		connect.WithRecover(func(ctx context.Context, spec connect.Spec, _ http.Header, p any) error {
			s.log.ErrorContext(ctx, "handler panic", "procedure", spec.Procedure, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			return connect.NewError(connect.CodeInternal, errors.New("internal error (the server logged the details)"))
		}),
		connect.WithInterceptors(s.cfg.metrics.interceptor(), errorLogger(s.log)),
	}
	var names []string
	for _, c := range s.components {
		c.mount(mux, opts)
		names = append(names, c.serviceNames()...)
	}
	mux.Handle("/metrics", s.cfg.metrics.handler())
	mux.Handle(grpchealth.NewHandler(grpchealth.NewStaticChecker(names...)))
	reflector := grpcreflect.NewStaticReflector(append(names, grpchealth.HealthV1ServiceName)...)
	mux.Handle(grpcreflect.NewHandlerV1(reflector))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector))
	limited := http.MaxBytesHandler(mux, int64(s.cfg.MaxRequestBytes)+1024)
	// The h2c wrapper lets Handler() serve prior-knowledge HTTP/2 (gRPC
	// without TLS) from any http.Server, including one that, unlike Serve's,
	// does not set Protocols. net/http's own Protocols cover only servers
	// configured for them, so the deprecated wrapper is kept on purpose.
	//lint:ignore SA1019 see above
	return h2c.NewHandler(limited, &http2.Server{})
}

// Handler returns the HTTP handler serving every service over Connect, gRPC
// and gRPC-Web, HTTP/1.1 and h2c, with health, reflection and /metrics
// beside them. It can be mounted in any http.Server.
func (s *Server) Handler() http.Handler { return s.handler }

// Run runs the background loops (scheduler, timers) until ctx ends. Serve
// calls it; tests that only need the handler may call it themselves.
func (s *Server) Run(ctx context.Context) error {
	if s.cfg.DisableLoops {
		<-ctx.Done()
		return nil
	}
	g, ctx := errgroup.WithContext(ctx)
	for _, c := range s.components {
		g.Go(func() error { return c.run(ctx) })
	}
	err := g.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// Serve serves on ln and runs the loops until ctx ends, then shuts down
// gracefully: it stops accepting, lets in-flight calls (long polls included)
// finish for up to 10 s, and returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true) // h2c with prior knowledge, as gRPC clients speak it
	hs := &http.Server{
		Handler:           s.handler,
		Protocols:         &protocols,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		// Long polls (PollTasks, GetWorkflowResult) wait up to 60 s.
		WriteTimeout:   75 * time.Second,
		IdleTimeout:    120 * time.Second,
		MaxHeaderBytes: 64 << 10,
		BaseContext:    func(net.Listener) context.Context { return ctx },
	}
	loopCtx, stopLoops := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLoops()
	loopErr := make(chan error, 1)
	go func() { loopErr <- s.Run(loopCtx) }()
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	s.log.Info("serving", "addr", ln.Addr().String())
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		stopLoops()
		<-loopErr
		return err
	case err := <-loopErr:
		_ = hs.Close()
		return err
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err := hs.Shutdown(shutCtx)
	stopLoops()
	if lerr := <-loopErr; err == nil {
		err = lerr
	}
	s.log.Info("stopped")
	return err
}
