package client

// OnStartQueued sets a hook called with the number of starts waiting for a
// call each time ExecuteWorkflow queues one (tests of the batching).
func OnStartQueued(c *Client, f func(n int)) { c.starts.batches.OnQueue = f }

// MaxStartsInFlight is how many start calls a client keeps out at once.
const MaxStartsInFlight = maxStartsInFlight
