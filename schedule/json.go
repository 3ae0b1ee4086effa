package schedule

import (
	"encoding/json"
	"strconv"
	"time"
)

// jsonDuration is a time.Duration that reads and writes Go duration strings
// ("1h30m"). protojson's form ("3600s", "1.5s") is a Go duration string too.
type jsonDuration time.Duration

// MarshalJSON writes the duration as a short Go duration string ("1h30m").
func (d jsonDuration) MarshalJSON() ([]byte, error) {
	return []byte(strconv.Quote(FormatDuration(time.Duration(d)))), nil
}

// UnmarshalJSON reads a Go duration string.
func (d *jsonDuration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return &Error{Reason: "a duration must be a string such as \"1h30m\" or \"3600s\", got " + string(b)}
	}
	if s == "" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return &Error{Reason: "invalid duration " + strconv.Quote(s) + " (write \"1h30m\" or \"3600s\")"}
	}
	*d = jsonDuration(v)
	return nil
}

// MarshalJSON writes the spec with proto field names and duration strings.
func (s Spec) MarshalJSON() ([]byte, error) {
	type alias Spec
	return json.Marshal(struct {
		alias
		Jitter jsonDuration `json:"jitter,omitempty"`
	}{alias(s), jsonDuration(s.Jitter)})
}

// UnmarshalJSON reads the form MarshalJSON writes.
func (s *Spec) UnmarshalJSON(b []byte) error {
	type alias Spec
	aux := struct {
		*alias
		Jitter jsonDuration `json:"jitter,omitempty"`
	}{alias: (*alias)(s), Jitter: jsonDuration(s.Jitter)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	s.Jitter = time.Duration(aux.Jitter)
	return nil
}

// MarshalJSON writes the interval with duration strings.
func (iv Interval) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Every  jsonDuration `json:"every"`
		Offset jsonDuration `json:"offset,omitempty"`
	}{jsonDuration(iv.Every), jsonDuration(iv.Offset)})
}

// UnmarshalJSON reads the form MarshalJSON writes.
func (iv *Interval) UnmarshalJSON(b []byte) error {
	aux := struct {
		Every  jsonDuration `json:"every"`
		Offset jsonDuration `json:"offset,omitempty"`
	}{jsonDuration(iv.Every), jsonDuration(iv.Offset)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	iv.Every, iv.Offset = time.Duration(aux.Every), time.Duration(aux.Offset)
	return nil
}

// MarshalJSON writes the policy with a duration string.
func (p Policy) MarshalJSON() ([]byte, error) {
	type alias Policy
	return json.Marshal(struct {
		alias
		CatchupWindow jsonDuration `json:"catchup_window,omitempty"`
	}{alias(p), jsonDuration(p.CatchupWindow)})
}

// UnmarshalJSON reads the form MarshalJSON writes.
func (p *Policy) UnmarshalJSON(b []byte) error {
	type alias Policy
	aux := struct {
		*alias
		CatchupWindow jsonDuration `json:"catchup_window,omitempty"`
	}{alias: (*alias)(p), CatchupWindow: jsonDuration(p.CatchupWindow)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	p.CatchupWindow = time.Duration(aux.CatchupWindow)
	return nil
}

// MarshalJSON writes the retry policy with duration strings.
func (p RetryPolicy) MarshalJSON() ([]byte, error) {
	type alias RetryPolicy
	return json.Marshal(struct {
		alias
		InitialInterval jsonDuration `json:"initial_interval,omitempty"`
		MaximumInterval jsonDuration `json:"maximum_interval,omitempty"`
	}{alias(p), jsonDuration(p.InitialInterval), jsonDuration(p.MaximumInterval)})
}

// UnmarshalJSON reads the form MarshalJSON writes.
func (p *RetryPolicy) UnmarshalJSON(b []byte) error {
	type alias RetryPolicy
	aux := struct {
		*alias
		InitialInterval jsonDuration `json:"initial_interval,omitempty"`
		MaximumInterval jsonDuration `json:"maximum_interval,omitempty"`
	}{alias: (*alias)(p), InitialInterval: jsonDuration(p.InitialInterval), MaximumInterval: jsonDuration(p.MaximumInterval)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	p.InitialInterval, p.MaximumInterval = time.Duration(aux.InitialInterval), time.Duration(aux.MaximumInterval)
	return nil
}

// MarshalJSON writes the action with duration strings.
func (a Action) MarshalJSON() ([]byte, error) {
	type alias Action
	return json.Marshal(struct {
		alias
		ExecutionTimeout jsonDuration `json:"execution_timeout,omitempty"`
		RunTimeout       jsonDuration `json:"run_timeout,omitempty"`
		HeartbeatTimeout jsonDuration `json:"heartbeat_timeout,omitempty"`
	}{alias(a), jsonDuration(a.ExecutionTimeout), jsonDuration(a.RunTimeout), jsonDuration(a.HeartbeatTimeout)})
}

// UnmarshalJSON reads the form MarshalJSON writes.
func (a *Action) UnmarshalJSON(b []byte) error {
	type alias Action
	aux := struct {
		*alias
		ExecutionTimeout jsonDuration `json:"execution_timeout,omitempty"`
		RunTimeout       jsonDuration `json:"run_timeout,omitempty"`
		HeartbeatTimeout jsonDuration `json:"heartbeat_timeout,omitempty"`
	}{alias: (*alias)(a), ExecutionTimeout: jsonDuration(a.ExecutionTimeout), RunTimeout: jsonDuration(a.RunTimeout), HeartbeatTimeout: jsonDuration(a.HeartbeatTimeout)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	a.ExecutionTimeout, a.RunTimeout, a.HeartbeatTimeout = time.Duration(aux.ExecutionTimeout), time.Duration(aux.RunTimeout), time.Duration(aux.HeartbeatTimeout)
	return nil
}
