package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"slices"
	"time"

	"github.com/sundial-dev/sundial/client"
	"github.com/sundial-dev/sundial/schedule"
)

func ExampleScheduleClient_Create() {
	ctx := context.Background()
	c, err := client.Dial(ctx, client.Options{Address: "http://127.0.0.1:7711"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	h, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:   "nightly-report",
		Spec: schedule.Spec{CronExpressions: []string{"0 2 * * *"}, TimeZone: "Europe/Paris"},
		Action: client.ScheduleWorkflowAction{
			Workflow:  "report",
			TaskQueue: "reports",
			Input:     map[string]string{"day": "yesterday"},
		},
		Overlap:       schedule.OverlapBufferOne,
		CatchupWindow: time.Hour,
	})
	if errors.Is(err, client.ErrScheduleAlreadyExists) {
		h = c.ScheduleClient().GetHandle(ctx, "nightly-report")
	} else if err != nil {
		log.Fatal(err)
	}
	d, err := h.Describe(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("next run:", d.Info.NextActionTimes[0])
}

func ExampleScheduleHandle_Update() {
	ctx := context.Background()
	c, err := client.Dial(ctx, client.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	h := c.ScheduleClient().GetHandle(ctx, "nightly-report")
	// Read-modify-write: DoUpdate gets the current schedule and may run again
	// if someone else changes it in between.
	err = h.Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			s := in.Description.Schedule
			if slices.Contains(s.Spec.CronExpressions, "30 2 * * *") {
				return nil, client.ErrSkipScheduleUpdate
			}
			s.Spec.CronExpressions = []string{"30 2 * * *"}
			return &client.ScheduleUpdate{Schedule: &s}, nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
}

func ExampleScheduleClient_List() {
	ctx := context.Background()
	c, err := client.Dial(ctx, client.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	for e, err := range c.ScheduleClient().List(ctx, client.ScheduleListOptions{Paused: client.ScheduleListPaused}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(e.ID, e.SpecSummary, e.Note)
	}
}
