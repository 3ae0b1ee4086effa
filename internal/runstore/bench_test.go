package runstore

import (
	"context"
	"strconv"
	"testing"
)

// BenchmarkStart measures one StartWorkflow in the store (one script).
func BenchmarkStart(b *testing.B) {
	tb := setup(b, nil)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := tb.store.Start(ctx, tb.req("b-"+strconv.Itoa(i))); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkPollComplete measures a claim of one task plus its completion,
// the store's part of a worker's round trip.
func BenchmarkPollComplete(b *testing.B) {
	tb := setup(b, nil)
	ctx := context.Background()
	for i := range b.N {
		if _, err := tb.store.Start(ctx, tb.req("pc-"+strconv.Itoa(i))); err != nil {
			b.Fatal(err)
		}
	}
	p := 0
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		var ts []Task
		for len(ts) == 0 {
			var err error
			ts, err = tb.store.Claim(ctx, tb.ns, "q", p, 1, "bench")
			if err != nil {
				b.Fatal(err)
			}
			if len(ts) == 0 {
				p = (p + 1) % tb.store.Partitions()
			}
		}
		if err := tb.store.Complete(ctx, refOf(ts[0]), []byte(`null`)); err != nil {
			b.Fatal(err)
		}
	}
}
