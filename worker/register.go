package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"runtime/debug"
	"time"
)

// handler runs one attempt: JSON input in, JSON result out.
type handler func(ctx context.Context, input json.RawMessage) (json.RawMessage, error)

var (
	contextType = reflect.TypeFor[context.Context]()
	errorType   = reflect.TypeFor[error]()
)

// RegisterWorkflow makes fn run the tasks of workflow type name. fn takes a
// context and, optionally, one input; it returns an error and, optionally,
// one result before it:
//
//	func(ctx context.Context) error
//	func(ctx context.Context) (R, error)
//	func(ctx context.Context, in T) error
//	func(ctx context.Context, in T) (R, error)
//
// The input is decoded from the run's JSON input into T (a missing input
// leaves T's zero value) and the result encoded as JSON. Like
// http.HandleFunc, it panics on a programming error: an empty or duplicate
// name, or a function of another shape. RegisterFunc checks the shape at
// compile time instead.
func (w *Worker) RegisterWorkflow(name string, fn any) {
	h, err := reflectHandler(fn)
	if err != nil {
		panic(fmt.Sprintf("worker: RegisterWorkflow(%q): %v", name, err))
	}
	w.register(name, h)
}

// RegisterFunc registers a typed workflow function on w; see
// Worker.RegisterWorkflow for how input and result are encoded.
func RegisterFunc[T, R any](w *Worker, name string, fn func(ctx context.Context, in T) (R, error)) {
	w.register(name, func(ctx context.Context, raw json.RawMessage) (json.RawMessage, error) {
		var in T
		if err := decodeInput(raw, &in); err != nil {
			return nil, err
		}
		out, err := fn(ctx, in)
		if err != nil {
			return nil, err
		}
		return encodeResult(out)
	})
}

func (w *Worker) register(name string, h handler) {
	if name == "" {
		panic("worker: RegisterWorkflow: empty workflow type name")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, dup := w.handlers[name]; dup {
		panic(fmt.Sprintf("worker: RegisterWorkflow(%q): registered twice", name))
	}
	w.handlers[name] = h
}

// reflectHandler wraps fn, of one of RegisterWorkflow's shapes.
func reflectHandler(fn any) (handler, error) {
	v := reflect.ValueOf(fn)
	if fn == nil || v.Kind() != reflect.Func {
		return nil, fmt.Errorf("want a function, got %T", fn)
	}
	if v.IsNil() {
		return nil, fmt.Errorf("nil function")
	}
	t := v.Type()
	if t.IsVariadic() || t.NumIn() < 1 || t.NumIn() > 2 || t.In(0) != contextType {
		return nil, fmt.Errorf("%s: want func(context.Context[, T]) ([R, ]error)", t)
	}
	if t.NumOut() < 1 || t.NumOut() > 2 || t.Out(t.NumOut()-1) != errorType {
		return nil, fmt.Errorf("%s: want func(context.Context[, T]) ([R, ]error)", t)
	}
	hasIn, hasOut := t.NumIn() == 2, t.NumOut() == 2
	return func(ctx context.Context, raw json.RawMessage) (json.RawMessage, error) {
		args := []reflect.Value{reflect.ValueOf(&ctx).Elem()}
		if hasIn {
			in := reflect.New(t.In(1))
			if err := decodeInput(raw, in.Interface()); err != nil {
				return nil, err
			}
			args = append(args, in.Elem())
		}
		outs := v.Call(args)
		if errV := outs[len(outs)-1]; !errV.IsNil() {
			return nil, errV.Interface().(error)
		}
		if !hasOut {
			return nil, nil
		}
		return encodeResult(outs[0].Interface())
	}, nil
}

func decodeInput(raw json.RawMessage, ptr any) error {
	if len(raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, ptr); err != nil {
		return &ApplicationError{Type: FailureTypeInputDecode, Message: fmt.Sprintf("decode input into %T", ptr), NonRetryable: true, Cause: err}
	}
	return nil
}

func encodeResult(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, &ApplicationError{Type: FailureTypeResultEncode, Message: fmt.Sprintf("encode result %T", v), NonRetryable: true, Cause: err}
	}
	return b, nil
}

// call runs h, turning a panic into a *PanicError.
func call(ctx context.Context, h handler, input json.RawMessage) (out json.RawMessage, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, &PanicError{Value: p, Stack: string(debug.Stack())}
		}
	}()
	return h(ctx, input)
}

// Info describes the attempt a workflow function is running.
type Info struct {
	Namespace    string
	TaskQueue    string
	WorkflowID   string
	RunID        string
	WorkflowType string
	// Attempt counts from 1.
	Attempt int
	// Deadline is when the run times out; zero when it has no timeout.
	Deadline time.Time
	// ScheduledTime is when the attempt became due.
	ScheduledTime time.Time
	// WorkerIdentity names the worker running it.
	WorkerIdentity string
}

type infoKey struct{}

// GetInfo returns the attempt a workflow function's context belongs to, or
// the zero Info for any other context.
func GetInfo(ctx context.Context) Info {
	i, _ := ctx.Value(infoKey{}).(Info)
	return i
}
