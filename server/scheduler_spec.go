package server

import (
	"time"

	"github.com/sundial-dev/sundial/schedule"
)

// compiledSpec is what the scheduler and the handlers need from a compiled
// spec (schedule.CompiledSpec), as an interface so tests can reason about it.
type compiledSpec interface {
	Next(after time.Time) (time.Time, bool)
	Jittered(scheduleID string, nominal time.Time) time.Time
}

// compileSpec compiles s with the calendar engine.
func compileSpec(s schedule.Spec) (compiledSpec, error) {
	c, err := schedule.Compile(s)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// dueAt is when the action for nominal is due: its jittered time, at the
// due sets' millisecond resolution.
func dueAt(spec compiledSpec, id string, nominal time.Time) time.Time {
	return spec.Jittered(id, nominal).Truncate(time.Millisecond)
}
