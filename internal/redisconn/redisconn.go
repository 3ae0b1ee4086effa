// Package redisconn opens a Redis client from a URL, so the server, the load
// tool and tests read connection settings the same way. Single node,
// Sentinel and Cluster all come back as a redis.UniversalClient.
package redisconn

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Mode selects the kind of deployment.
type Mode string

// The deployment kinds.
const (
	ModeSingle   Mode = "single"
	ModeCluster  Mode = "cluster"
	ModeSentinel Mode = "sentinel"
)

// Options configures Open.
type Options struct {
	// URL is redis://[user:password@]host:port[/db] or rediss:// for TLS.
	// For Cluster, extra seed nodes may be given as ?addr=host:port (repeated).
	// For Sentinel, host:port is a sentinel and ?addr= adds more. Required.
	URL string
	// Mode is single, cluster or sentinel. Optional: defaults to single.
	Mode Mode
	// MasterName is the Sentinel master name. Required in sentinel mode.
	MasterName string
	// PoolSize is the connection pool size per node. Optional: defaults to
	// go-redis's (10 per CPU).
	PoolSize int
}

// Open connects and pings. The error says how to fix a bad URL or an
// unreachable server.
func Open(ctx context.Context, o Options) (redis.UniversalClient, error) {
	c, err := New(o)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("redis at %s does not answer: %w (check --redis-url / SUNDIAL_REDIS_URL, or use `sundial dev` for an embedded Redis)", redact(o.URL), err)
	}
	return c, nil
}

// New builds a client without contacting Redis.
func New(o Options) (redis.UniversalClient, error) {
	if o.URL == "" {
		return nil, errors.New("missing Redis URL (set --redis-url or SUNDIAL_REDIS_URL, e.g. redis://127.0.0.1:6379/0)")
	}
	if o.Mode == "" {
		o.Mode = ModeSingle
	}
	base, extra, err := splitAddrs(o.URL)
	if err != nil {
		return nil, fmt.Errorf("redis URL %s: %w (use redis://host:port/db or rediss://host:port/db)", redact(o.URL), err)
	}
	single, err := redis.ParseURL(base)
	if err != nil {
		return nil, fmt.Errorf("redis URL %s: %w (use redis://host:port/db or rediss://host:port/db)", redact(o.URL), err)
	}
	if o.PoolSize > 0 {
		single.PoolSize = o.PoolSize
	}
	if !strings.Contains(base, "protocol=") {
		// RESP2 unless the URL asks for another: Sundial uses no RESP3
		// feature, and go-redis reads RESP2 replies with less work (no
		// check for push notifications on every read).
		single.Protocol = 2
	}
	switch o.Mode {
	case ModeSingle:
		return redis.NewClient(single), nil
	case ModeCluster, ModeSentinel:
		addrs := append([]string{single.Addr}, extra...)
		uo := &redis.UniversalOptions{
			Addrs:     addrs,
			Username:  single.Username,
			Password:  single.Password,
			TLSConfig: single.TLSConfig,
			PoolSize:  single.PoolSize,
			Protocol:  single.Protocol,
		}
		if o.Mode == ModeSentinel {
			if o.MasterName == "" {
				return nil, errors.New("sentinel mode needs a master name (set --redis-master-name)")
			}
			uo.MasterName = o.MasterName
			uo.DB = single.DB
			return redis.NewFailoverClient(uo.Failover()), nil
		}
		return redis.NewClusterClient(uo.Cluster()), nil
	default:
		return nil, fmt.Errorf("unknown Redis mode %q (use single, cluster or sentinel)", o.Mode)
	}
}

// splitAddrs removes the ?addr= seed nodes from a URL (go-redis's parser
// does not know them) and returns them separately.
func splitAddrs(raw string) (base string, addrs []string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", nil, err
	}
	q := u.Query()
	addrs = q["addr"]
	q.Del("addr")
	u.RawQuery = q.Encode()
	return u.String(), addrs, nil
}

// redact hides the password in a URL for error messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return strings.Replace(u.String(), "xxxxx", "***", 1)
}

// DeleteMatching deletes every key matching pattern (a SCAN pattern),
// unlinking them 500 at a time. It is for tests and tools cleaning up
// their own prefix, never for request paths, and for a single Redis only:
// on a Cluster client SCAN sees one node and a multi-key UNLINK across
// slots fails with CROSSSLOT.
func DeleteMatching(ctx context.Context, rdb redis.UniversalClient, pattern string) error {
	it := rdb.Scan(ctx, 0, pattern, 1000).Iterator()
	var batch []string
	for it.Next(ctx) {
		batch = append(batch, it.Val())
		if len(batch) == 500 {
			if err := rdb.Unlink(ctx, batch...).Err(); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		if err := rdb.Unlink(ctx, batch...).Err(); err != nil {
			return err
		}
	}
	return it.Err()
}
