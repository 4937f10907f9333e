package source

import (
	"github.com/sluicehq/sluice/internal/connprops"
	"github.com/sluicehq/sluice/internal/kafkaconf"
)

// checkProducerProps checks each producer property (Config.ProducerProps:
// the worker's producer.* merged with the connector's producer.override.*)
// as the tasks will apply it, so that ConfigFromProperties fails naming the
// key as written instead of a task failing when it starts. Keys without a
// sarama mapping are not errors (the pipeline warns about them when it
// runs).
func checkProducerProps(worker, connector, props map[string]string) []error {
	return connprops.CheckClientProps(worker, connector, "producer", props, func(k, v string) error {
		_, rest, err := parseDelivery("", map[string]string{k: v})
		if err == nil {
			_, err = kafkaconf.ApplyProducerProps(newSaramaConfig(), "", rest)
		}
		return err
	}, false)
}
