package errhandler

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/sluicehq/sluice/connect"
)

// LogReporter reports failures as one structured slog line each (it adds the
// connector and task attributes itself), with stage, class (Kafka Connect's
// class name, as the dead-letter queue's header: ClassName; "null" when
// there is none, as Kafka Connect prints it), go_class (the component's Go
// type), coordinates and error. With IncludeMessages
// (errors.log.include.messages) a source record's contents are added, and a
// consumed (sink) record's timestamp only, never its key or value (as Kafka
// Connect). It counts into Metrics.ErrorsLogged.
type LogReporter struct {
	Logger          *slog.Logger
	IncludeMessages bool
	Metrics         *Metrics
}

// Report logs f at error level. It never fails.
func (l *LogReporter) Report(ctx context.Context, connector string, task int, f *Failure) error {
	logger := l.Logger
	if logger == nil {
		logger = slog.Default()
	}
	// Kafka Connect's LogReporter prints executingClass.getName(), "null"
	// when there is none: the class of the DLQ header (ClassName).
	class := ClassName(f)
	if class == "" {
		class = "null"
	}
	attrs := []any{"logger", "org.apache.kafka.connect.runtime.errors.LogReporter", "connector", connector, "task", task, "stage", f.Stage, "class", class}
	if f.Component != nil {
		attrs = append(attrs, "go_class", fmt.Sprintf("%T", f.Component))
	}
	attrs = append(attrs, "attempts", f.Attempts, "error", f.Err)
	where := ""
	switch {
	case f.Record != nil && f.Record.OriginalTopic != "":
		// A consumed (sink) record: as Kafka Connect's ProcessingContext
		// describes a ConsumerRecord, never its key or value; with
		// IncludeMessages only its timestamp is added.
		r := f.Record
		ts := ""
		attrs = append(attrs, "topic", r.OriginalTopic, "partition", r.OriginalPartition, "offset", r.OriginalOffset)
		if l.IncludeMessages && r.TimestampType != connect.NoTimestampType && !r.Timestamp.IsZero() {
			ts = fmt.Sprintf(", timestamp=%d, timestampType=%s", r.Timestamp.UnixMilli(), r.TimestampType)
			attrs = append(attrs, "timestamp", r.Timestamp.UnixMilli(), "timestamp_type", r.TimestampType.String())
		}
		where = fmt.Sprintf(", where consumed record is {topic='%s', partition=%d, offset=%d%s}", r.OriginalTopic, r.OriginalPartition, r.OriginalOffset, ts)
	case f.Record != nil:
		where = ", where source record is " + f.Record.Coordinates()
		attrs = append(attrs, "source_partition", connect.FormatMap(f.Record.SourcePartition), "source_offset", connect.FormatMap(f.Record.SourceOffset))
		if l.IncludeMessages {
			// As Kafka Connect's SourceRecord.toString: topic, partition,
			// key and value with their schemas, timestamp and headers.
			r := f.Record
			attrs = append(attrs, "record_topic", r.Topic, "key", fmt.Sprint(r.Key), "key_schema", r.KeySchema.String(),
				"value", fmt.Sprint(r.Value), "value_schema", r.ValueSchema.String(), "timestamp", r.Timestamp)
			if r.HasPartition {
				attrs = append(attrs, "kafka_partition", r.Partition)
			}
			if len(r.Headers) > 0 {
				hs := make([]string, len(r.Headers))
				for i, h := range r.Headers {
					hs[i] = h.Key + "=" + fmt.Sprint(h.Value)
				}
				attrs = append(attrs, "headers", hs)
			}
		}
	}
	logger.ErrorContext(ctx, fmt.Sprintf("Error encountered in task %s-%d. Executing stage '%s' with class '%s'%s.", connector, task, f.Stage, class, where), attrs...)
	if l.Metrics != nil {
		l.Metrics.ErrorsLogged.Add(1)
	}
	return nil
}
