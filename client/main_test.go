package client_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: a client
// or worker that does not stop cleanly is a bug.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
