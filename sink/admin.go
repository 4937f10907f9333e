package sink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/IBM/sarama"
	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/kafkaconf"
	"github.com/sluicehq/sluice/internal/winstat"
)

// KIP-875's keys of a sink connector's offsets: partition
// {"kafka_topic": t, "kafka_partition": p}, offset {"kafka_offset": o}.
const (
	OffsetKeyTopic     = "kafka_topic"
	OffsetKeyPartition = "kafka_partition"
	OffsetKeyOffset    = "kafka_offset"
)

// Type returns connect.TypeSink.
func (p *Pipeline) Type() string { return connect.TypeSink }

// PipelineStatus returns the pipeline's current status, computed live: for
// each task the counters and times every pipeline reports (RecordsIn is
// records read, RecordsOut records put, RecordsDropped records filtered or
// skipped under errors.tolerance, InFlight records buffered or in the batch
// being put, Lag the sum of the assigned partitions' lags, LastPoll the last
// fetch and LastProgress the last completed batch) and the sink-only ones
// (consumer group membership, assigned partitions, commit retries). Safe to
// call from any goroutine, before, during and after Run.
func (p *Pipeline) PipelineStatus() connect.PipelineStatus {
	p.mu.Lock()
	st := connect.PipelineStatus{Name: p.cfg.Name, Type: connect.TypeSink, State: p.state, Err: p.err}
	tasks := slices.Clone(p.tasks)
	retired := make([]connect.TaskStatus, len(tasks))
	for i, t := range tasks {
		retired[i] = p.retired.Of(t.id)
	}
	p.mu.Unlock()
	for i, t := range tasks {
		ts := t.status()
		// The counters of the id's earlier runners (restarts in place and
		// by the restart policy): they stay monotonic, as Kafka Connect's.
		winstat.AddCounters(&ts, retired[i])
		st.Tasks = append(st.Tasks, ts)
	}
	return st
}

// running reports whether Run is in progress: its tasks hold the consumer
// group and would overwrite a change with their next commit.
func (p *Pipeline) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ran && p.state != connect.StateStopped && p.state != connect.StateFailed
}

// admin connects a cluster admin client: AdminProps on Sarama, or the
// consumer's settings when AdminProps is nil.
func (p *Pipeline) admin() (sarama.ClusterAdmin, error) {
	ccfg, _, _, err := p.consumerConfig(0)
	if err != nil {
		return nil, err
	}
	cfg, err := p.adminConfig("connector-admin-"+p.cfg.Name, ccfg)
	if err != nil {
		return nil, err
	}
	admin, err := sarama.NewClusterAdmin(p.cfg.Brokers, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting an admin client: %w", err)
	}
	return admin, nil
}

// ListOffsets returns the consumer group's committed offsets in KIP-875's
// shape, sorted by topic and partition: partition {"kafka_topic": t,
// "kafka_partition": p} and offset {"kafka_offset": o}, with int64 numbers.
// As Kafka Connect, it lists every offset the group (Config.GroupID) has
// committed. It may be called at any time.
func (p *Pipeline) ListOffsets(ctx context.Context) ([]connect.OffsetEntry, error) {
	admin, err := p.admin()
	if err != nil {
		return nil, fmt.Errorf("sink %q: listing offsets: %w", p.cfg.Name, err)
	}
	defer admin.Close()
	committed, err := groupOffsets(admin, p.cfg.GroupID)
	if err != nil {
		return nil, fmt.Errorf("sink %q: listing the offsets of consumer group %s: %w", p.cfg.Name, p.cfg.GroupID, err)
	}
	tps := make([]connect.TopicPartition, 0, len(committed))
	for tp := range committed {
		tps = append(tps, tp)
	}
	slices.SortFunc(tps, compareTP)
	out := make([]connect.OffsetEntry, len(tps))
	for i, tp := range tps {
		out[i] = connect.OffsetEntry{
			Partition: map[string]any{OffsetKeyTopic: tp.Topic, OffsetKeyPartition: int64(tp.Partition)},
			Offset:    map[string]any{OffsetKeyOffset: committed[tp]},
		}
	}
	return out, ctx.Err()
}

// groupOffsets returns every committed offset of group.
func groupOffsets(admin sarama.ClusterAdmin, group string) (map[connect.TopicPartition]int64, error) {
	resp, err := admin.ListConsumerGroupOffsets(group, nil)
	if err != nil {
		if errors.Is(err, sarama.ErrGroupIDNotFound) {
			return nil, nil
		}
		return nil, err
	}
	blocks := resp.Blocks
	for _, g := range resp.Groups {
		if g.GroupId == group {
			blocks = g.Blocks
		}
	}
	out := map[connect.TopicPartition]int64{}
	for topic, parts := range blocks {
		for partition, b := range parts {
			if b == nil {
				continue
			}
			if !errors.Is(b.Err, sarama.ErrNoError) {
				return nil, fmt.Errorf("topic %s partition %d: %w", topic, partition, b.Err)
			}
			if b.Offset >= 0 {
				out[connect.TopicPartition{Topic: topic, Partition: partition}] = b.Offset
			}
		}
	}
	return out, nil
}

func compareTP(a, b connect.TopicPartition) int {
	if c := strings.Compare(a.Topic, b.Topic); c != 0 {
		return c
	}
	return int(a.Partition) - int(b.Partition)
}

// AlterOffsets sets the consumer group's committed offsets of the given
// partitions (KIP-875 shape, see ListOffsets); an entry with a nil Offset
// deletes the partition's committed offset, so that it restarts at
// auto.offset.reset. Numbers may be any integer type, an integral float or a
// decimal string. Every entry is checked before anything is written.
// Partitions not named keep their offsets.
//
// It is refused with an error wrapping connect.ErrNotStopped while the
// pipeline runs (Kafka Connect's rule, KIP-875); the broker refuses it too
// while the group has active members (e.g. another process running the same
// connector).
func (p *Pipeline) AlterOffsets(ctx context.Context, entries []connect.OffsetEntry) error {
	if p.running() {
		return fmt.Errorf("sink %q: %w", p.cfg.Name, connect.ErrNotStopped)
	}
	set := map[connect.TopicPartition]int64{}
	var del []connect.TopicPartition
	for i, e := range entries {
		tp, off, err := parseOffsetEntry(e)
		if err != nil {
			return fmt.Errorf("sink %q: alter offsets: entry %d: %w", p.cfg.Name, i, err)
		}
		if off < 0 {
			del = append(del, tp)
			delete(set, tp)
		} else {
			set[tp] = off
			del = slices.DeleteFunc(del, func(x connect.TopicPartition) bool { return x == tp })
		}
	}
	if len(set) == 0 && len(del) == 0 {
		return nil
	}
	admin, err := p.admin()
	if err != nil {
		return fmt.Errorf("sink %q: altering offsets: %w", p.cfg.Name, err)
	}
	defer admin.Close()
	if len(set) > 0 {
		if err := commitGroupOffsets(admin, p.cfg.GroupID, set); err != nil {
			return fmt.Errorf("sink %q: altering the offsets of consumer group %s: %w", p.cfg.Name, p.cfg.GroupID, err)
		}
	}
	for _, tp := range del {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := admin.DeleteConsumerGroupOffset(p.cfg.GroupID, tp.Topic, tp.Partition)
		if err != nil && !errors.Is(err, sarama.ErrGroupIDNotFound) {
			return fmt.Errorf("sink %q: deleting the offset of %s in consumer group %s: %w", p.cfg.Name, tp, p.cfg.GroupID, err)
		}
	}
	return nil
}

// ResetOffsets deletes every committed offset of the connector by deleting
// its consumer group (as Kafka Connect does); the tasks then start at
// auto.offset.reset. A group that does not exist is not an error. Refused
// like AlterOffsets while the pipeline runs.
func (p *Pipeline) ResetOffsets(ctx context.Context) error {
	if p.running() {
		return fmt.Errorf("sink %q: %w", p.cfg.Name, connect.ErrNotStopped)
	}
	admin, err := p.admin()
	if err != nil {
		return fmt.Errorf("sink %q: resetting offsets: %w", p.cfg.Name, err)
	}
	defer admin.Close()
	if err := admin.DeleteConsumerGroup(p.cfg.GroupID); err != nil && !errors.Is(err, sarama.ErrGroupIDNotFound) {
		return fmt.Errorf("sink %q: resetting offsets: deleting consumer group %s: %w", p.cfg.Name, p.cfg.GroupID, err)
	}
	return ctx.Err()
}

// commitGroupOffsets commits offsets for group as a client outside the group
// (generation -1), which the coordinator accepts only while the group has no
// members.
func commitGroupOffsets(admin sarama.ClusterAdmin, group string, set map[connect.TopicPartition]int64) error {
	coord, err := admin.Coordinator(group)
	if err != nil {
		return err
	}
	// Version 8 (Kafka 2.4+) is what sarama's offset manager sends; sarama
	// lowers it to what the broker supports, and RetentionTime -1 (the
	// broker's default) matters for versions 2 to 4 only.
	req := &sarama.OffsetCommitRequest{
		Version:                 8,
		ConsumerGroup:           group,
		ConsumerGroupGeneration: sarama.GroupGenerationUndefined,
		RetentionTime:           -1,
	}
	for tp, off := range set {
		req.AddBlock(tp.Topic, tp.Partition, off, 0, "")
	}
	resp, err := coord.CommitOffset(req)
	if err != nil {
		return err
	}
	var errs []error
	for tp := range set {
		kerr, ok := resp.Errors[tp.Topic][tp.Partition]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("%s: no answer from the group coordinator", tp))
		case !errors.Is(kerr, sarama.ErrNoError):
			errs = append(errs, fmt.Errorf("%s: %w", tp, kerr))
		}
	}
	return errors.Join(errs...)
}

// parseOffsetEntry reads a KIP-875 sink offset entry; off is -1 for a nil
// Offset (delete).
func parseOffsetEntry(e connect.OffsetEntry) (tp connect.TopicPartition, off int64, err error) {
	if e.Partition == nil {
		return tp, 0, errors.New("no partition")
	}
	topic, ok := e.Partition[OffsetKeyTopic].(string)
	if !ok || strings.TrimSpace(topic) == "" {
		return tp, 0, fmt.Errorf("partition: %s must be a non-empty string, got %v", OffsetKeyTopic, e.Partition[OffsetKeyTopic])
	}
	part, err := offsetNumber(e.Partition, OffsetKeyPartition)
	if err != nil {
		return tp, 0, fmt.Errorf("partition: %w", err)
	}
	if part > math.MaxInt32 {
		return tp, 0, fmt.Errorf("partition: %s out of range: %d", OffsetKeyPartition, part)
	}
	tp = connect.TopicPartition{Topic: topic, Partition: int32(part)}
	if e.Offset == nil {
		return tp, -1, nil
	}
	off, err = offsetNumber(e.Offset, OffsetKeyOffset)
	if err != nil {
		return tp, 0, fmt.Errorf("offset: %w", err)
	}
	return tp, off, nil
}

// offsetNumber reads m[key] as a non-negative integer.
func offsetNumber(m map[string]any, key string) (int64, error) {
	v, ok := m[key]
	if !ok {
		return 0, fmt.Errorf("%s is missing", key)
	}
	var n int64
	switch x := v.(type) {
	case int:
		n = int64(x)
	case int32:
		n = int64(x)
	case int64:
		n = x
	case uint32:
		n = int64(x)
	case float64:
		if x != math.Trunc(x) || x > math.MaxInt64 || x < math.MinInt64 {
			return 0, fmt.Errorf("%s must be an integer, got %v", key, x)
		}
		n = int64(x)
	case json.Number:
		i, err := x.Int64()
		if err != nil {
			return 0, fmt.Errorf("%s must be an integer, got %q", key, x)
		}
		n = i
	case string:
		i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s must be an integer, got %q", key, x)
		}
		n = i
	default:
		return 0, fmt.Errorf("%s must be an integer, got %T", key, v)
	}
	if n < 0 {
		return 0, fmt.Errorf("%s must be >= 0, got %d", key, n)
	}
	return n, nil
}

var (
	_ connect.Pipeline      = (*Pipeline)(nil)
	_ connect.OffsetManager = (*Pipeline)(nil)
)

// adminConfig returns an admin client's configuration: a copy of the
// consumer's, ccfg, unless AdminProps is set (then Sarama's, or Sluice's
// defaults, with AdminProps applied).
func (p *Pipeline) adminConfig(clientID string, ccfg *sarama.Config) (*sarama.Config, error) {
	cfg, unmapped, err := kafkaconf.AdminConfig(p.cfg.Sarama, ccfg, clientID, "admin.override.", p.cfg.AdminProps)
	if err != nil {
		return nil, fmt.Errorf("admin client config: %w", err)
	}
	for _, k := range unmapped {
		p.cfg.Logger.Warn("admin client property has no mapping in Sluice and is ignored", "connector", p.cfg.Name, "key", k)
	}
	return cfg, nil
}

// dlqConfigs returns the dead-letter queue's producer and admin
// configurations: ProducerProps and AdminProps applied to Sarama (or
// Sluice's defaults), or to a copy of the consumer's configuration, ccfg,
// when they hold no security key.
func (p *Pipeline) dlqConfigs(taskID int, ccfg *sarama.Config) (producer, admin *sarama.Config, err error) {
	c := *ccfg
	producer = &c
	if p.cfg.ProducerProps != nil {
		if len(kafkaconf.SecurityProps(p.cfg.ProducerProps)) > 0 {
			if p.cfg.Sarama != nil {
				c := *p.cfg.Sarama
				producer = &c
			} else {
				producer = kafkaconf.NewSaramaConfig("")
			}
		}
		unmapped, err := kafkaconf.ApplyProducerProps(producer, "producer.override.", p.cfg.ProducerProps)
		if err != nil {
			return nil, nil, fmt.Errorf("producer config: %w", err)
		}
		for _, k := range unmapped {
			p.cfg.Logger.Warn("producer property has no mapping in Sluice and is ignored", "connector", p.cfg.Name, "task", taskID, "key", k)
		}
	}
	admin, err = p.adminConfig(fmt.Sprintf("connector-dlq-adminclient-%s-%d", p.cfg.Name, taskID), ccfg)
	if err != nil {
		return nil, nil, err
	}
	return producer, admin, nil
}
