package main

import (
	"context"
	"testing"
	"time"

	"github.com/sundial-dev/sundial/internal/testserver"
)

func TestScheduleExample(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	t.Setenv("SUNDIAL_ADDRESS", ts.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx); err != nil {
		t.Fatalf("the example failed against a real server: %v", err)
	}
}
