package testredis

import (
	"context"
	"testing"
)

func TestBackendsIsolatePrefixes(t *testing.T) {
	t.Parallel()
	for _, be := range Backends() {
		t.Run(be.Name, func(t *testing.T) {
			t.Parallel()
			a, b := be.New(t), be.New(t)
			if a.Prefix == b.Prefix || a.Namespace == b.Namespace {
				t.Fatalf("two bundles share a prefix or namespace: %q %q", a.Prefix, b.Prefix)
			}
			ctx := context.Background()
			if err := a.Client.Set(ctx, a.Prefix+":k", "v", 0).Err(); err != nil {
				t.Fatal(err)
			}
			if err := DeletePrefix(a.Client, a.Prefix); err != nil {
				t.Fatal(err)
			}
			if n := a.Client.Exists(ctx, a.Prefix+":k").Val(); n != 0 {
				t.Fatalf("DeletePrefix left %d keys", n)
			}
		})
	}
}
