// Command schedule shows Sundial's Go schedule client: it dials a server,
// creates a schedule, describes it, triggers it and deletes it.
//
//	go run ./cmd/sundial dev          # in one terminal
//	go run ./examples/schedule        # in another
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/sundial-dev/sundial/client"
	"github.com/sundial-dev/sundial/schedule"
)

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	c, err := client.Dial(ctx, client.Options{Address: os.Getenv("SUNDIAL_ADDRESS")})
	if err != nil {
		return err
	}
	defer c.Close()

	sc := c.ScheduleClient()
	h, err := sc.Create(ctx, client.ScheduleOptions{
		ID: "example-hello",
		Spec: schedule.Spec{
			// Every 10 seconds, and at 09:00 on weekdays in Paris.
			Intervals:       []schedule.Interval{{Every: 10 * time.Second}},
			CronExpressions: []string{"0 9 * * MON-FRI"},
			TimeZone:        "Europe/Paris",
		},
		Action: client.ScheduleWorkflowAction{
			Workflow:  "sundial.echo", // the demo worker of `sundial dev` runs it
			TaskQueue: "demo",
			Input:     map[string]string{"greeting": "hello"},
		},
		Overlap: schedule.OverlapSkip,
		Note:    "created by examples/schedule",
	})
	if errors.Is(err, client.ErrScheduleAlreadyExists) {
		h = sc.GetHandle(ctx, "example-hello")
	} else if err != nil {
		return err
	}

	d, err := h.Describe(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("schedule %s starts %s on %s\n", h.GetID(), d.Schedule.Action.WorkflowType, d.Schedule.Action.TaskQueue)
	for _, t := range d.Info.NextActionTimes[:min(3, len(d.Info.NextActionTimes))] {
		fmt.Println("  next:", t.Format(time.RFC3339))
	}

	res, err := h.Trigger(ctx, client.ScheduleTriggerOptions{Overlap: schedule.OverlapAllowAll})
	if err != nil {
		return err
	}
	fmt.Printf("triggered: %s workflow %s (run %s)\n", res.Outcome, res.WorkflowID, res.RunID)

	// Read-modify-write: the callback gets the current schedule.
	err = h.Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			s := in.Description.Schedule
			s.Policy.Overlap = schedule.OverlapBufferOne
			return &client.ScheduleUpdate{Schedule: &s}, nil
		},
	})
	if err != nil {
		return err
	}

	if err := h.Delete(ctx); err != nil {
		return err
	}
	fmt.Println("deleted", h.GetID())
	return nil
}
