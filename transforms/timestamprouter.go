package transforms

import (
	"context"
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/connect"
)

// TimestampRouterConfig configures TimestampRouter (Kafka Connect's
// org.apache.kafka.connect.transforms.TimestampRouter). The zero value uses
// Kafka Connect's defaults.
type TimestampRouterConfig struct {
	// TopicFormat (property "topic.format", default "${topic}-${timestamp}")
	// builds the new topic; ${topic} and ${timestamp} are replaced by the
	// record's topic and formatted timestamp. Empty means the default here;
	// the properties keep an empty topic.format or timestamp.format as it
	// is, as Kafka Connect does.
	TopicFormat string
	// TimestampFormat (property "timestamp.format", default "yyyyMMdd") is a
	// java.text.SimpleDateFormat pattern, applied in UTC.
	TimestampFormat string
}

func (c TimestampRouterConfig) withDefaults() TimestampRouterConfig {
	if c.TopicFormat == "" {
		c.TopicFormat = "${topic}-${timestamp}"
	}
	if c.TimestampFormat == "" {
		c.TimestampFormat = "yyyyMMdd"
	}
	return c
}

// Validate checks the timestamp format.
func (c TimestampRouterConfig) Validate() error {
	c = c.withDefaults()
	if _, err := compileDateFormat(c.TimestampFormat); err != nil {
		return configErr("timestamp.format", "%v", err)
	}
	return nil
}

// TimestampRouter sets the topic from a format of the topic and the record
// timestamp, e.g. orders → orders-20240131, to route records into time
// buckets. A record without a timestamp fails. It is safe for concurrent use.
type TimestampRouter struct {
	topicFormat string
	tsFormat    *dateFormat
	formatErr   error // from the properties: a format that fails every record
}

// NewTimestampRouter returns a TimestampRouter, or the config's validation
// error.
func NewTimestampRouter(cfg TimestampRouterConfig) (*TimestampRouter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	f, _ := compileDateFormat(cfg.TimestampFormat)
	return &TimestampRouter{topicFormat: cfg.TopicFormat, tsFormat: f}, nil
}

// timestampRouterFactory reads the properties as Kafka Connect does: an empty
// topic.format or timestamp.format is used as it is (not the default), and a
// timestamp.format that does not compile is accepted and fails every record
// (Kafka Connect builds its SimpleDateFormat on the first record).
func timestampRouterFactory(m map[string]string) (Transformation, error) {
	p := newProps(m)
	topicFormat := p.str("topic.format", "${topic}-${timestamp}")
	tsFormat := p.str("timestamp.format", "yyyyMMdd")
	if err := p.err(); err != nil {
		return nil, err
	}
	f, err := compileDateFormat(tsFormat)
	if err != nil {
		err = fmt.Errorf("timestamp.format %q: %w", tsFormat, err)
	}
	return &TimestampRouter{topicFormat: topicFormat, tsFormat: f, formatErr: err}, nil
}

// Apply sets the topic.
func (t *TimestampRouter) Apply(_ context.Context, rec *connect.Record) (*connect.Record, error) {
	ms, ok := recordMillis(rec)
	if !ok {
		// Kafka Connect: new DataException("Timestamp missing on record: " + record).
		return nil, asDataException(fmt.Errorf("timestamp missing on record for topic %s", rec.Topic))
	}
	if t.formatErr != nil {
		return nil, t.formatErr
	}
	ts := t.tsFormat.format(millisTime(ms))
	topic := strings.ReplaceAll(t.topicFormat, "${topic}", rec.Topic)
	rec.Topic = strings.ReplaceAll(topic, "${timestamp}", ts)
	return rec, nil
}
