package worker

import (
	"fmt"
	"log/slog"
	"os"
	"time"
)

// Options configures a Worker. The zero value is usable: New applies
// WithDefaults.
type Options struct {
	// MaxConcurrentRuns caps how many workflow runs execute at once on this
	// worker. Optional: defaults to 10.
	MaxConcurrentRuns int
	// Pollers is how many long polls the worker keeps open. Each asks for as
	// many tasks as there are free run slots (up to MaxTasksPerPoll), so a
	// few pollers feed every slot. Optional: defaults to 2.
	Pollers int
	// MaxTasksPerPoll caps the tasks one poll may return. Optional: defaults
	// to MaxConcurrentRuns, at most 100 (the server's limit).
	MaxTasksPerPoll int
	// PollWait is how long one poll waits on the server for a task before it
	// returns empty and is sent again. Optional: defaults to 30 s; at most 60 s.
	PollWait time.Duration
	// GracePeriod is how long Run lets in-flight runs finish once its context
	// ends. Runs still going then have their context cancelled (cause
	// ErrWorkerShutdown) and are not reported: the server redelivers each as
	// a new attempt when its heartbeat timeout lapses, which counts against
	// the retry policy's MaximumAttempts but, unlike a reported failure,
	// fails no run that has no retry policy. Optional: defaults to 10 s.
	GracePeriod time.Duration
	// ReportTimeout bounds the retries of one run's report (its completion
	// or failure, sent in a ReportTasks batch, or as CompleteTask or
	// FailTask to a server without ReportTasks) while the server is
	// unavailable. Optional: defaults to 30 s.
	ReportTimeout time.Duration
	// Identity names this worker in the runs' attempt records. Optional:
	// defaults to "<hostname>@<pid>".
	Identity string
	// Logger receives the worker's logs. Optional: defaults to slog.Default().
	Logger *slog.Logger
}

// WithDefaults returns a copy of o with every unset optional field set.
func (o Options) WithDefaults() Options {
	if o.MaxConcurrentRuns == 0 {
		o.MaxConcurrentRuns = 10
	}
	if o.Pollers == 0 {
		o.Pollers = 2
	}
	if o.MaxTasksPerPoll == 0 {
		o.MaxTasksPerPoll = min(o.MaxConcurrentRuns, 100)
	}
	if o.PollWait == 0 {
		o.PollWait = 30 * time.Second
	}
	if o.GracePeriod == 0 {
		o.GracePeriod = 10 * time.Second
	}
	if o.ReportTimeout == 0 {
		o.ReportTimeout = 30 * time.Second
	}
	if o.Identity == "" {
		host, _ := os.Hostname()
		o.Identity = fmt.Sprintf("%s@%d", host, os.Getpid())
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

func (o Options) validate() error {
	switch {
	case o.MaxConcurrentRuns < 1:
		return fmt.Errorf("invalid MaxConcurrentRuns: must be at least 1, got %d", o.MaxConcurrentRuns)
	case o.Pollers < 1:
		return fmt.Errorf("invalid Pollers: must be at least 1, got %d", o.Pollers)
	case o.MaxTasksPerPoll < 1 || o.MaxTasksPerPoll > 100:
		return fmt.Errorf("invalid MaxTasksPerPoll: must be in 1-100, got %d", o.MaxTasksPerPoll)
	case o.PollWait < 10*time.Millisecond || o.PollWait > 60*time.Second:
		return fmt.Errorf("invalid PollWait: must be between 10ms and 60s, got %s", o.PollWait)
	case o.GracePeriod < 0:
		return fmt.Errorf("invalid GracePeriod: must not be negative, got %s", o.GracePeriod)
	case o.ReportTimeout < 0:
		return fmt.Errorf("invalid ReportTimeout: must not be negative, got %s", o.ReportTimeout)
	}
	return nil
}
