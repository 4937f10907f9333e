package runner

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/internal/kafkaconf"
	"github.com/sluicehq/sluice/offsets"
)

// clusterIDRetry is how long a failed lookup of the Kafka cluster id is
// not retried.
const clusterIDRetry = 10 * time.Second

// clusterIDCache holds the Kafka cluster id, looked up once.
type clusterIDCache struct {
	mu       sync.Mutex
	id       string
	failedAt time.Time
	asking   bool // a lookup is in flight
}

// KafkaClusterID returns the id of the Kafka cluster the Runner works
// with, as GET / reports it (Kafka Connect's kafka_cluster_id):
// Config.KafkaClusterID when set, else the one the brokers report in a
// metadata response — the cluster-mode brokers, or the Worker properties'
// bootstrap.servers (with their security settings) — asked once and
// cached. Without brokers to ask, or while they cannot be reached (the
// lookup is then retried at most every 10 s, an attempt taking at most
// the client's few-second network timeouts), it returns "". One caller at
// a time asks the brokers; callers meanwhile get "" at once rather than
// wait behind it (GET / must stay fast for health probes while the brokers
// are away). Safe for concurrent use.
func (r *Runner) KafkaClusterID(ctx context.Context) string {
	if r.cfg.KafkaClusterID != "" {
		return r.cfg.KafkaClusterID
	}
	c := &r.clusterID
	c.mu.Lock()
	if c.id != "" || c.asking || (!c.failedAt.IsZero() && r.now().Sub(c.failedAt) < clusterIDRetry) {
		id := c.id
		c.mu.Unlock()
		return id
	}
	c.asking = true
	c.mu.Unlock()
	id, err := r.lookupClusterID(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.asking = false
	if err != nil {
		c.failedAt = r.now()
		if !errors.Is(err, errNoBrokers) {
			r.log.Warn("cannot read the Kafka cluster id for GET /; reporting none", "error", err)
		}
		return ""
	}
	c.id = id
	return id
}

var errNoBrokers = errors.New("no bootstrap.servers")

func (r *Runner) lookupClusterID(ctx context.Context) (string, error) {
	var brokers []string
	var base *sarama.Config
	if r.cluster != nil {
		brokers, base = r.cluster.brokers, r.cluster.sarama
	} else {
		brokers = kafkaconf.ParseBootstrap(r.cfg.Worker[keyBootstrapServers])
		if len(brokers) == 0 {
			return "", errNoBrokers
		}
		var err error
		if base, err = offsets.ClientConfigFromProperties(r.cfg.Worker, nil); err != nil {
			return "", fmt.Errorf("the Kafka client configuration: %w", err)
		}
	}
	sc := *base
	sc.ClientID = "sluice-cluster-id"
	sc.Net.DialTimeout, sc.Net.ReadTimeout, sc.Net.WriteTimeout = 3*time.Second, 3*time.Second, 3*time.Second
	sc.Metadata.Retry.Max = 0
	sc.Metadata.Full = false
	if err := ctx.Err(); err != nil {
		return "", err
	}
	return askClusterID(brokers, &sc)
}

func askClusterID(brokers []string, sc *sarama.Config) (string, error) {
	client, err := sarama.NewClient(brokers, sc)
	if err != nil {
		return "", fmt.Errorf("connecting to %v: %w", brokers, err)
	}
	defer client.Close()
	b := client.LeastLoadedBroker()
	if b == nil {
		return "", fmt.Errorf("connecting to %v: %w", brokers, sarama.ErrOutOfBrokers)
	}
	if ok, _ := b.Connected(); !ok {
		if err := b.Open(client.Config()); err != nil && !errors.Is(err, sarama.ErrAlreadyConnected) {
			return "", err
		}
	}
	resp, err := b.GetMetadata(sarama.NewMetadataRequest(sc.Version, []string{}))
	if err != nil {
		return "", fmt.Errorf("metadata from broker %s: %w", b.Addr(), err)
	}
	if resp.ClusterID == nil || *resp.ClusterID == "" {
		return "", fmt.Errorf("broker %s reports no cluster id", b.Addr())
	}
	return *resp.ClusterID, nil
}
