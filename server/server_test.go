package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"connectrpc.com/grpcreflect"
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/internal/gen/sundial/v1/sundialv1connect"
	"github.com/sundial-dev/sundial/internal/testredis"
	"github.com/sundial-dev/sundial/internal/testserver"
	"github.com/sundial-dev/sundial/server"
)

// h2cClient speaks HTTP/2 without TLS, as gRPC clients do.
func h2cClient() *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: &p}}
}

func TestServerMountsEveryService(t *testing.T) {
	t.Parallel()
	ts := testserver.Start(t, testserver.Options{DisableLoops: true})
	hc := h2cClient()
	t.Cleanup(hc.CloseIdleConnections)

	// Reflection lists the three Sundial services and health.
	rc := grpcreflect.NewClient(hc, ts.URL, connect.WithGRPC())
	stream := rc.NewStream(t.Context())
	names, err := stream.ListServices()
	if err != nil {
		t.Fatalf("reflection ListServices: %v", err)
	}
	_, _ = stream.Close()
	for _, want := range []protoreflect.FullName{
		"sundial.v1.ScheduleService", "sundial.v1.WorkflowService", "sundial.v1.WorkerService", "grpc.health.v1.Health",
	} {
		if !slices.Contains(names, want) {
			t.Errorf("reflection does not list %s (got %v)", want, names)
		}
	}

	// A gRPC call and a Connect call reach the same handler.
	for _, opts := range [][]connect.ClientOption{{connect.WithGRPC()}, {connect.WithGRPCWeb()}, nil} {
		sc := sundialv1connect.NewScheduleServiceClient(hc, ts.URL, opts...)
		_, err := sc.DescribeSchedule(t.Context(), connect.NewRequest(&pb.DescribeScheduleRequest{Namespace: ts.Namespace, ScheduleId: "missing"}))
		if connect.CodeOf(err) != connect.CodeNotFound {
			t.Errorf("DescribeSchedule of a missing id with %v: got %v, want NotFound", opts, err)
		}
	}

	// Metrics count those calls by procedure and code.
	res, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	want := `sundial_rpc_requests_total{code="not_found",procedure="/sundial.v1.ScheduleService/DescribeSchedule"} 3`
	if !strings.Contains(string(body), want) {
		t.Fatalf("/metrics lacks %q:\n%s", want, grep(string(body), "sundial_rpc_requests_total"))
	}
	if !strings.Contains(string(body), "sundial_redis_pool_connections") {
		t.Fatal("/metrics lacks the Redis pool gauges")
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestHandlerServesH2CFromAnyHTTPServer mounts Handler() in a plain
// HTTP/1.1 httptest server (no Protocols set): gRPC clients speaking
// prior-knowledge HTTP/2 must still get through.
func TestHandlerServesH2CFromAnyHTTPServer(t *testing.T) {
	t.Parallel()
	rb := testredis.New(t)
	srv, err := server.New(server.Config{Redis: rb.Client, KeyPrefix: rb.Prefix, DisableLoops: true})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	hc := h2cClient()
	t.Cleanup(hc.CloseIdleConnections)
	sc := sundialv1connect.NewScheduleServiceClient(hc, hs.URL, connect.WithGRPC())
	_, err = sc.DescribeSchedule(t.Context(), connect.NewRequest(&pb.DescribeScheduleRequest{Namespace: rb.Namespace, ScheduleId: "missing"}))
	if connect.CodeOf(err) != connect.CodeNotFound {
		t.Fatalf("gRPC over h2c through a plain http.Server: got %v, want NotFound", err)
	}
}
