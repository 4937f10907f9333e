package filestream_test

import (
	"context"
	"testing"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/examples/connectors/filestream"
)

// TestAlterOffsets: the FileStream connectors manage their offsets as
// Kafka's do (true: Kafka Connect's short message), and the source checks
// the entries with Kafka's texts.
func TestAlterOffsets(t *testing.T) {
	ctx := context.Background()
	cfg := map[string]string{"file": "in.txt", "topic": "t"}
	part := map[string]any{"filename": "in.txt"}
	ok := []connect.OffsetEntry{{Partition: part, Offset: map[string]any{"position": int64(5)}}, {Partition: part}}
	if managed, err := (filestream.SourceConnector{}).AlterOffsets(ctx, cfg, ok); !managed || err != nil {
		t.Fatalf("source: %v, %v", managed, err)
	}
	if managed, err := (filestream.SinkConnector{}).AlterOffsets(ctx, map[string]string{"file": "out.txt"}, nil); !managed || err != nil {
		t.Fatalf("sink: %v, %v", managed, err)
	}
	for _, tc := range []struct {
		cfg  map[string]string
		e    connect.OffsetEntry
		want string
	}{
		{cfg: map[string]string{"topic": "t"}, e: ok[0],
			want: "Offsets cannot be modified if the 'file' configuration is unspecified. This is because stdin is used for input and offsets are not tracked."},
		{cfg: cfg, e: connect.OffsetEntry{Partition: part, Offset: map[string]any{"pos": int64(1)}}, want: "Offset objects should either be null or contain the key 'position'"},
		{cfg: cfg, e: connect.OffsetEntry{Partition: part, Offset: map[string]any{"position": "1"}}, want: "The value for the 'position' key in the offset is expected to be a Long value"},
		{cfg: cfg, e: connect.OffsetEntry{Partition: part, Offset: map[string]any{"position": int64(-1)}}, want: "The value for the 'position' key in the offset should be a non-negative value"},
		{cfg: cfg, e: connect.OffsetEntry{Offset: map[string]any{"position": int64(1)}}, want: "Partition objects cannot be null"},
		{cfg: cfg, e: connect.OffsetEntry{Partition: map[string]any{"file": "x"}}, want: "Partition objects should contain the key 'filename'"},
	} {
		managed, err := (filestream.SourceConnector{}).AlterOffsets(ctx, tc.cfg, []connect.OffsetEntry{tc.e})
		if managed || err == nil || err.Error() != tc.want {
			t.Errorf("%v: %v, %v; want %q", tc.e, managed, err, tc.want)
		}
	}
}
