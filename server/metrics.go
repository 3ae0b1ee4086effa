package server

import (
	"context"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
)

// metrics are the server's Prometheus metrics, served at /metrics. Each
// Server has its own registry, so several servers in one process (tests,
// the load tool) do not collide.
type metrics struct {
	registry    *prometheus.Registry
	rpcs        *prometheus.CounterVec
	rpcDuration *prometheus.HistogramVec
	fires       *prometheus.CounterVec
	fireLag     prometheus.Histogram
	runsClosed  *prometheus.CounterVec
}

func newMetrics(rdb redis.UniversalClient) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		rpcs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sundial_rpc_requests_total",
			Help: "RPCs handled, by procedure and Connect code.",
		}, []string{"procedure", "code"}),
		rpcDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sundial_rpc_duration_seconds",
			Help:    "RPC latency by procedure (long polls included).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5, 30, 60},
		}, []string{"procedure"}),
		fires: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sundial_schedule_fires_total",
			Help: "Nominal fires processed by the scheduler, by outcome (STARTED, SKIPPED_OVERLAP, MISSED, ...).",
		}, []string{"outcome"}),
		fireLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sundial_schedule_fire_lag_seconds",
			Help:    "Time from a fire's due time (nominal plus jitter) to its run being enqueued.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 60},
		}),
		runsClosed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sundial_runs_closed_total",
			Help: "Runs started by schedules that closed, by status, as seen by the scheduler.",
		}, []string{"status"}),
	}
	m.registry.MustRegister(m.rpcs, m.rpcDuration, m.fires, m.fireLag, m.runsClosed,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if rdb != nil {
		m.registry.MustRegister(redisPoolCollector{rdb})
	}
	return m
}

// lag records the fire lag of a run started at its due time.
func (m *metrics) lag(d time.Duration) {
	if m == nil {
		return
	}
	m.fireLag.Observe(d.Seconds())
}

// handler serves the metrics in the Prometheus text format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// fired records one processed fire.
func (m *metrics) fired(outcome string) {
	if m == nil {
		return
	}
	m.fires.WithLabelValues(outcome).Inc()
}

// runClosed records a closed run reported to the scheduler.
func (m *metrics) runClosed(status string) {
	if m == nil {
		return
	}
	m.runsClosed.WithLabelValues(status).Inc()
}

// interceptor counts and times every unary and streaming-handler call.
func (m *metrics) interceptor() connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			start := time.Now()
			res, err := next(ctx, req)
			proc := req.Spec().Procedure
			code := "ok"
			if err != nil {
				code = connect.CodeOf(err).String()
			}
			m.rpcs.WithLabelValues(proc, code).Inc()
			m.rpcDuration.WithLabelValues(proc).Observe(time.Since(start).Seconds())
			return res, err
		}
	}
}

// redisPoolCollector exports go-redis's connection pool statistics.
type redisPoolCollector struct{ rdb redis.UniversalClient }

var (
	redisConnsDesc = prometheus.NewDesc("sundial_redis_pool_connections", "Redis pool connections by state.", []string{"state"}, nil)
	redisHitsDesc  = prometheus.NewDesc("sundial_redis_pool_timeouts_total", "Times a Redis pool connection could not be had in time.", nil, nil)
)

func (c redisPoolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- redisConnsDesc
	ch <- redisHitsDesc
}

func (c redisPoolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.rdb.PoolStats()
	ch <- prometheus.MustNewConstMetric(redisConnsDesc, prometheus.GaugeValue, float64(s.IdleConns), "idle")
	ch <- prometheus.MustNewConstMetric(redisConnsDesc, prometheus.GaugeValue, float64(s.TotalConns-s.IdleConns), "in_use")
	ch <- prometheus.MustNewConstMetric(redisHitsDesc, prometheus.CounterValue, float64(s.Timeouts))
}
