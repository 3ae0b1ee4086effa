package redisconn_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/sundial-dev/sundial/internal/redisconn"
	"github.com/sundial-dev/sundial/internal/testredis"
)

func TestNewModes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    redisconn.Options
		wantErr string
		check   func(t *testing.T, c redis.UniversalClient)
	}{
		{name: "empty", opts: redisconn.Options{}, wantErr: "SUNDIAL_REDIS_URL"},
		{name: "bad scheme", opts: redisconn.Options{URL: "http://x"}, wantErr: "redis://host:port"},
		{name: "single with password", opts: redisconn.Options{URL: "redis://:s3cret@127.0.0.1:6380/2"}, check: func(t *testing.T, c redis.UniversalClient) {
			o := c.(*redis.Client).Options()
			if o.Addr != "127.0.0.1:6380" || o.Password != "s3cret" || o.DB != 2 {
				t.Fatalf("options not taken from the URL: %+v", o)
			}
		}},
		{name: "tls", opts: redisconn.Options{URL: "rediss://127.0.0.1:6380"}, check: func(t *testing.T, c redis.UniversalClient) {
			if c.(*redis.Client).Options().TLSConfig == nil {
				t.Fatal("rediss:// did not enable TLS")
			}
		}},
		{name: "cluster", opts: redisconn.Options{URL: "redis://127.0.0.1:7000?addr=127.0.0.1:7001", Mode: redisconn.ModeCluster}, check: func(t *testing.T, c redis.UniversalClient) {
			if _, ok := c.(*redis.ClusterClient); !ok {
				t.Fatalf("got %T, want *redis.ClusterClient", c)
			}
		}},
		{name: "sentinel without master", opts: redisconn.Options{URL: "redis://127.0.0.1:26379", Mode: redisconn.ModeSentinel}, wantErr: "--redis-master-name"},
		{name: "unknown mode", opts: redisconn.Options{URL: "redis://127.0.0.1:6379", Mode: "ring"}, wantErr: "unknown Redis mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := redisconn.New(tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("want error containing %q, got %v", tt.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			tt.check(t, c)
		})
	}
}

func TestOpenRedactsPassword(t *testing.T) {
	t.Parallel()
	port := testredis.FreePort(t)
	_, err := redisconn.Open(context.Background(), redisconn.Options{URL: "redis://:hunter2@127.0.0.1:" + strconv.Itoa(port)})
	if err == nil {
		t.Fatal("Open succeeded against a closed port")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error leaks the password: %v", err)
	}
}
