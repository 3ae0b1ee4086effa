package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sundial-dev/sundial/client"
	"github.com/sundial-dev/sundial/internal/testserver"
)

func TestWorkerExample(t *testing.T) {
	t.Parallel()
	ts := testserver.Start(t, testserver.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := run(ctx, ts.URL, "Ada")
	if err != nil {
		t.Fatal(err)
	}
	if res.Greeting != "Hello, Ada!" || res.Attempt != 1 {
		t.Fatalf("got %+v, want the greeting for Ada on attempt 1", res)
	}
}

func TestWorkerExampleNonRetryable(t *testing.T) {
	t.Parallel()
	ts := testserver.Start(t, testserver.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := run(ctx, ts.URL, "")
	var wf *client.WorkflowFailedError
	if !errors.As(err, &wf) {
		t.Fatalf("want a *client.WorkflowFailedError for an empty name, got %v", err)
	}
	if wf.Failure == nil || wf.Failure.Type != "MissingName" {
		t.Fatalf("failure %+v, want type MissingName (not retried)", wf.Failure)
	}
}
