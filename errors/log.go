package errors

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/sluicehq/sluice/connect"
)

// LogReporter reports failures as one structured slog line each (it adds the
// connector and task attributes itself), with stage,
// class, coordinates and error; record contents only when IncludeMessages
// (errors.log.include.messages). It counts into Metrics.ErrorsLogged.
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
	class := ""
	if f.Component != nil {
		class = connect.TypeName(f.Component)
	}
	attrs := []any{"connector", connector, "task", task, "stage", f.Stage, "class", class, "attempts", f.Attempts, "error", f.Err}
	where := ""
	switch {
	case f.Record != nil && f.Record.OriginalTopic != "":
		r := f.Record
		where = fmt.Sprintf(", where consumed record is {topic='%s', partition=%d, offset=%d}", r.OriginalTopic, r.OriginalPartition, r.OriginalOffset)
		attrs = append(attrs, "topic", r.OriginalTopic, "partition", r.OriginalPartition, "offset", r.OriginalOffset)
	case f.Record != nil:
		where = ", where source record is " + f.Record.Coordinates()
		attrs = append(attrs, "source_partition", connect.FormatMap(f.Record.SourcePartition), "source_offset", connect.FormatMap(f.Record.SourceOffset))
	}
	if l.IncludeMessages && f.Record != nil {
		attrs = append(attrs, "record_topic", f.Record.Topic, "key", fmt.Sprint(f.Record.Key), "value", fmt.Sprint(f.Record.Value), "timestamp", f.Record.Timestamp)
	}
	logger.ErrorContext(ctx, fmt.Sprintf("Error encountered in task %s-%d. Executing stage '%s' with class '%s'%s.", connector, task, f.Stage, class, where), attrs...)
	if l.Metrics != nil {
		l.Metrics.ErrorsLogged.Add(1)
	}
	return nil
}
