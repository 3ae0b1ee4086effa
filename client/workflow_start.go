package client

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/sundial-dev/sundial/internal/batch"
	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/internal/gen/sundial/v1/sundialv1connect"
)

// Starts of concurrent ExecuteWorkflow calls share StartWorkflows calls:
// at most maxStartsInFlight are out at once, each with up to
// maxStartBatch starts (the server accepts 1000). A start made while none
// is out goes at once, alone, as a StartWorkflow call; so batching adds no
// latency and changes nothing at light load, and under load it saves a
// round trip and most of an RPC's cost per start.
const (
	maxStartsInFlight = 2
	maxStartBatch     = 500
	// maxStartBatchBytes keeps a batch well under the server's request
	// limit (4 MiB by default); a server with a lower one answers a batch
	// ResourceExhausted, and its starts are then sent one by one.
	maxStartBatchBytes = 1 << 20
	startSendTimeout   = 30 * time.Second
)

// starter sends starts through a batch.Batcher. A server without
// StartWorkflows (Unimplemented) gets StartWorkflow calls from then on.
type starter struct {
	svc     sundialv1connect.WorkflowServiceClient
	noBatch atomic.Bool
	batches *batch.Batcher[*pb.StartWorkflowRequest, string]
}

func newStarter(svc sundialv1connect.WorkflowServiceClient) *starter {
	s := &starter{svc: svc}
	s.batches = batch.New(maxStartsInFlight, maxStartBatch, startSendTimeout, s.sendBatch)
	s.batches.Size, s.batches.MaxBytes = func(r *pb.StartWorkflowRequest) int { return proto.Size(r) }, maxStartBatchBytes
	return s
}

// start starts one run and returns its run id, or the error StartWorkflow
// would have returned (a *connect.Error, or ctx's error).
func (s *starter) start(ctx context.Context, req *pb.StartWorkflowRequest) (string, error) {
	if s.noBatch.Load() {
		return s.startOne(ctx, req)
	}
	return s.batches.Do(ctx, req)
}

func (s *starter) startOne(ctx context.Context, req *pb.StartWorkflowRequest) (string, error) {
	res, err := s.svc.StartWorkflow(ctx, connect.NewRequest(req))
	if err != nil {
		return "", err
	}
	return res.Msg.GetRunId(), nil
}

func (s *starter) sendBatch(ctx context.Context, reqs []*pb.StartWorkflowRequest, runIDs []string, errs []error) {
	if len(reqs) == 1 {
		runIDs[0], errs[0] = s.startOne(ctx, reqs[0])
		return
	}
	res, err := s.svc.StartWorkflows(ctx, connect.NewRequest(&pb.StartWorkflowsRequest{Requests: reqs}))
	if code := connect.CodeOf(err); code == connect.CodeUnimplemented || code == connect.CodeResourceExhausted {
		// A server without StartWorkflows, or a batch too big for this
		// server's request limit: each start goes alone.
		if code == connect.CodeUnimplemented {
			s.noBatch.Store(true)
		}
		batch.SendEach(ctx, reqs, runIDs, errs, s.startOne)
		return
	}
	var results []*pb.StartWorkflowResult
	if err == nil {
		results = res.Msg.GetResults()
		if len(results) != len(reqs) {
			err = connect.NewError(connect.CodeInternal, errors.New("server answered a StartWorkflows call with the wrong number of results"))
		}
	}
	for i := range reqs {
		switch {
		case err != nil:
			errs[i] = err
		case results[i].GetCode() != 0:
			errs[i] = connect.NewError(connect.Code(results[i].GetCode()), errors.New(results[i].GetMessage()))
		default:
			runIDs[i] = results[i].GetRunId()
		}
	}
}
