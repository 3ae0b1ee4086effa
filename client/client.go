// Package client is Sundial's Go API: schedules through ScheduleClient and
// ScheduleHandle, workflow runs through ExecuteWorkflow and WorkflowRun. Its
// shape follows Temporal's Go SDK, so code written against one reads like
// the other.
package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"connectrpc.com/connect"

	"github.com/sundial-dev/sundial/internal/gen/sundial/v1/sundialv1connect"
)

// DefaultAddress is where `sundial dev` listens.
const DefaultAddress = "http://127.0.0.1:7711"

// DefaultNamespace is the namespace used when none is set.
const DefaultNamespace = "default"

// Options configures Dial.
type Options struct {
	// Address is the server's base URL ("http://host:7711", "https://...")
	// or host:port. Optional: defaults to DefaultAddress.
	Address string
	// Namespace scopes every call. Optional: defaults to "default".
	Namespace string
	// Identity names this client in runs it starts. Optional: defaults to
	// "sundial-go-client".
	Identity string
	// HTTPClient carries the calls. Optional: defaults to an HTTP/2 client
	// (h2c for http:// addresses) with sensible timeouts.
	HTTPClient connect.HTTPClient
	// GRPC makes the client speak gRPC instead of the Connect protocol.
	// Optional: defaults to false.
	GRPC bool
	// ClientOptions are extra Connect options (interceptors and such). Optional.
	ClientOptions []connect.ClientOption
}

// WithDefaults returns a copy of o with every unset optional field set.
func (o Options) WithDefaults() Options {
	if o.Address == "" {
		o.Address = DefaultAddress
	}
	if !strings.Contains(o.Address, "://") {
		o.Address = "http://" + o.Address
	}
	o.Address = strings.TrimRight(o.Address, "/")
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.Identity == "" {
		o.Identity = "sundial-go-client"
	}
	if o.HTTPClient == nil {
		o.HTTPClient = newHTTPClient(strings.HasPrefix(o.Address, "http://"))
	}
	return o
}

// validate checks the options; a bad address is an error matching
// ErrInvalidArgument with Field "address".
func (o Options) validate() error {
	if !strings.HasPrefix(o.Address, "http://") && !strings.HasPrefix(o.Address, "https://") {
		return invalidArg("address", fmt.Errorf("%q: use http://host:port or https://host:port", o.Address))
	}
	return nil
}

// newHTTPClient returns an HTTP/2 client; for plain http it speaks h2c
// (unencrypted HTTP/2) so that gRPC and long polls share connections.
func newHTTPClient(cleartext bool) *http.Client {
	var p http.Protocols
	if cleartext {
		p.SetUnencryptedHTTP2(true)
	} else {
		p.SetHTTP1(true)
		p.SetHTTP2(true)
	}
	return &http.Client{Transport: &http.Transport{
		Protocols:           &p,
		TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12},
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
		HTTP2: &http.HTTP2Config{
			SendPingTimeout: 30 * time.Second,
			PingTimeout:     10 * time.Second,
		},
	}}
}

// Client talks to a Sundial server. It is safe for concurrent use.
type Client struct {
	opts      Options
	schedules sundialv1connect.ScheduleServiceClient
	workflows sundialv1connect.WorkflowServiceClient
	workers   sundialv1connect.WorkerServiceClient
	starts    *starter
}

// Dial returns a client for the server at opts.Address. It checks that the
// server answers, so a wrong address fails here rather than on first use.
func Dial(ctx context.Context, opts Options) (*Client, error) {
	c, err := NewLazy(opts)
	if err != nil {
		return nil, err
	}
	if err := c.ping(ctx); err != nil {
		return nil, fmt.Errorf("sundial server at %s does not answer (is `sundial dev` or `sundial server` running?): %w", c.opts.Address, err)
	}
	return c, nil
}

// NewLazy returns a client without contacting the server.
func NewLazy(opts Options) (*Client, error) {
	opts = opts.WithDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	// Small requests are sent uncompressed: gzip costs more than it saves
	// below about 1 KiB. Options given by the caller come last and win.
	copts := append([]connect.ClientOption{connect.WithCompressMinBytes(1024)}, opts.ClientOptions...)
	if opts.GRPC {
		copts = append(copts, connect.WithGRPC())
	}
	workflows := sundialv1connect.NewWorkflowServiceClient(opts.HTTPClient, opts.Address, copts...)
	return &Client{
		opts:      opts,
		schedules: sundialv1connect.NewScheduleServiceClient(opts.HTTPClient, opts.Address, copts...),
		workflows: workflows,
		workers:   sundialv1connect.NewWorkerServiceClient(opts.HTTPClient, opts.Address, copts...),
		starts:    newStarter(workflows),
	}, nil
}

// Namespace returns the namespace the client scopes its calls to.
func (c *Client) Namespace() string { return c.opts.Namespace }

// Identity returns the client's identity.
func (c *Client) Identity() string { return c.opts.Identity }

// WorkerService returns the raw WorkerService client, for package worker.
func (c *Client) WorkerService() sundialv1connect.WorkerServiceClient { return c.workers }

// Close releases idle connections.
func (c *Client) Close() error {
	if hc, ok := c.opts.HTTPClient.(*http.Client); ok {
		hc.CloseIdleConnections()
	}
	return nil
}

// ping calls the gRPC health service with the Connect protocol's JSON codec.
func (c *Client) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.opts.Address+"/grpc.health.v1.Health/Check", strings.NewReader("{}"))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return errors.New("health check: " + res.Status)
	}
	return nil
}
