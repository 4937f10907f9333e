package source

import (
	"github.com/IBM/sarama"
	"github.com/sluicehq/sluice/internal/kafkaconf"
)

func newSaramaConfig() *sarama.Config { return kafkaconf.NewSaramaConfig("") }

// producerPrefix names producer properties in errors and warnings.
const producerPrefix = "producer.override."

func applyProducerProps(cfg *sarama.Config, props map[string]string) ([]string, error) {
	return kafkaconf.ApplyProducerProps(cfg, producerPrefix, props)
}

// bytesEncoder is a sarama.Encoder over a byte slice, used by pointer so that
// storing it in a ProducerMessage does not allocate.
type bytesEncoder []byte

func (b *bytesEncoder) Encode() ([]byte, error) { return *b, nil }
func (b *bytesEncoder) Length() int             { return len(*b) }

// partitioner places records that carry an explicit partition there, and
// the others as Kafka's Java producer does: by murmur2 of the key bytes, so a
// key lands on the same partition whether Sluice or Kafka Connect wrote it
// (random for nil keys).
type partitioner struct{ hash sarama.Partitioner }

func newPartitioner(topic string) sarama.Partitioner {
	return partitioner{hash: sarama.NewMurmur2Partitioner(topic)}
}

func (p partitioner) Partition(msg *sarama.ProducerMessage, n int32) (int32, error) {
	if msg.Metadata == any(offsetMsg) {
		return msg.Partition, nil // placed by the offsets store
	}
	if s, ok := msg.Metadata.(*msgSlot); ok && s.explicit {
		if msg.Partition < 0 || msg.Partition >= n {
			return -1, sarama.ErrInvalidPartition
		}
		return msg.Partition, nil
	}
	return p.hash.Partition(msg, n)
}

func (p partitioner) RequiresConsistency() bool { return true }
