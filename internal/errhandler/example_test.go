package errhandler_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/sluicehq/sluice/connect"
	sluiceerrors "github.com/sluicehq/sluice/errors"
	"github.com/sluicehq/sluice/internal/errhandler"
)

// A handler under errors.tolerance=all skips a record whose conversion
// fails, after logging it with Kafka Connect's LogReporter message, and
// lets the pipeline carry on; a record that converts is processed as usual.
func ExampleNew() {
	cfg, err := sluiceerrors.ConfigFromProperties(map[string]string{
		"errors.tolerance":  "all",
		"errors.log.enable": "true",
	})
	if err != nil {
		panic(err)
	}
	// Log lines without the time, so the output is stable.
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	metrics := new(errhandler.Metrics)
	h := errhandler.New(cfg, "orders-sink", 0,
		errhandler.WithMetrics(metrics),
		errhandler.WithReporters(&errhandler.LogReporter{Logger: logger, Metrics: metrics}))

	ctx := context.Background()
	for offset, value := range []string{`{"id":1}`, `{"id":`} {
		rec := &connect.Record{Topic: "orders", OriginalTopic: "orders", OriginalPartition: 0, OriginalOffset: int64(offset)}
		skip, err := h.Execute(ctx, connect.StageValueConverter, nil, rec, nil, func(context.Context) error {
			if value[len(value)-1] != '}' {
				return errors.New("unexpected end of JSON input")
			}
			return nil
		})
		fmt.Printf("offset %d: skip=%v err=%v\n", offset, skip, err)
	}
	s := metrics.Snapshot()
	fmt.Printf("errors=%d skipped=%d logged=%d\n", s.RecordErrors, s.RecordsSkipped, s.ErrorsLogged)
	// Output:
	// offset 0: skip=false err=<nil>
	// level=ERROR msg="Error encountered in task orders-sink-0. Executing stage 'VALUE_CONVERTER' with class 'null', where consumed record is {topic='orders', partition=0, offset=1}." logger=org.apache.kafka.connect.runtime.errors.LogReporter connector=orders-sink task=0 stage=VALUE_CONVERTER class=null attempts=1 error="unexpected end of JSON input" topic=orders partition=0 offset=1
	// offset 1: skip=true err=<nil>
	// errors=1 skipped=1 logged=1
}
