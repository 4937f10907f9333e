package sink_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect"
	sluiceerrors "github.com/sluicehq/sluice/errors"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/sink"
)

// convLog records every converter call of a pipeline, in call order.
type convLog struct {
	mu    sync.Mutex
	calls []string
	// raw are the headers the key and value converters got, by call.
	raw map[string]connect.Headers
}

func (l *convLog) add(call string, h connect.Headers) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, call)
	if h != nil {
		cp := make(connect.Headers, len(h))
		for i, x := range h {
			cp[i] = x
			if b, ok := x.Value.([]byte); ok {
				cp[i].Value = bytes.Clone(b)
			}
		}
		l.raw[call] = cp
	}
}

func (l *convLog) snapshot() ([]string, map[string]connect.Headers) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.calls...), l.raw
}

// recordingConverter logs its calls as "<role>:<data>" and fails on data
// "bad".
type recordingConverter struct {
	role string
	log  *convLog
}

func (c recordingConverter) FromConnect(context.Context, string, *connect.Headers, *connect.Schema, any) ([]byte, error) {
	return nil, nil
}

func (c recordingConverter) ToConnect(_ context.Context, _ string, h connect.Headers, data []byte) (connect.SchemaAndValue, error) {
	c.log.add(c.role+":"+string(data), h)
	if string(data) == "bad" {
		return connect.SchemaAndValue{}, errors.New("not convertible")
	}
	return connect.SchemaAndValue{Value: string(data)}, nil
}

// recordingHeaders logs its calls as "header:<key>".
type recordingHeaders struct{ log *convLog }

func (c recordingHeaders) FromConnectHeader(context.Context, string, string, *connect.Schema, any) ([]byte, error) {
	return nil, nil
}

func (c recordingHeaders) ToConnectHeader(_ context.Context, _, key string, data []byte) (connect.SchemaAndValue, error) {
	c.log.add("header:"+key, nil)
	return connect.SchemaAndValue{Schema: connect.OptionalStringSchema, Value: "converted-" + string(data)}, nil
}

// TestConversionOrderRawHeadersAndTimestampType: as Kafka Connect's
// WorkerSinkTask.convertAndTransformRecord, a record is converted key,
// value, then headers; the key and value converters get the Kafka headers
// as consumed (bytes, nil schema, null kept null), not the header
// converter's output; once the key conversion failed, the value and headers
// are not converted. Records of a topic created with
// message.timestamp.type=LogAppendTime reach the task tagged LogAppendTime,
// those of a default topic CreateTime.
func TestConversionOrderRawHeadersAndTimestampType(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	plain := kafkatest.Topic(t)
	logAppend := plain + "-lat"
	kafkatest.CreateTopic(t, brokers, plain, 1, nil)
	lat := "LogAppendTime"
	kafkatest.CreateTopic(t, brokers, logAppend, 1, map[string]*string{"message.timestamp.type": &lat})

	var msgs []*sarama.ProducerMessage
	for _, topic := range []string{plain, logAppend} {
		for i := range 3 {
			key := fmt.Sprintf("k%d", i)
			if i == 1 {
				key = "bad"
			}
			msgs = append(msgs, &sarama.ProducerMessage{
				Topic: topic, Key: sarama.StringEncoder(key), Value: sarama.StringEncoder(fmt.Sprintf("v%d", i)),
				Timestamp: time.UnixMilli(1_000_000),
				Headers: []sarama.RecordHeader{
					{Key: []byte(fmt.Sprintf("h%d", i)), Value: []byte{0xff, 0x00, byte(i)}},
					{Key: []byte("null"), Value: nil},
				},
			})
		}
	}
	sendAll(t, brokers, msgs)

	log := &convLog{raw: map[string]connect.Headers{}}
	var mu sync.Mutex
	types := map[string]connect.TimestampType{}
	var got []connect.Record
	task := newRecTask()
	task.onPut = func(_ context.Context, recs []connect.Record) error {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range recs {
			types[r.Topic+"/"+r.Value.(string)] = r.TimestampType
			got = append(got, r)
		}
		return nil
	}
	cfg := baseConfig(t, brokers, plain, plain, func() sink.Task { return task })
	cfg.Topics = []string{plain, logAppend}
	cfg.KeyConverter = recordingConverter{role: "key", log: log}
	cfg.ValueConverter = recordingConverter{role: "value", log: log}
	cfg.HeaderConverter = recordingHeaders{log: log}
	cfg.Errors = sluiceerrors.Config{Tolerance: sluiceerrors.ToleranceAll}
	p, err := sink.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, p)
	waitFor(t, 60*time.Second, "every record", func() bool {
		st := p.PipelineStatus()
		return len(st.Tasks) == 1 && st.Tasks[0].RecordsOut+st.Tasks[0].RecordsSkipped == 6
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	calls, raw := log.snapshot()
	// Each topic's records come in offset order; topics may interleave by
	// batch, so check each record's calls are consecutive and in order.
	want := []string{"key:k0", "value:v0", "header:h0", "header:null", "key:bad", "key:k2", "value:v2", "header:h2", "header:null"}
	perTopic := 0
	for i := 0; i+len(want) <= len(calls); i++ {
		if strings.Join(calls[i:i+len(want)], ",") == strings.Join(want, ",") {
			perTopic++
			i += len(want) - 1
		}
	}
	if perTopic != 2 {
		t.Fatalf("converter calls %q: want the sequence %q once per topic", calls, want)
	}
	for _, call := range []string{"key:k0", "value:v0", "key:k2", "value:v2", "key:bad"} {
		h := raw[call]
		i := call[len(call)-1] - '0'
		if call == "key:bad" {
			i = 1
		}
		if len(h) != 2 || h[0].Key != fmt.Sprintf("h%d", i) || h[0].Schema != nil || !bytes.Equal(h[0].Value.([]byte), []byte{0xff, 0x00, i}) ||
			h[1].Key != "null" || h[1].Schema != nil || h[1].Value != nil {
			t.Fatalf("%s got headers %#v, want the raw bytes with nil schemas", call, h)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, r := range got {
		if len(r.Headers) != 2 || r.Headers[0].Value != fmt.Sprintf("converted-\xff\x00%c", r.Value.(string)[1]-'0') {
			t.Fatalf("record %s/%v: headers %#v, want the header converter's", r.Topic, r.Value, r.Headers)
		}
	}
	for k, want := range map[string]connect.TimestampType{
		plain + "/v0": connect.CreateTime, plain + "/v2": connect.CreateTime,
		logAppend + "/v0": connect.LogAppendTime, logAppend + "/v2": connect.LogAppendTime,
	} {
		if types[k] != want {
			t.Fatalf("record %s: timestamp type %v, want %v (all: %v)", k, types[k], want, types)
		}
	}
}
