package server

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: the
// scheduler, timer and long-poll loops must all stop with their context.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
