package server

import (
	"context"
	"fmt"
	"testing"

	"connectrpc.com/connect"

	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/internal/testredis"
)

// BenchmarkPauseAllSchedules pauses, then resumes, every schedule of a
// namespace of 1,000 (real Redis when available), and reports the time
// per schedule changed.
func BenchmarkPauseAllSchedules(b *testing.B) {
	sb := schedSetup(b, testredis.New(b))
	ctx := context.Background()
	const n = 1000
	for i := range n {
		req := &pb.CreateScheduleRequest{Namespace: sb.ns, ScheduleId: fmt.Sprint("pa-", i), Schedule: basicSchedule()}
		if _, err := sb.h.CreateSchedule(ctx, connect.NewRequest(req)); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		p, err := sb.h.PauseAllSchedules(ctx, connect.NewRequest(&pb.PauseAllSchedulesRequest{Namespace: sb.ns, Note: "bench"}))
		if err != nil || p.Msg.GetCount() != n {
			b.Fatalf("pause all: %v, %v; want %d paused", p, err, n)
		}
		r, err := sb.h.ResumeAllSchedules(ctx, connect.NewRequest(&pb.ResumeAllSchedulesRequest{Namespace: sb.ns}))
		if err != nil || r.Msg.GetCount() != n {
			b.Fatalf("resume all: %v, %v; want %d resumed", r, err, n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*2*n), "µs/schedule")
}
