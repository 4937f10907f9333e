package converters

import (
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/connect"
)

// The expectations in this file were produced by running Kafka Connect
// 4.3.1's own classes (JsonConverter, StringConverter, SimpleHeaderConverter,
// Values) from the jars in bench/kafka-connect/lib on the same inputs.

func TestConformanceJSONLenientInput(t *testing.T) {
	off := mustJSON(t, JSONConfig{SchemasDisabled: true})
	on := mustJSON(t, JSONConfig{})
	for _, tc := range []struct {
		c    *JSON
		in   string
		want any
	}{
		{off, "007", int64(7)},
		{off, "-0", int64(0)},
		{off, "01.5", 1.5},
		{off, "-01", int64(-1)},
		{off, "\uFEFF1", int64(1)},
		{off, "\uFEFF[1]", []any{int64(1)}},
		{on, `{"schema":{"type":"int32"},"payload":01}`, int32(1)},
		{on, "\uFEFF" + `{"schema":{"type":"int32"},"payload":1}`, int32(1)},
		{on, `{"schema":{"type":"int32","name":"org.apache.kafka.connect.data.Time"},"payload":86400000}`, connect.MillisToTime(86400000)},
	} {
		sv, err := tc.c.ToConnect(ctx, "t", nil, []byte(tc.in))
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if !connect.ValuesEqual(sv.Value, tc.want) {
			t.Errorf("%q: got %#v, want %#v", tc.in, sv.Value, tc.want)
		}
	}
}

var _ = math.NaN

// TestConformanceStringDate checks the String converter's rendering of a
// time.Time against testdata/string_date_kc431.tsv: epoch milliseconds and
// what Kafka Connect 4.3.1's StringConverter wrote for a java.util.Date of
// them (java.util.Date.toString, JVM time zone UTC; Julian calendar before
// 1582-10-15).
func TestConformanceStringDate(t *testing.T) {
	data, err := os.ReadFile("testdata/string_date_kc431.tsv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) < 50 {
		t.Fatalf("only %d cases", len(lines))
	}
	c := NewString()
	for _, line := range lines {
		msText, want, _ := strings.Cut(line, "\t")
		ms, err := strconv.ParseInt(msText, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.FromConnect(ctx, "t", nil, connect.TimestampSchema, connect.MillisToTimestamp(ms))
		if err != nil || string(got) != want {
			t.Errorf("%d: got %q %v, want %q", ms, got, err, want)
		}
	}
}
