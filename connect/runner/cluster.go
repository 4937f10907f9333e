package runner

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/internal/cluster"
	"github.com/sluicehq/sluice/internal/kafkaconf"
)

// Kafka Connect's distributed worker keys that ClusterConfigFromProperties
// reads.
const (
	keyGroupID                  = "group.id"
	keyConfigTopic              = "config.storage.topic"
	keyConfigReplication        = "config.storage.replication.factor"
	keyOffsetTopic              = "offset.storage.topic"
	keyOffsetReplication        = "offset.storage.replication.factor"
	keyOffsetPartitions         = "offset.storage.partitions"
	keyStatusTopic              = "status.storage.topic"
	keyStatusReplication        = "status.storage.replication.factor"
	keyStatusPartitions         = "status.storage.partitions"
	keySessionTimeout           = "session.timeout.ms"
	keyHeartbeatInterval        = "heartbeat.interval.ms"
	keyRebalanceTimeout         = "rebalance.timeout.ms"
	keyScheduledRebalanceDelay  = "scheduled.rebalance.max.delay.ms"
	keyConnectProtocol          = "connect.protocol"
	keyListeners                = "listeners"
	keyAdvertisedHost           = "rest.advertised.host.name"
	keyAdvertisedPort           = "rest.advertised.port"
	keyAdvertisedListener       = "rest.advertised.listener"
	keyBootstrapServers         = "bootstrap.servers"
	defaultListener             = "http://:8083"
	defaultSessionTimeout       = 10 * time.Second
	defaultHeartbeatInterval    = 3 * time.Second
	defaultRebalanceTimeout     = 60 * time.Second
	defaultScheduledDelay       = 5 * time.Minute
	defaultOffsetPartitions     = 25
	defaultStatusPartitions     = 5
	defaultClusterBootstrap     = "localhost:9092"
	defaultClusterHTTPTimeout   = 30 * time.Second
	defaultClusterStatusRefresh = 500 * time.Millisecond
)

// ClusterConfig makes a Runner a member of a cluster of Runners: processes
// whose ClusterConfig has the same GroupID share their connectors and tasks
// through Kafka's group coordinator, as Kafka Connect's distributed workers
// do (the "connect" group protocol, incremental cooperative rebalancing,
// KIP-415), with connector configurations, target states and restart
// requests in ConfigTopic, statuses in StatusTopic and source offsets in
// OffsetTopic, each in Kafka Connect's record format. Its zero value is not
// usable: GroupID and the three topics are required (see Validate); every
// other field has Kafka Connect's default when zero.
//
// Set it as Config.Cluster, or let New derive it from the Worker
// properties (ClusterConfigFromProperties).
type ClusterConfig struct {
	// GroupID is the cluster's group id (group.id).
	GroupID string
	// ConfigTopic (config.storage.topic) holds connector configurations,
	// task configurations, target states and restart requests; it must
	// have a single partition and is created compacted with one.
	// OffsetTopic (offset.storage.topic) holds source offsets, StatusTopic
	// (status.storage.topic) connector and task statuses.
	ConfigTopic, OffsetTopic, StatusTopic string
	// Replication factors of the topics when the Runner creates them; 0
	// means the broker's default (Kafka Connect's -1).
	ConfigReplicationFactor, OffsetReplicationFactor, StatusReplicationFactor int16
	// Partitions of the offsets and status topics when created (default
	// 25 and 5).
	OffsetPartitions, StatusPartitions int32
	// SessionTimeout, HeartbeatInterval and RebalanceTimeout are the group
	// membership timings (default 10 s, 3 s, 60 s): a member that sends no
	// heartbeat for SessionTimeout is removed from the group and its work
	// moves; a member must stop revoked work within RebalanceTimeout.
	SessionTimeout, HeartbeatInterval, RebalanceTimeout time.Duration
	// ScheduledRebalanceMaxDelay is how long the work of a member that left
	// without a goodbye (a crash) waits for it to come back before it is
	// given to the others (scheduled.rebalance.max.delay.ms, default 5
	// min). A negative value reassigns it at once (Kafka Connect's 0).
	ScheduledRebalanceMaxDelay time.Duration
	// AdvertisedURL is this member's REST URL as the others reach it
	// (e.g. http://10.0.0.7:8083): they forward task restarts to it, and
	// its host:port is this member's worker_id in statuses. Default
	// http://<hostname>:8083.
	AdvertisedURL string
	// Protocol is the connect group subprotocol offered first:
	// "sessioned" (default) or "compatible"; both are incremental
	// cooperative.
	Protocol string
	// Brokers are the bootstrap brokers (default: the Worker property
	// bootstrap.servers, else localhost:9092).
	Brokers []string
	// Sarama is the base Kafka client configuration of the member and the
	// config and status topics (copied); nil means the project default
	// with the Worker properties' security keys applied.
	Sarama *sarama.Config
	// HTTPClient forwards requests to other members (a task restart to the
	// member running the task); nil means a client with a 30 s timeout.
	HTTPClient *http.Client
}

// Validate reports the first problem of c, naming the Kafka Connect key.
func (c ClusterConfig) Validate() error {
	var errs []error
	if strings.TrimSpace(c.GroupID) == "" {
		errs = append(errs, errors.New(keyGroupID+": required in cluster mode"))
	}
	topics := map[string]string{keyConfigTopic: c.ConfigTopic, keyOffsetTopic: c.OffsetTopic, keyStatusTopic: c.StatusTopic}
	for _, k := range []string{keyConfigTopic, keyOffsetTopic, keyStatusTopic} {
		if strings.TrimSpace(topics[k]) == "" {
			errs = append(errs, errors.New(k+": required in cluster mode"))
		}
	}
	if c.ConfigTopic != "" && (c.ConfigTopic == c.OffsetTopic || c.ConfigTopic == c.StatusTopic) || c.OffsetTopic != "" && c.OffsetTopic == c.StatusTopic {
		errs = append(errs, fmt.Errorf("%s, %s and %s must name three different topics (got %q, %q, %q)", keyConfigTopic, keyOffsetTopic, keyStatusTopic, c.ConfigTopic, c.OffsetTopic, c.StatusTopic))
	}
	if c.SessionTimeout < 0 || c.HeartbeatInterval < 0 || c.RebalanceTimeout < 0 {
		errs = append(errs, fmt.Errorf("%s, %s and %s must not be negative", keySessionTimeout, keyHeartbeatInterval, keyRebalanceTimeout))
	}
	d := c.withDefaults()
	if d.HeartbeatInterval >= d.SessionTimeout {
		errs = append(errs, fmt.Errorf("%s (%v) must be lower than %s (%v)", keyHeartbeatInterval, d.HeartbeatInterval, keySessionTimeout, d.SessionTimeout))
	}
	if c.OffsetPartitions < 0 || c.StatusPartitions < 0 {
		errs = append(errs, fmt.Errorf("%s and %s must not be negative", keyOffsetPartitions, keyStatusPartitions))
	}
	if c.AdvertisedURL != "" {
		if _, err := workerIDOf(c.AdvertisedURL); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Protocol != "" {
		if v, err := cluster.ParseProtocol(c.Protocol); err != nil || v == cluster.ProtocolDefault {
			errs = append(errs, fmt.Errorf("%s: %q is not supported: use sessioned or compatible (incremental cooperative)", keyConnectProtocol, c.Protocol))
		}
	}
	return errors.Join(errs...)
}

// withDefaults returns c with its zero fields set to their defaults.
func (c ClusterConfig) withDefaults() ClusterConfig {
	if c.SessionTimeout == 0 {
		c.SessionTimeout = defaultSessionTimeout
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = min(defaultHeartbeatInterval, c.SessionTimeout/3)
	}
	if c.RebalanceTimeout == 0 {
		c.RebalanceTimeout = defaultRebalanceTimeout
	}
	if c.ScheduledRebalanceMaxDelay == 0 {
		c.ScheduledRebalanceMaxDelay = defaultScheduledDelay
	}
	if c.OffsetPartitions == 0 {
		c.OffsetPartitions = defaultOffsetPartitions
	}
	if c.StatusPartitions == 0 {
		c.StatusPartitions = defaultStatusPartitions
	}
	for _, rf := range []*int16{&c.ConfigReplicationFactor, &c.OffsetReplicationFactor, &c.StatusReplicationFactor} {
		if *rf == 0 {
			*rf = -1
		}
	}
	if c.AdvertisedURL == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "localhost"
		}
		c.AdvertisedURL = "http://" + net.JoinHostPort(host, "8083")
	}
	if c.Protocol == "" {
		c.Protocol = cluster.ProtocolName(cluster.ProtocolSessioned)
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: defaultClusterHTTPTimeout}
	}
	return c
}

// workerIDOf returns the host:port of an advertised URL: the member's
// worker_id, as Kafka Connect's.
func workerIDOf(advertised string) (string, error) {
	u, err := url.Parse(advertised)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("advertised URL %q: want http(s)://host:port", advertised)
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}

// ClusterConfigFromProperties returns the ClusterConfig of Kafka Connect's
// distributed worker properties: group.id, config.storage.topic,
// offset.storage.topic, status.storage.topic, their .replication.factor
// (absent or -1: the broker's default) and .partitions,
// session.timeout.ms, heartbeat.interval.ms, rebalance.timeout.ms,
// scheduled.rebalance.max.delay.ms (0: reassign at once),
// connect.protocol, bootstrap.servers, and the advertised REST URL from
// rest.advertised.listener, rest.advertised.host.name and
// rest.advertised.port, falling back to the first of listeners (default
// http://:8083; an empty host means the machine's hostname). It returns
// nil, nil when config.storage.topic is absent (not a distributed
// worker). Errors name the key.
func ClusterConfigFromProperties(worker map[string]string) (*ClusterConfig, error) {
	if strings.TrimSpace(worker[keyConfigTopic]) == "" {
		return nil, nil
	}
	c := &ClusterConfig{
		GroupID:     strings.TrimSpace(worker[keyGroupID]),
		ConfigTopic: strings.TrimSpace(worker[keyConfigTopic]),
		OffsetTopic: strings.TrimSpace(worker[keyOffsetTopic]),
		StatusTopic: strings.TrimSpace(worker[keyStatusTopic]),
		Protocol:    strings.TrimSpace(worker[keyConnectProtocol]),
		Brokers:     kafkaconf.ParseBootstrap(worker[keyBootstrapServers]),
	}
	var errs []error
	rf := func(key string, dst *int16) {
		v, ok := worker[key]
		if !ok || strings.TrimSpace(v) == "" {
			return
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 16)
		if err != nil || n == 0 || n < -1 {
			errs = append(errs, fmt.Errorf("%s: %q is not a replication factor (a positive number, or -1 for the broker's default)", key, v))
			return
		}
		*dst = int16(n)
	}
	parts := func(key string, dst *int32) {
		v, ok := worker[key]
		if !ok || strings.TrimSpace(v) == "" {
			return
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
		if err != nil || n == 0 || n < -1 {
			errs = append(errs, fmt.Errorf("%s: %q is not a partition count (a positive number, or -1 for the broker's default)", key, v))
			return
		}
		if n > 0 {
			*dst = int32(n)
		}
	}
	millis := func(key string, dst *time.Duration) bool {
		v, ok := worker[key]
		if !ok || strings.TrimSpace(v) == "" {
			return false
		}
		d, err := kafkaconf.ParseMillis(key, strings.TrimSpace(v))
		if err != nil {
			errs = append(errs, err)
			return false
		}
		*dst = d
		return true
	}
	rf(keyConfigReplication, &c.ConfigReplicationFactor)
	rf(keyOffsetReplication, &c.OffsetReplicationFactor)
	rf(keyStatusReplication, &c.StatusReplicationFactor)
	parts(keyOffsetPartitions, &c.OffsetPartitions)
	parts(keyStatusPartitions, &c.StatusPartitions)
	millis(keySessionTimeout, &c.SessionTimeout)
	millis(keyHeartbeatInterval, &c.HeartbeatInterval)
	millis(keyRebalanceTimeout, &c.RebalanceTimeout)
	if millis(keyScheduledRebalanceDelay, &c.ScheduledRebalanceMaxDelay) && c.ScheduledRebalanceMaxDelay == 0 {
		c.ScheduledRebalanceMaxDelay = -1
	}
	adv, err := advertisedURL(worker)
	if err != nil {
		errs = append(errs, err)
	}
	c.AdvertisedURL = adv
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("distributed worker properties: %w", err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("distributed worker properties: %w", err)
	}
	return c, nil
}

// advertisedURL derives a worker's advertised REST URL as Kafka Connect's
// RestServer.advertisedUrl does.
func advertisedURL(worker map[string]string) (string, error) {
	listeners := strings.Split(worker[keyListeners], ",")
	first := ""
	for _, l := range listeners {
		if l = strings.TrimSpace(l); l != "" {
			first = l
			break
		}
	}
	if first == "" {
		first = defaultListener
	}
	u, err := url.Parse(first)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("%s: %q is not a listener (want http(s)://host:port)", keyListeners, first)
	}
	scheme, host, port := u.Scheme, u.Hostname(), u.Port()
	if v := strings.TrimSpace(worker[keyAdvertisedListener]); v != "" {
		scheme = strings.ToLower(v)
		if scheme != "http" && scheme != "https" {
			return "", fmt.Errorf("%s: %q is not http or https", keyAdvertisedListener, v)
		}
	}
	if v := strings.TrimSpace(worker[keyAdvertisedHost]); v != "" {
		host = v
	}
	if v := strings.TrimSpace(worker[keyAdvertisedPort]); v != "" {
		if _, err := strconv.ParseUint(v, 10, 16); err != nil {
			return "", fmt.Errorf("%s: %q is not a port", keyAdvertisedPort, v)
		}
		port = v
	}
	if host == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "localhost"
		}
		host = h
	}
	if port == "" {
		port = "8083"
	}
	return scheme + "://" + net.JoinHostPort(host, port), nil
}
