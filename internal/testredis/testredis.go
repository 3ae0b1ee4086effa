// Package testredis gives tests a Redis to talk to, with a key prefix of
// their own, so that test packages can run in parallel on one server.
//
// Backend choice, in order:
//   - SUNDIAL_TEST_REDIS (a redis:// URL): used, and a Redis that does not
//     answer fails the test instead of skipping it (CI sets it);
//   - a Redis answering on 127.0.0.1:6379;
//   - an in-process miniredis.
//
// Keys are never flushed wholesale: each test deletes its own prefix.
package testredis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/sundial-dev/sundial/internal/redisconn"
)

// EnvURL names the environment variable that points tests at a real Redis.
const EnvURL = "SUNDIAL_TEST_REDIS"

// Bundle is one test's view of a Redis.
type Bundle struct {
	// Client talks to the backend.
	Client redis.UniversalClient
	// Prefix is unique to the test; pass it as the store's key prefix.
	Prefix string
	// Namespace is unique to the test too, for stores that scope by namespace.
	Namespace string
	// Backend is "redis" or "miniredis".
	Backend string
	// Mini is set when Backend is "miniredis".
	Mini *miniredis.Miniredis
}

// Backend is a named way to get a Bundle, for behaviour suites that run
// against every backend.
type Backend struct {
	Name string
	New  func(t testing.TB) *Bundle
}

var (
	probeOnce sync.Once
	realURL   string
)

// RealURL returns the URL of the real Redis tests should use, or "" when
// none answers. With SUNDIAL_TEST_REDIS set it is that URL, answering or not.
func RealURL() string {
	probeOnce.Do(func() {
		if u := os.Getenv(EnvURL); u != "" {
			realURL = u
			return
		}
		c, err := net.DialTimeout("tcp", "127.0.0.1:6379", 200*time.Millisecond)
		if err != nil {
			return
		}
		_ = c.Close()
		cl := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if cl.Ping(ctx).Err() == nil {
			realURL = "redis://127.0.0.1:6379/0"
		}
	})
	return realURL
}

// New returns a Bundle on the real Redis when there is one, else on miniredis.
func New(t testing.TB) *Bundle {
	t.Helper()
	if RealURL() != "" {
		return Real(t)
	}
	return Mini(t)
}

// Backends lists the backends a behaviour suite runs against: real Redis
// (when available; mandatory when SUNDIAL_TEST_REDIS is set) and miniredis.
func Backends() []Backend {
	bs := []Backend{}
	if RealURL() != "" {
		bs = append(bs, Backend{Name: "redis", New: Real})
	}
	return append(bs, Backend{Name: "miniredis", New: Mini})
}

// Real returns a Bundle on the real Redis. It fails the test when that Redis
// does not answer, and skips it only when no real Redis is configured at all.
func Real(t testing.TB) *Bundle {
	t.Helper()
	u := RealURL()
	if u == "" {
		t.Skip("no real Redis: set SUNDIAL_TEST_REDIS or run redis-server on 127.0.0.1:6379")
	}
	// The connection settings of `sundial server`, so tests run what ships.
	c, err := redisconn.New(redisconn.Options{URL: u})
	if err != nil {
		t.Fatalf("%s=%q: %v", EnvURL, u, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("real Redis at %s does not answer: %v (start redis-server, or unset %s to use miniredis)", u, err, EnvURL)
	}
	b := &Bundle{Client: c, Prefix: "sdtest-" + RandomID(), Namespace: "ns-" + RandomID(), Backend: "redis"}
	t.Cleanup(func() {
		if err := DeletePrefix(c, b.Prefix); err != nil {
			t.Errorf("delete the test's keys (prefix %s): %v", b.Prefix, err)
		}
		_ = c.Close()
	})
	return b
}

// Mini returns a Bundle on a fresh miniredis.
func Mini(t testing.TB) *Bundle {
	t.Helper()
	m := miniredis.NewMiniRedis()
	if err := m.Start(); err != nil {
		t.Fatalf("start miniredis: %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() {
		_ = c.Close()
		m.Close()
	})
	return &Bundle{Client: c, Prefix: "sdtest-" + RandomID(), Namespace: "ns-" + RandomID(), Backend: "miniredis", Mini: m}
}

// DeletePrefix deletes every key that starts with prefix+":".
func DeletePrefix(c redis.UniversalClient, prefix string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return redisconn.DeleteMatching(ctx, c, prefix+":*")
}

// RandomID returns 12 random hex characters.
func RandomID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Server is a private redis-server process, for tests that restart or kill
// Redis. It is never the shared one.
type Server struct {
	Port int
	Dir  string
	Args []string
	cmd  *exec.Cmd
	t    testing.TB
}

// StartServer starts redis-server on a free port with AOF on (appendfsync
// always), in a temporary directory. Without a redis-server binary it fails
// when SUNDIAL_TEST_REDIS is set, and skips otherwise.
func StartServer(t testing.TB) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv(EnvURL) != "" {
			t.Fatalf("redis-server not on PATH (apt-get install -y redis-server)")
		}
		t.Skip("redis-server not on PATH; this fault test needs its own redis-server")
	}
	s := &Server{Port: FreePort(t), Dir: t.TempDir(), t: t}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Addr is host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.Port) }

// Start (re)starts the server on the same port and directory and waits until
// it answers.
func (s *Server) Start() {
	s.t.Helper()
	args := []string{"--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1", "--dir", s.Dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "", "--logfile", filepath.Join(s.Dir, "redis.log")}
	s.cmd = exec.Command("redis-server", append(args, s.Args...)...)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redis-server on %s did not answer: %v", s.Addr(), err)
		}
		time.Sleep(20 * time.Millisecond) // polling a process we started; not test synchronisation
	}
}

// Kill stops the server with SIGKILL and waits for it to exit.
func (s *Server) Kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

// Stop kills the server if it is running.
func (s *Server) Stop() { s.Kill() }

// FreePort returns a TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
