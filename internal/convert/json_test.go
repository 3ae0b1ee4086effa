package convert

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

func TestAppendJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string
	}{
		{`null`, `null`},
		{`true`, `true`},
		{`0`, `0`},
		{`-3`, `-3`},
		{`1.5`, `1.5`},
		{`1e21`, `1e+21`},
		{`0.0000001`, `1e-7`},
		{`123456789012`, `123456789012`},
		{`"a\"b\\c\n\u0001\u2028é"`, `"a\"b\\c\n\u0001\u2028é"`},
		{`{"b":[1,{"z":null,"a":"x"}],"a":{}}`, `{"a":{},"b":[1,{"a":"x","z":null}]}`},
		{`[]`, `[]`},
	}
	for _, tt := range tests {
		v := &structpb.Value{}
		if err := protojson.Unmarshal([]byte(tt.in), v); err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		got, err := AppendJSON(nil, v)
		if err != nil || string(got) != tt.want {
			t.Errorf("AppendJSON(%s) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	if b, err := AppendJSON(nil, nil); err != nil || string(b) != "null" {
		t.Errorf("nil Value = %s, %v; want null", b, err)
	}
	for _, bad := range []*structpb.Value{
		structpb.NewNumberValue(math.NaN()),
		structpb.NewNumberValue(math.Inf(-1)),
		structpb.NewStringValue("\xff"),
		structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{structpb.NewNumberValue(math.Inf(1))}}),
	} {
		if b, err := AppendJSON(nil, bad); err == nil {
			t.Errorf("AppendJSON(%v) = %s, want an error", bad, b)
		}
	}
}

// FuzzAppendJSON: for any JSON protojson accepts as a Value, AppendJSON
// writes valid JSON that decodes to the same thing as protojson's output.
func FuzzAppendJSON(f *testing.F) {
	for _, s := range []string{`null`, `{"a":[1,2.5,"x",true,null]}`, `"\u2029\u0000"`, `1e300`, `-0`, `{"":{}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		v := &structpb.Value{}
		if protojson.Unmarshal([]byte(in), v) != nil {
			return
		}
		ref, err := protojson.Marshal(v)
		if err != nil {
			return
		}
		got, err := AppendJSON(nil, v)
		if err != nil {
			t.Fatalf("AppendJSON failed where protojson did not: %v (protojson: %s)", err, ref)
		}
		var a, b any
		if err := json.Unmarshal(got, &a); err != nil {
			t.Fatalf("AppendJSON wrote invalid JSON %s: %v", got, err)
		}
		if err := json.Unmarshal(ref, &b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("AppendJSON = %s, protojson = %s", got, ref)
		}
	})
}
