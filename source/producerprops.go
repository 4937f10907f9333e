package source

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/internal/kafkaconf"
)

// checkProducerProps checks each producer property (Config.ProducerProps:
// the worker's producer.* merged with the connector's producer.override.*)
// as the tasks will apply it, so that ConfigFromProperties fails naming the
// key as written instead of a task failing when it starts. Keys without a
// sarama mapping are not errors (the pipeline warns about them when it
// runs).
func checkProducerProps(worker, connector, props map[string]string) []error {
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(props)) {
		if kafkaconf.IsSecurityKey(k) {
			continue // checked together below
		}
		key := producerKey(worker, connector, k)
		_, rest, err := parseDelivery("", map[string]string{k: props[k]})
		if err == nil {
			_, err = kafkaconf.ApplyProducerProps(newSaramaConfig(), "", rest)
		}
		if err != nil {
			if msg, ok := strings.CutPrefix(err.Error(), k+": "); ok {
				err = errors.New(msg)
			}
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
	}
	// The security keys make sense only together (security.protocol
	// decides what the ssl.* and sasl.* keys mean).
	if err := kafkaconf.ApplySecurity(newSaramaConfig(), props, func(k string) string { return producerKey(worker, connector, k) }); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// producerKey names producer property k as written: the connector's
// producer.override.k wins over the worker's producer.k.
func producerKey(worker, connector map[string]string, k string) string {
	if _, ok := connector["producer.override."+k]; ok {
		return "producer.override." + k
	}
	if _, ok := worker["producer."+k]; ok {
		return "producer." + k
	}
	return "producer.override." + k
}
