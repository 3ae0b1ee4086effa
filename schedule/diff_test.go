package schedule

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	robfig "github.com/robfig/cron/v3"
)

// randomField writes a random field in the syntax robfig/cron and Sundial
// share: *, */n, a, a-b, a-b/n, a/n and lists of those.
func randomField(r *rand.Rand, lo, hi int) string {
	item := func() string {
		a := lo + r.IntN(hi-lo+1)
		b := a + r.IntN(hi-a+1)
		n := 1 + r.IntN(max(1, (hi-lo)/2))
		switch r.IntN(6) {
		case 0:
			return "*"
		case 1:
			return "*/" + strconv.Itoa(n)
		case 2:
			return strconv.Itoa(a)
		case 3:
			return strconv.Itoa(a) + "-" + strconv.Itoa(b)
		case 4:
			return strconv.Itoa(a) + "-" + strconv.Itoa(b) + "/" + strconv.Itoa(n)
		default:
			return strconv.Itoa(a) + "/" + strconv.Itoa(n)
		}
	}
	if r.IntN(4) == 0 {
		return item() + "," + item()
	}
	return item()
}

// TestDifferentialRobfig checks 5-field expressions in UTC against
// robfig/cron/v3's ParseStandard, whose crontab semantics we share (dom/dow
// OR unless either starts with *). robfig searches only five years ahead, so
// its zero answer is not compared.
func TestDifferentialRobfig(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	compared := 0
	for i := range 3000 {
		expr := strings.Join([]string{
			randomField(r, 0, 59), randomField(r, 0, 23), randomField(r, 1, 31),
			randomField(r, 1, 12), randomField(r, 0, 6),
		}, " ")
		rs, err := robfig.ParseStandard(expr)
		if err != nil {
			t.Fatalf("robfig rejects %q: %v", expr, err)
		}
		start := time.Unix(946684800+r.Int64N(30*365*86400), 0).UTC() // 2000-2030
		c, err := Compile(Spec{CronExpressions: []string{expr}})
		if err != nil {
			// Only "never fires" is allowed to differ; robfig then finds nothing.
			if got := rs.Next(start); !got.IsZero() {
				t.Fatalf("#%d %q: Compile error %v, robfig fires at %v", i, expr, err, got)
			}
			continue
		}
		a := start
		for range 5 {
			want := rs.Next(a)
			if want.IsZero() {
				break
			}
			got, ok := c.Next(a)
			if !ok || !got.Equal(want) {
				t.Fatalf("#%d %q after %v: got %v (%v), robfig %v", i, expr, a, got, ok, want)
			}
			compared++
			a = want
		}
	}
	if compared < 10000 {
		t.Errorf("only %d times compared", compared)
	}
}
