package server

import (
	"context"

	"connectrpc.com/connect"

	"github.com/sundial-dev/sundial/internal/errs"
	pb "github.com/sundial-dev/sundial/internal/gen/sundial/v1"
	"github.com/sundial-dev/sundial/internal/ids"
	"github.com/sundial-dev/sundial/internal/runs"
	"github.com/sundial-dev/sundial/internal/runstore"
)

func (h *workflowHandler) ListWorkflows(ctx context.Context, req *connect.Request[pb.ListWorkflowsRequest]) (*connect.Response[pb.ListWorkflowsResponse], error) {
	m := req.Msg
	ns, err := ids.Namespace(m.GetNamespace())
	if err != nil {
		return nil, toConnect(err)
	}
	st := runs.Status(m.GetStatus())
	if st < runs.StatusUnspecified || st > runs.StatusTimedOut {
		return nil, toConnect(errs.Field("status", "%d is not a workflow status", int(st)))
	}
	rs, next, err := h.c.store.List(ctx, runstore.ListQuery{
		Namespace:    ns,
		Status:       st,
		WorkflowType: m.GetWorkflowType(),
		TaskQueue:    m.GetTaskQueue(),
		ScheduleID:   m.GetScheduleId(),
		PageSize:     int(m.GetPageSize()),
		PageToken:    m.GetPageToken(),
	})
	if err != nil {
		return nil, toConnect(err)
	}
	out := &pb.ListWorkflowsResponse{NextPageToken: next}
	for _, r := range rs {
		out.Runs = append(out.Runs, runToProto(r))
	}
	return connect.NewResponse(out), nil
}
