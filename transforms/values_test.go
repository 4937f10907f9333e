package transforms

// InsertHeader's value.literal against Kafka Connect 4.3.1: the file
// testdata/kc431_insertheader_literals.txt holds, for each literal, what
// Kafka Connect's InsertHeader put in the header (schema and value, printed
// by a Java harness with -Duser.timezone=UTC: configure(header=h,
// value.literal=<literal>), apply, headers().lastWithName("h")), rendered
// as renderSchema and renderValue below render Sluice's header.

import (
	"fmt"
	"github.com/sluicehq/sluice/internal/javavalues"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/sluicehq/sluice/connect"
)

func quoteUTF16(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range utf16.Encode([]rune(s)) {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			fmt.Fprintf(&b, "\\u%04x", c)
		} else {
			b.WriteByte(byte(c))
		}
	}
	b.WriteByte('"')
	return b.String()
}

func renderSchema(s *connect.Schema) string {
	if s == nil {
		return "null"
	}
	n := ""
	if s.Name != "" {
		n = ":" + strings.TrimPrefix(s.Name, "org.apache.kafka.connect.data.")
	}
	o := ""
	if s.Optional {
		o = "?"
	}
	switch s.Type {
	case connect.TypeArray:
		return "ARRAY" + o + "<" + renderSchema(s.ValueSchema) + ">"
	case connect.TypeMap:
		return "MAP" + o + "<" + renderSchema(s.KeySchema) + "," + renderSchema(s.ValueSchema) + ">"
	}
	if n == ":Decimal" {
		sc, _ := connect.DecimalScaleOf(s)
		n += fmt.Sprintf("(%d)", sc)
	}
	return strings.ToUpper(s.Type.String()) + n + o
}

func renderValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case int8:
		return fmt.Sprintf("i8:%d", x)
	case int16:
		return fmt.Sprintf("i16:%d", x)
	case int32:
		return fmt.Sprintf("i32:%d", x)
	case int64:
		return fmt.Sprintf("i64:%d", x)
	case float32:
		return fmt.Sprintf("f32:%08x", math.Float32bits(x))
	case float64:
		return fmt.Sprintf("f64:%016x", math.Float64bits(x))
	case bool:
		return fmt.Sprintf("b:%v", x)
	case string:
		return "s:" + quoteUTF16(x)
	case connect.Decimal:
		return fmt.Sprintf("dec:%se-%d", x.Unscaled, x.Scale)
	case time.Time:
		return fmt.Sprintf("t:%d", x.UnixMilli())
	case []any:
		var l []string
		for _, e := range x {
			l = append(l, renderValue(e))
		}
		return "[" + strings.Join(l, ",") + "]"
	case map[string]any:
		var l []string
		for k, e := range x {
			l = append(l, renderValue(k)+"="+renderValue(e))
		}
		sort.Strings(l)
		return "{" + strings.Join(l, ",") + "}"
	case map[any]any:
		var l []string
		for k, e := range x {
			l = append(l, renderValue(k)+"="+renderValue(e))
		}
		sort.Strings(l)
		return "{" + strings.Join(l, ",") + "}"
	}
	return fmt.Sprintf("?%T", v)
}

// unquoteUTF16 reverses quoteUTF16.
func unquoteUTF16(t *testing.T, q string) string {
	t.Helper()
	if len(q) < 2 || q[0] != '"' || q[len(q)-1] != '"' {
		t.Fatalf("bad quoted literal %s", q)
	}
	q = q[1 : len(q)-1]
	var units []uint16
	for i := 0; i < len(q); {
		if strings.HasPrefix(q[i:], "\\u") {
			n, err := strconv.ParseUint(q[i+2:i+6], 16, 16)
			if err != nil {
				t.Fatal(err)
			}
			units = append(units, uint16(n))
			i += 6
			continue
		}
		units = append(units, uint16(q[i]))
		i++
	}
	return string(utf16.Decode(units))
}

func TestKCInsertHeaderLiterals(t *testing.T) {
	b, err := os.ReadFile("testdata/kc431_insertheader_literals.txt")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) < 200 {
		t.Fatalf("only %d cases", len(lines))
	}
	for _, line := range lines {
		lit, want, ok := strings.Cut(line, " => ")
		if !ok {
			t.Fatalf("bad line %q", line)
		}
		literal := unquoteUTF16(t, lit)
		tr, err := NewRegistry().NewTransformation("InsertHeader", map[string]string{"header": "h", "value.literal": literal})
		if err != nil {
			t.Fatalf("%s: %v", lit, err)
		}
		r, err := tr.Apply(ctx, &connect.Record{Topic: "t"})
		if err != nil {
			t.Fatalf("%s: %v", lit, err)
		}
		h := r.Headers[0]
		if got := renderSchema(h.Schema) + " " + renderValue(h.Value); got != want {
			t.Errorf("value.literal=%s: got %s, Kafka Connect %s", lit, got, want)
		}
	}
}

// Kafka Connect 4.3.1 parses {[1]:2} as MAP<ARRAY<INT8>,INT8>; Go maps
// cannot hold array or map keys, so Sluice keeps such a literal a string.
func TestInsertHeaderUnhashableMapKeysStayStrings(t *testing.T) {
	for _, lit := range []string{"{[1]:2}", `{{"a":1}:2}`} {
		sv := javavalues.Parse(lit)
		if sv.Schema != connect.StringSchema || sv.Value != lit {
			t.Fatalf("%s: %s %s", lit, renderSchema(sv.Schema), renderValue(sv.Value))
		}
	}
}
