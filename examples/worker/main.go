// Command worker shows a Sundial worker: it registers a typed workflow on a
// task queue, starts one run of it with the Go client, waits for the result
// and prints it.
//
//	go run ./cmd/sundial dev          # in one terminal
//	go run ./examples/worker          # in another
//
// A schedule whose action names workflow type "greet" on task queue
// "greetings" is run by this worker too, for as long as it runs.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/sundial-dev/sundial/client"
	"github.com/sundial-dev/sundial/schedule"
	"github.com/sundial-dev/sundial/worker"
)

// GreetInput is the workflow's input, decoded from JSON.
type GreetInput struct {
	Name string `json:"name"`
}

// GreetResult is the workflow's result, encoded as JSON.
type GreetResult struct {
	Greeting string `json:"greeting"`
	Attempt  int    `json:"attempt"`
}

// greet is the workflow: an ordinary Go function with a context.
func greet(ctx context.Context, in GreetInput) (GreetResult, error) {
	if in.Name == "" {
		// Non-retryable: retrying will not make a name appear.
		return GreetResult{}, worker.NewNonRetryableError("MissingName", "name is required")
	}
	return GreetResult{Greeting: "Hello, " + in.Name + "!", Attempt: worker.GetInfo(ctx).Attempt}, nil
}

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := run(ctx, os.Getenv("SUNDIAL_ADDRESS"), "Ada")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Greeting)
}

// run starts a worker, executes one workflow through it and returns the result.
func run(ctx context.Context, address, name string) (GreetResult, error) {
	c, err := client.Dial(ctx, client.Options{Address: address})
	if err != nil {
		return GreetResult{}, err
	}
	defer c.Close()

	w := worker.New(c, "greetings", worker.Options{MaxConcurrentRuns: 4})
	w.RegisterWorkflow("greet", greet)
	wctx, stopWorker := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	defer func() {
		stopWorker()
		<-done
	}()

	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		TaskQueue:   "greetings",
		RetryPolicy: &schedule.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 3},
	}, "greet", GreetInput{Name: name})
	if err != nil {
		return GreetResult{}, err
	}
	var res GreetResult
	if err := run.Get(ctx, &res); err != nil {
		return GreetResult{}, fmt.Errorf("workflow %s: %w", run.GetID(), err)
	}
	return res, nil
}
