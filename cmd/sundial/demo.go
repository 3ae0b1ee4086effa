package main

import "context"

// runDemoWorker runs the built-in demo worker against the server at url until
// ctx ends. (The worker package is being built; until it lands the demo
// worker only waits.)
func runDemoWorker(ctx context.Context, url string) error {
	<-ctx.Done()
	return nil
}
