package cluster

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/jackson"
)

// topicStatusSeparator separates topic and connector in an active-topic
// key: status-topic-<topic>:connector-<connector> (KafkaStatusBackingStore).
const topicStatusSeparator = ":connector-"

// topicKey is the status-topic key of an active topic.
func topicKey(connector, topic string) string {
	return topicStatusPrefix + topic + topicStatusSeparator + connector
}

// applyTopicLocked applies an active-topic record (KIP-558); rest is the
// key without its prefix. l.mu is held.
func (l *StatusLog) applyTopicLocked(rest string, value []byte) error {
	topic, connector, ok := strings.Cut(rest, topicStatusSeparator)
	if !ok || topic == "" || connector == "" {
		return errors.New("invalid topic status key")
	}
	if l.topics == nil {
		l.topics = map[string][]string{}
		l.topicResets = map[string]uint64{}
	}
	if value == nil {
		if i := slices.Index(l.topics[connector], topic); i >= 0 {
			l.topics[connector] = slices.Delete(l.topics[connector], i, i+1)
			if len(l.topics[connector]) == 0 {
				delete(l.topics, connector)
			}
		}
		l.topicResets[connector]++
		return nil
	}
	obj, err := parseObject(value)
	if err != nil {
		return err
	}
	if _, ok := obj["topic"].(map[string]any); !ok {
		return errors.New(`"topic" is not an object`)
	}
	if !slices.Contains(l.topics[connector], topic) {
		l.topics[connector] = append(l.topics[connector], topic)
	}
	return nil
}

// Topics returns the connector's active topics as last read from the
// topic (Kafka Connect's status-topic-<topic>:connector-<connector>
// records), in the order first read; never nil.
func (l *StatusLog) Topics(connector string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string{}, l.topics[connector]...)
}

// TopicDeletions counts the active-topic tombstones read for the connector
// since the log was opened: a change tells a member that the connector's
// active topics were reset.
func (l *StatusLog) TopicDeletions(connector string) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.topicResets[connector]
}

// PutTopic writes status-topic-<topic>:connector-<connector> with Kafka
// Connect's TopicStatus value {"topic":{"name","connector","task",
// "discoverTimestamp"}}. It does not wait, like PutConnector.
func (l *StatusLog) PutTopic(connector, topic string, task int, discovered time.Time) {
	v := []byte(`{"topic":{"name":`)
	v = jackson.AppendString(v, topic)
	v = append(v, `,"connector":`...)
	v = jackson.AppendString(v, connector)
	v = fmt.Appendf(v, `,"task":%d,"discoverTimestamp":%d}}`, task, discovered.UnixMilli())
	l.putValue(topicKey(connector, topic), v)
}

// DeleteTopic writes the tombstone of an active topic (a reset), like
// PutConnector.
func (l *StatusLog) DeleteTopic(connector, topic string) {
	l.putValue(topicKey(connector, topic), nil)
}

// putValue queues a raw record (nil value: a tombstone), as put does.
func (l *StatusLog) putValue(key string, value []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		l.log.Warn("cluster: status log closed; dropping record", "topic", l.topic, "key", key)
		return
	}
	l.seq[key]++
	l.queue = append(l.queue, &statusWrite{key: key, value: value, seq: l.seq[key]})
	l.pending++
	select {
	case l.wake <- struct{}{}:
	default:
	}
}
