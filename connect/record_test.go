package connect

import "testing"

func TestTopicPartitionString(t *testing.T) {
	for _, tc := range []struct {
		tp   TopicPartition
		want string
	}{
		{TopicPartition{"orders", 3}, "orders-3"},
		{TopicPartition{"my-topic", 0}, "my-topic-0"},
		{TopicPartition{"", 12}, "-12"},
	} {
		if got := tc.tp.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.tp, got, tc.want)
		}
	}
}

func TestTimestampTypeString(t *testing.T) {
	for _, tc := range []struct {
		tt   TimestampType
		want string
	}{
		{NoTimestampType, "NoTimestampType"},
		{CreateTime, "CreateTime"},
		{LogAppendTime, "LogAppendTime"},
		{TimestampType(9), "NoTimestampType"},
	} {
		if got := tc.tt.String(); got != tc.want {
			t.Errorf("TimestampType(%d).String() = %q, want %q", tc.tt, got, tc.want)
		}
	}
}

func TestRecordCoordinates(t *testing.T) {
	tests := []struct {
		name string
		r    Record
		want string
	}{
		{"sink record uses original coordinates", Record{
			Topic: "renamed-by-smt", Partition: 9, HasPartition: true, Offset: 100,
			OriginalTopic: "orders", OriginalPartition: 3, OriginalOffset: 42,
		}, "topic orders partition 3 offset 42"},
		{"sink record at offset 0", Record{OriginalTopic: "t", OriginalPartition: 0, OriginalOffset: 0},
			"topic t partition 0 offset 0"},
		{"source record", Record{
			Topic:           "lines",
			SourcePartition: map[string]any{"filename": "a.txt"},
			SourceOffset:    map[string]any{"position": int64(30)},
		}, "source partition {filename=a.txt} offset {position=30} for topic lines"},
		{"source record, several keys sorted", Record{
			Topic:           "cdc",
			SourcePartition: map[string]any{"table": "orders", "db": "shop", "server": "pg1"},
			SourceOffset:    map[string]any{"lsn": int64(123), "txid": 7, "snapshot": false},
		}, "source partition {db=shop, server=pg1, table=orders} offset {lsn=123, snapshot=false, txid=7} for topic cdc"},
		{"source record without offset", Record{
			Topic:           "lines",
			SourcePartition: map[string]any{"filename": "a.txt"},
		}, "source partition {filename=a.txt} offset null for topic lines"},
		{"source record without topic", Record{
			SourcePartition: map[string]any{"f": "a"},
			SourceOffset:    map[string]any{"p": 1},
		}, "source partition {f=a} offset {p=1}"},
		{"source offset only", Record{
			SourceOffset: map[string]any{"p": 1},
		}, "source partition null offset {p=1}"},
		{"empty source partition", Record{
			Topic:           "x",
			SourcePartition: map[string]any{},
			SourceOffset:    map[string]any{},
		}, "source partition {} offset {} for topic x"},
		{"topic only", Record{Topic: "lines"}, "topic lines"},
		{"nothing", Record{}, "record without coordinates"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.r.Coordinates(); got != tc.want {
				t.Errorf("Coordinates() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRecordOriginalTopicPartition(t *testing.T) {
	r := Record{Topic: "after", Partition: 1, OriginalTopic: "before", OriginalPartition: 7}
	if got := r.OriginalTopicPartition(); got != (TopicPartition{"before", 7}) {
		t.Errorf("OriginalTopicPartition() = %v", got)
	}
}

func TestFormatMap(t *testing.T) {
	tests := []struct {
		name string
		m    map[string]any
		want string
	}{
		{"nil", nil, "null"},
		{"empty", map[string]any{}, "{}"},
		{"one", map[string]any{"position": 30}, "{position=30}"},
		{"sorted keys", map[string]any{"z": 1, "a": "x", "m": true, "B": 2.5}, "{B=2.5, a=x, m=true, z=1}"},
		{"nil value", map[string]any{"k": nil}, "{k=<nil>}"},
		{"nested map", map[string]any{"k": map[string]any{"y": 2, "x": 1}}, "{k=map[x:1 y:2]}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Map iteration order is random: repeat to catch nondeterminism.
			for i := 0; i < 50; i++ {
				if got := FormatMap(tc.m); got != tc.want {
					t.Fatalf("FormatMap = %q, want %q (iteration %d)", got, tc.want, i)
				}
			}
		})
	}
	big := map[string]any{}
	for _, k := range []string{"k09", "k03", "k07", "k01", "k05", "k02", "k08", "k04", "k06", "k00"} {
		big[k] = k[1:]
	}
	const want = "{k00=00, k01=01, k02=02, k03=03, k04=04, k05=05, k06=06, k07=07, k08=08, k09=09}"
	for i := 0; i < 50; i++ {
		if got := FormatMap(big); got != want {
			t.Fatalf("FormatMap = %q, want %q", got, want)
		}
	}
}
