package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/converters"
	"github.com/sluicehq/sluice/sink"
)

// jsonLinesTask is a sink task that appends each record's value to a file as
// one plain JSON object per line. Put only buffers; Flush, which the pipeline
// calls before it commits consumer offsets, makes the lines durable.
type jsonLinesTask struct {
	path string

	enc *converters.JSON
	f   *os.File
	w   *bufio.Writer
}

var _ sink.Flusher = (*jsonLinesTask)(nil)

func (t *jsonLinesTask) Start(context.Context, sink.TaskContext) error {
	// Plain JSON (schemas.enable=false) with decimals as numbers: the
	// converters are encoders for anyone, not just for Kafka.
	enc, err := converters.NewJSON(converters.JSONConfig{SchemasDisabled: true, DecimalFormat: converters.DecimalNumeric})
	if err != nil {
		return err
	}
	f, err := os.OpenFile(t.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	t.enc, t.f, t.w = enc, f, bufio.NewWriterSize(f, 64<<10)
	return nil
}

func (t *jsonLinesTask) Put(ctx context.Context, records []connect.Record) error {
	for i := range records {
		r := &records[i]
		line, err := t.enc.FromConnect(ctx, r.Topic, nil, r.ValueSchema, r.Value)
		if err != nil {
			return fmt.Errorf("encoding %s: %w", r.Coordinates(), err)
		}
		t.w.Write(line)
		if err := t.w.WriteByte('\n'); err != nil { // bufio's errors are sticky
			return fmt.Errorf("writing %s: %w", t.path, err)
		}
	}
	return nil
}

func (t *jsonLinesTask) Flush(context.Context, map[connect.TopicPartition]int64) error {
	if err := t.w.Flush(); err != nil {
		return fmt.Errorf("writing %s: %w", t.path, err)
	}
	return t.f.Sync()
}

func (t *jsonLinesTask) Stop(ctx context.Context) error {
	if t.f == nil {
		return nil
	}
	return errors.Join(t.Flush(ctx, nil), t.f.Close())
}
