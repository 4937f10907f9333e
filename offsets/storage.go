package offsets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/kafkaconf"
)

// DefaultTopic is the offsets topic a Storage selects when it names none:
// the offset.storage.topic Kafka Connect distributed workers are usually
// configured with, so Sluice and Kafka Connect find each other's offsets.
const DefaultTopic = "connect-offsets"

// The worker property keys StorageFromProperties reads, as Kafka Connect's
// (standalone: the file; distributed: the topic and its creation settings).
const (
	propFile              = "offset.storage.file.filename"
	propTopic             = "offset.storage.topic"
	propPartitions        = "offset.storage.partitions"
	propReplicationFactor = "offset.storage.replication.factor"
)

// Storage says where source offsets live, for code that opens the store
// itself: a source pipeline given no store (source.Config.OffsetStorage)
// and OpenFromProperties. It is either a local file (File set) or a Kafka
// topic. The zero value selects the Kafka topic DefaultTopic, created if
// missing with 25 partitions and replication factor 3: durable, and shared
// by every process using the same cluster, as Kafka Connect distributed
// workers share their offsets topic. A memory store is never selected by a
// Storage: pass offsets.NewMemoryStore() as the store where offsets may be
// lost.
type Storage struct {
	// File selects a FileStore at this path (Kafka Connect standalone's
	// offset.storage.file.filename). Its directory must exist. Within one
	// process, every store Open returns for the same file shares one
	// FileStore, so pipelines opening it separately do not overwrite each
	// other's offsets; the file must not be used by another process.
	File string
	// Topic is the Kafka offsets topic (offset.storage.topic); "" selects
	// DefaultTopic. An existing topic must be compacted.
	Topic string
	// Partitions is the partition count the topic is created with
	// (offset.storage.partitions): 0 means 25, -1 the broker's default.
	Partitions int32
	// ReplicationFactor is the replication factor the topic is created
	// with (offset.storage.replication.factor): 0 means 3, -1 the broker's
	// default (default.replication.factor). Where the cluster has fewer
	// brokers than the factor (a one-broker development broker), the topic
	// is created with one replica per broker and a warning is logged, as
	// KafkaStoreConfig.ReplicationFactor documents (Kafka Connect refuses
	// to start instead); -1 leaves the choice to the broker.
	ReplicationFactor int16
}

// TopicName returns the Kafka topic s selects (DefaultTopic when Topic is
// empty), or "" when s selects a file.
func (s Storage) TopicName() string {
	switch {
	case s.File != "":
		return ""
	case s.Topic == "":
		return DefaultTopic
	}
	return s.Topic
}

// String describes the store s selects, for logs and errors.
func (s Storage) String() string {
	if s.File != "" {
		return fmt.Sprintf("offsets file %q", s.File)
	}
	return fmt.Sprintf("offsets topic %q", s.TopicName())
}

// Validate reports a Storage that names both a file and topic settings, or
// out-of-range topic settings, naming the property keys.
func (s Storage) Validate() error {
	var errs []error
	if s.File != "" && (s.Topic != "" || s.Partitions != 0 || s.ReplicationFactor != 0) {
		errs = append(errs, fmt.Errorf("%s and %s (or its .partitions, .replication.factor) are both set: choose the file (standalone) or the topic (distributed)", propFile, propTopic))
	}
	if s.Partitions < -1 {
		errs = append(errs, fmt.Errorf("%s: want a positive count or -1 (broker default), got %d", propPartitions, s.Partitions))
	}
	if s.ReplicationFactor < -1 {
		errs = append(errs, fmt.Errorf("%s: want a positive factor or -1 (broker default), got %d", propReplicationFactor, s.ReplicationFactor))
	}
	return errors.Join(errs...)
}

// StorageFromProperties reads a worker configuration's offset.storage.*
// keys: offset.storage.file.filename selects a file store (Kafka Connect
// standalone); offset.storage.topic, offset.storage.partitions and
// offset.storage.replication.factor the Kafka topic store (distributed).
// Setting the file and any topic key is an error; setting neither selects
// the default, the topic DefaultTopic. Errors name the offending keys.
func StorageFromProperties(worker map[string]string) (Storage, error) {
	var s Storage
	var errs []error
	if v, ok := worker[propFile]; ok {
		if s.File = strings.TrimSpace(v); s.File == "" {
			errs = append(errs, fmt.Errorf("%s: empty path", propFile))
		}
	}
	if v, ok := worker[propTopic]; ok {
		if s.Topic = strings.TrimSpace(v); s.Topic == "" {
			errs = append(errs, fmt.Errorf("%s: empty topic name", propTopic))
		}
	}
	if v, ok := worker[propPartitions]; ok {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
		if err != nil || n == 0 || n < -1 {
			errs = append(errs, fmt.Errorf("%s: want a positive count or -1 (broker default), got %q", propPartitions, v))
		} else {
			s.Partitions = int32(n)
		}
	}
	if v, ok := worker[propReplicationFactor]; ok {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 16)
		if err != nil || n == 0 || n < -1 {
			errs = append(errs, fmt.Errorf("%s: want a positive factor or -1 (broker default), got %q", propReplicationFactor, v))
		} else {
			s.ReplicationFactor = int16(n)
		}
	}
	if _, hasFile := worker[propFile]; hasFile {
		for _, k := range []string{propTopic, propPartitions, propReplicationFactor} {
			if _, ok := worker[k]; ok {
				errs = append(errs, fmt.Errorf("%s and %s are both set: choose the file (standalone) or the topic (distributed)", propFile, k))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Storage{}, err
	}
	return s, nil
}

// Open opens the store s selects; the caller owns it and must Close it.
// For a topic it is a KafkaStore (see NewKafkaStore: the topic is created
// if missing and read to its end, bounded by ctx and DefaultReadTimeout)
// on brokers, with sc as the base client configuration (nil: defaults)
// and log for its warnings (nil: slog.Default()). For a file it is a
// FileStore (see NewFileStore), shared with the other open stores of the
// same file in this process; brokers, sc and log are then unused. Errors
// name the file or topic.
func (s Storage) Open(ctx context.Context, brokers []string, sc *sarama.Config, log *slog.Logger) (Store, error) {
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("offsets: %w", err)
	}
	if s.File != "" {
		return openSharedFile(s.File)
	}
	return NewKafkaStore(ctx, KafkaStoreConfig{
		Brokers: brokers, Topic: s.TopicName(), Sarama: sc, Logger: log,
		Partitions: s.Partitions, ReplicationFactor: s.ReplicationFactor,
	})
}

// ClientConfigFromProperties returns the configuration of a worker's own
// Kafka clients, such as the offsets store: a copy of base (nil: Sluice's
// defaults) with the worker's top-level client security keys applied
// (security.protocol, ssl.*, sasl.*, without a client prefix), as Kafka
// Connect configures its worker clients from the top-level keys. The
// prefixed keys (producer.*, consumer.*) are not read: they configure the
// task clients. ssl.* keys are used only when security.protocol is SSL or
// SASL_SSL, sasl.* keys only when it is SASL_PLAINTEXT or SASL_SSL: the
// top-level ssl.* keys may be there for the REST API's https listeners
// (see kafkaconf.WorkerSecurityProps). With no security key in use, base's
// settings stand.
// Supported: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL; PEM, PKCS12 and JKS
// stores; SASL PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 and OAUTHBEARER (OIDC
// client credentials). A key that cannot be
// honoured is an error naming it; errors never hold a secret.
func ClientConfigFromProperties(worker map[string]string, base *sarama.Config) (*sarama.Config, error) {
	var c sarama.Config
	if base != nil {
		c = *base
	} else {
		c = *kafkaconf.NewSaramaConfig("sluice-offsets")
	}
	sec, _ := kafkaconf.WorkerSecurityProps(worker)
	if err := kafkaconf.ApplySecurity(&c, sec, nil); err != nil {
		return nil, err
	}
	return &c, nil
}

// OpenFromProperties opens the offset store a Kafka Connect worker
// configuration selects (see StorageFromProperties), the Kafka store on
// the worker's bootstrap.servers (default localhost:9092, as Kafka
// Connect's), with sc as the base client configuration (nil: defaults)
// and the worker's top-level security keys applied to it (see
// ClientConfigFromProperties).
// The caller owns the store and must Close it; it may share it between
// pipelines, as a Kafka Connect worker does (source.PropertyOptions,
// source.PluginConfig).
func OpenFromProperties(ctx context.Context, worker map[string]string, sc *sarama.Config) (Store, error) {
	s, err := StorageFromProperties(worker)
	if err != nil {
		return nil, fmt.Errorf("offsets: %w", err)
	}
	brokers := []string{"localhost:9092"}
	if v, ok := worker["bootstrap.servers"]; ok {
		brokers = kafkaconf.ParseBootstrap(v)
	}
	if sec, _ := kafkaconf.WorkerSecurityProps(worker); s.File == "" && len(sec) > 0 {
		if sc, err = ClientConfigFromProperties(worker, sc); err != nil {
			return nil, fmt.Errorf("offsets: %w", err)
		}
	}
	return s.Open(ctx, brokers, sc, nil)
}

// sharedFiles holds the FileStores Storage.Open opened, by absolute path,
// with the number of open handles on each.
var sharedFiles = struct {
	sync.Mutex
	m map[string]*sharedFile
}{m: map[string]*sharedFile{}}

type sharedFile struct {
	store *FileStore
	refs  int
}

// openSharedFile returns a handle on the FileStore of path, opening it for
// the first handle; the last handle's Close closes it.
func openSharedFile(path string) (Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("offsets: offsets file %q: %w", path, err)
	}
	sharedFiles.Lock()
	defer sharedFiles.Unlock()
	sf := sharedFiles.m[abs]
	if sf == nil {
		fs, err := NewFileStore(path)
		if err != nil {
			return nil, err
		}
		sf = &sharedFile{store: fs}
		sharedFiles.m[abs] = sf
	}
	sf.refs++
	return &fileHandle{abs: abs, shared: sf}, nil
}

// fileHandle is one owner's view of a shared FileStore.
type fileHandle struct {
	abs    string
	shared *sharedFile
	once   sync.Once
	closed sync.Mutex // guards done
	done   bool
}

var (
	_ Store           = (*fileHandle)(nil)
	_ PartitionLister = (*fileHandle)(nil)
)

func (h *fileHandle) store() (*FileStore, error) {
	h.closed.Lock()
	defer h.closed.Unlock()
	if h.done {
		return nil, ErrClosed
	}
	return h.shared.store, nil
}

func (h *fileHandle) Get(ctx context.Context, connector string, partition Partition) (Offset, error) {
	s, err := h.store()
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, connector, partition)
}

func (h *fileHandle) List(ctx context.Context, connector string) ([]connect.OffsetEntry, error) {
	s, err := h.store()
	if err != nil {
		return nil, err
	}
	return s.List(ctx, connector)
}

func (h *fileHandle) Partitions(ctx context.Context, connector string) ([]Partition, error) {
	s, err := h.store()
	if err != nil {
		return nil, err
	}
	return s.Partitions(ctx, connector)
}

func (h *fileHandle) Write(ctx context.Context, connector string, entries []connect.OffsetEntry) error {
	s, err := h.store()
	if err != nil {
		return err
	}
	return s.Write(ctx, connector, entries)
}

// Close releases the handle; the file store closes with its last handle.
// Closing twice is a no-op.
func (h *fileHandle) Close() error {
	var err error
	h.once.Do(func() {
		h.closed.Lock()
		h.done = true
		h.closed.Unlock()
		sharedFiles.Lock()
		defer sharedFiles.Unlock()
		if h.shared.refs--; h.shared.refs == 0 {
			delete(sharedFiles.m, h.abs)
			err = h.shared.store.Close()
		}
	})
	return err
}
