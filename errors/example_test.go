package errors_test

import (
	"fmt"

	sluiceerrors "github.com/sluicehq/sluice/errors"
)

// A connector configured by properties, as a Kafka Connect worker would be:
// tolerate failed records, retry them for up to ten seconds, log them and
// write them to a dead-letter queue with the __connect.errors.* headers. The
// Config goes into source.Config.Errors or sink.Config.Errors.
func ExampleConfigFromProperties() {
	cfg, err := sluiceerrors.ConfigFromProperties(map[string]string{
		"errors.tolerance":                              "all",
		"errors.retry.timeout":                          "10000",
		"errors.log.enable":                             "true",
		"errors.deadletterqueue.topic.name":             "orders-dlq",
		"errors.deadletterqueue.context.headers.enable": "true",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(cfg.Tolerance, cfg.RetryTimeout, cfg.LogEnable, cfg.DLQTopic, cfg.DLQContextHeaders)

	_, err = sluiceerrors.ConfigFromProperties(map[string]string{"errors.tolerance": "some"})
	fmt.Println(err)
	// Output:
	// all 10s true orders-dlq true
	// errors.tolerance: want none or all, got "some"
}
