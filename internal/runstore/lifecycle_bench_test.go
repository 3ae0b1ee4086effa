package runstore

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sundial-dev/sundial/internal/clock"
	"github.com/sundial-dev/sundial/internal/runs"
	"github.com/sundial-dev/sundial/internal/testredis"
)

// redisCPU returns a function reading the Redis server's CPU seconds
// (user + system, INFO cpu). Meaningful only on a Redis of the
// benchmark's own: point SUNDIAL_TEST_REDIS at an idle one.
func redisCPU(b *testing.B, rb *testredis.Bundle) func() float64 {
	return func() float64 {
		s, err := rb.Client.Info(context.Background(), "cpu").Result()
		if err != nil {
			b.Fatal(err)
		}
		var t float64
		for l := range strings.SplitSeq(s, "\r\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
				f, _ := strconv.ParseFloat(v, 64)
				t += f
			}
		}
		return t
	}
}

func benchStore(b *testing.B) (*Store, *testredis.Bundle) {
	rb := testredis.New(b)
	st, err := New(Options{Client: rb.Client, Prefix: rb.Prefix, Clock: clock.Real{}, Partitions: 16})
	if err != nil {
		b.Fatal(err)
	}
	return st, rb
}

// BenchmarkRunLifecycle measures the store's part of runs' whole lives,
// 256 at a time: a StartWorkflows batch, the index flush, the claims and
// a batch of completions. redis-µs/run (and per phase) is the Redis CPU
// each run costs.
func BenchmarkRunLifecycle(b *testing.B) {
	st, rb := benchStore(b)
	cpu := redisCPU(b, rb)
	ctx := context.Background()
	const batch = 256
	var phases [4]float64
	n := 0
	for b.Loop() {
		reqs := make([]runs.StartRequest, batch)
		for i := range reqs {
			reqs[i] = runs.StartRequest{Namespace: rb.Namespace, WorkflowID: "lc-" + strconv.Itoa(n), WorkflowType: "bench.Noop", TaskQueue: "q",
				Input: []byte(`{"n":1}`), RequestID: "req-" + strconv.Itoa(n)}
			n++
		}
		t := cpu()
		lap := func(phase int) {
			now := cpu()
			phases[phase] += now - t
			t = now
		}
		for _, o := range st.StartMany(ctx, reqs) {
			if o.Err != nil {
				b.Fatal(o.Err)
			}
		}
		lap(0)
		if err := st.FlushIndexes(ctx); err != nil {
			b.Fatal(err)
		}
		lap(1)
		var tasks []Task
		for len(tasks) < batch {
			claims := make([]PartitionClaim, st.Partitions())
			for p := range claims {
				claims[p] = PartitionClaim{Partition: p, N: batch / 4}
			}
			ts, err := st.ClaimMany(ctx, rb.Namespace, "q", claims, "bench")
			if err != nil {
				b.Fatal(err)
			}
			tasks = append(tasks, ts...)
		}
		lap(2)
		cs := make([]Completion, len(tasks))
		for i, t := range tasks {
			cs[i] = Completion{Ref: refOf(t), Result: []byte(`null`)}
		}
		for _, err := range st.CompleteMany(ctx, cs) {
			if err != nil {
				b.Fatal(err)
			}
		}
		lap(3)
	}
	total := 0.0
	for i, name := range []string{"start", "index", "claim", "complete"} {
		b.ReportMetric(phases[i]*1e6/float64(n), "redis-µs/"+name)
		total += phases[i]
	}
	b.ReportMetric(total*1e6/float64(n), "redis-µs/run")
}

// BenchmarkStartBurst measures the fires of one second of 5,000 schedules:
// 5,000 scheduler-style starts at once, in full or of runs prepared ahead
// (outside the timing). redis-µs/start is the Redis CPU of the starts.
func BenchmarkStartBurst(b *testing.B) {
	for _, prepared := range []bool{false, true} {
		name := "full"
		if prepared {
			name = "prepared"
		}
		b.Run(name, func(b *testing.B) {
			st, rb := benchStore(b)
			cpu := redisCPU(b, rb)
			ctx := context.Background()
			const burst = 5000
			n := 0
			var used float64
			for b.Loop() {
				b.StopTimer()
				reqs := make([]runs.StartRequest, burst)
				for i := range reqs {
					reqs[i] = runs.StartRequest{Namespace: rb.Namespace, WorkflowID: "sched-" + strconv.Itoa(n) + "-2026-11-25T19:00:00Z", WorkflowType: "bench.Noop",
						TaskQueue: "q", Input: []byte(`{"n":1}`), IfNotExists: true,
						Origin: runs.Origin{ScheduleID: "sched-" + strconv.Itoa(n), NominalTime: time.Now(), Trigger: runs.TriggerScheduled}}
					n++
				}
				if prepared {
					ids, err := st.Prepare(ctx, reqs)
					if err != nil {
						b.Fatal(err)
					}
					for i := range reqs {
						reqs[i].PreparedRunID = ids[i]
					}
				}
				c := cpu()
				b.StartTimer()
				for _, o := range st.StartMany(ctx, reqs) {
					if o.Err != nil {
						b.Fatal(o.Err)
					}
				}
				b.StopTimer()
				used += cpu() - c
				b.StartTimer()
			}
			b.ReportMetric(used*1e6/float64(n), "redis-µs/start")
		})
	}
}
