package main

import (
	"errors"
	"iter"
	"slices"
	"testing"

	"github.com/sundial-dev/sundial/client"
)

// intSeq yields vs, then err if it is not nil.
func intSeq(err error, vs ...int) iter.Seq2[int, error] {
	return func(yield func(int, error) bool) {
		for _, v := range vs {
			if !yield(v, nil) {
				return
			}
		}
		if err != nil {
			yield(0, err)
		}
	}
}

func TestCollect(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		seq   iter.Seq2[int, error]
		limit int
		want  []int
	}{
		{"Empty", intSeq(nil), 0, []int{}},
		{"All", intSeq(nil, 1, 2, 3), 0, []int{1, 2, 3}},
		{"Limit", intSeq(nil, 1, 2, 3), 2, []int{1, 2}},
		{"LimitStopsBeforeError", intSeq(errors.New("late"), 1, 2), 2, []int{1, 2}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := collect(tt.seq, tt.limit, "things")
			if err != nil || got == nil || !slices.Equal(got, tt.want) {
				t.Errorf("collect = %#v, %v; want %v", got, err, tt.want)
			}
		})
	}
	_, err := collect(intSeq(client.ErrNotFound, 1), 0, "things")
	if err == nil || err.Error() != "things not found (check the id and --namespace)" {
		t.Errorf("collect of a failing sequence: %v, want the error callError makes", err)
	}
}
