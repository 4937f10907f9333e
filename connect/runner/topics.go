package runner

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/cluster"
)

// Worker properties of Kafka Connect's active-topic tracking (KIP-558),
// read by New on top of Config.DisableTopicTracking and
// Config.DisableTopicTrackingReset.
const (
	PropTopicTrackingEnable     = "topic.tracking.enable"
	PropTopicTrackingAllowReset = "topic.tracking.allow.reset"
)

// Errors of the active-topics operations; the REST handler answers both
// 403 Forbidden with Kafka Connect's messages.
var (
	ErrTopicTrackingDisabled      = errors.New("topic tracking is disabled")       // 403
	ErrTopicTrackingResetDisabled = errors.New("topic tracking reset is disabled") // 403
)

// Validate checks cfg: the Worker properties of topic tracking must be
// booleans (true or false, any case, as Kafka Connect's ConfigDef parses
// them). New calls it.
func (c Config) Validate() error {
	for _, k := range []string{PropTopicTrackingEnable, PropTopicTrackingAllowReset} {
		if _, _, err := workerBool(c.Worker, k); err != nil {
			return err
		}
	}
	return nil
}

// workerBool reads a boolean worker property: (value, present, error).
func workerBool(worker map[string]string, key string) (bool, bool, error) {
	v, ok := worker[key]
	if !ok {
		return false, false, nil
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true, true, nil
	case "false":
		return false, true, nil
	}
	return false, true, fmt.Errorf("Invalid value %s for configuration %s: Expected value to be either true or false", v, key) //lint:ignore ST1005 Kafka Connect's message
}

// applyTopicTrackingProps folds the worker properties into the typed
// fields (a property set to false disables; the typed field wins when it
// disables). The properties were validated.
func (c *Config) applyTopicTrackingProps() {
	if v, ok, _ := workerBool(c.Worker, PropTopicTrackingEnable); ok && !v {
		c.DisableTopicTracking = true
	}
	if v, ok, _ := workerBool(c.Worker, PropTopicTrackingAllowReset); ok && !v {
		c.DisableTopicTrackingReset = true
	}
}

// ActiveTopics returns the connector's active topics (Kafka Connect's
// KIP-558, GET /connectors/{name}/topics): the topics its tasks have seen
// records of since it was created or its topics were last reset, in
// first-seen order, never nil. The Runner keeps them across the
// connector's restarts, reconfigurations and stops (Kafka Connect keeps
// them in its status topic) and drops them when the connector is deleted.
// Pipelines report them through [connect.TopicTracker]; others have none.
//
// As in Kafka Connect, an unknown connector is not an error: it has no
// active topics. In cluster mode they live in the status topic as Kafka
// Connect's status-topic-<topic>:connector-<name> records, which each
// member writes for the topics its tasks see first (within the status
// writer's half second), so that every member answers for the whole
// cluster; topics this member's tasks saw and has not written yet are
// included. It fails with ErrTopicTrackingDisabled when
// Config.DisableTopicTracking (topic.tracking.enable=false) is set.
func (r *Runner) ActiveTopics(name string) ([]string, error) {
	if r.cfg.DisableTopicTracking {
		return nil, &runnerError{kind: ErrTopicTrackingDisabled, msg: "Topic tracking is disabled."}
	}
	s, err := r.slot(name)
	var local []string
	if err == nil {
		local = s.activeTopics()
	}
	if r.cluster != nil {
		if sl := r.cluster.readyStatusLog(); sl != nil {
			return unionTopics(sl.Topics(name), local), nil
		}
	}
	if local == nil {
		local = []string{}
	}
	return local, nil
}

// unionTopics returns a followed by the topics of b not in a.
func unionTopics(a, b []string) []string {
	out := append([]string{}, a...)
	for _, t := range b {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// ResetActiveTopics forgets the connector's active topics (PUT
// /connectors/{name}/topics/reset); a topic its tasks see afterwards is
// active again. An unknown connector is not an error (as in Kafka
// Connect). In cluster mode it writes the records' tombstones and returns
// without waiting; every member, on reading them, forgets what its tasks
// saw (deleting a connector writes them too). It fails with ErrTopicTrackingDisabled or
// ErrTopicTrackingResetDisabled when Config.DisableTopicTracking or
// Config.DisableTopicTrackingReset (topic.tracking.allow.reset=false) is
// set.
func (r *Runner) ResetActiveTopics(name string) error {
	if r.cfg.DisableTopicTracking {
		return &runnerError{kind: ErrTopicTrackingDisabled, msg: "Topic tracking is disabled."}
	}
	if r.cfg.DisableTopicTrackingReset {
		return &runnerError{kind: ErrTopicTrackingResetDisabled, msg: "Topic tracking reset is disabled."}
	}
	s, err := r.slot(name)
	if r.cluster != nil {
		r.cluster.deleteActiveTopics(name, s)
	}
	if err != nil {
		return nil
	}
	s.resetActiveTopics()
	s.log.Info("active topics reset")
	return nil
}

// clusterTopics is what a cluster member knows of the active topics it
// published to the status topic.
type clusterTopics struct {
	mu        sync.Mutex
	deletions map[string]uint64              // TopicDeletions last seen, by connector
	written   map[string]map[string]struct{} // written, not yet read back as deleted
}

// readyStatusLog returns the status log once Run opened it, else nil.
func (cr *clusterRuntime) readyStatusLog() *cluster.StatusLog {
	select {
	case <-cr.ready:
		return cr.statusLog
	default:
		return nil
	}
}

// deleteActiveTopics writes the tombstones of the connector's active
// topics (those of the status topic and those seen here; s may be nil).
func (cr *clusterRuntime) deleteActiveTopics(name string, s *slot) {
	sl := cr.readyStatusLog()
	if sl == nil {
		return
	}
	topics := sl.Topics(name)
	if s != nil {
		topics = unionTopics(topics, s.activeTopics())
	}
	for _, t := range topics {
		sl.DeleteTopic(name, t)
	}
}

// writeActiveTopics publishes to the status topic (Kafka Connect's
// status-topic-<topic>:connector-<name> records) the active topics this
// member's tasks saw that it does not hold yet, and forgets the local ones
// when it reads tombstones for a connector (a reset by any member): the
// tasks then record what they see afresh, as Kafka Connect's do. Called
// by the status writer.
func (cr *clusterRuntime) writeActiveTopics() {
	if cr.r.cfg.DisableTopicTracking {
		return
	}
	sl := cr.readyStatusLog()
	if sl == nil {
		return
	}
	ct := &cr.topics
	ct.mu.Lock()
	defer ct.mu.Unlock()
	if ct.deletions == nil {
		ct.deletions, ct.written = map[string]uint64{}, map[string]map[string]struct{}{}
	}
	now := cr.r.now()
	for _, s := range cr.r.liveSlots() {
		if !s.clustered {
			continue
		}
		name := s.name
		if d := sl.TopicDeletions(name); d != ct.deletions[name] {
			ct.deletions[name] = d
			delete(ct.written, name)
			s.resetActiveTopics()
		}
		local := s.activeTopics()
		if len(local) == 0 {
			continue
		}
		stored := sl.Topics(name)
		s.mu.Lock()
		task := 0
		if len(s.localTasks) > 0 {
			task = s.localTasks[0]
		}
		s.mu.Unlock()
		for _, t := range local {
			if _, done := ct.written[name][t]; done || slices.Contains(stored, t) {
				continue
			}
			sl.PutTopic(name, t, task, now)
			if ct.written[name] == nil {
				ct.written[name] = map[string]struct{}{}
			}
			ct.written[name][t] = struct{}{}
		}
	}
}

// activeTopics returns the topics of finished incarnations followed by the
// current one's. It only reads: folding the current incarnation's set in
// here would bring back, after a concurrent reset, the topics it just
// cleared (foldTopics keeps them once the incarnation stopped).
func (s *slot) activeTopics() []string {
	s.mu.Lock()
	pipe := s.pipe
	s.mu.Unlock()
	kept := s.topics.Topics()
	if tt, ok := pipe.(connect.TopicTracker); ok {
		return unionTopics(kept, tt.ActiveTopics())
	}
	return kept
}

func (s *slot) resetActiveTopics() {
	s.mu.Lock()
	pipe := s.pipe
	s.mu.Unlock()
	// The pipeline first: a topic it records meanwhile is either kept in
	// both or in neither once both are reset.
	if tt, ok := pipe.(connect.TopicTracker); ok {
		tt.ResetActiveTopics()
	}
	s.topics.Reset()
}

// foldTopics keeps the active topics of an incarnation that stopped
// running, before a new one replaces it.
func (s *slot) foldTopics(p connect.Pipeline) {
	if tt, ok := p.(connect.TopicTracker); ok {
		s.topics.AddAll(tt.ActiveTopics())
	}
}

// restActiveTopics is Kafka Connect's ActiveTopicsInfo (the connector is
// the key of the map around it).
type restActiveTopics struct {
	Topics []string `json:"topics"`
}

func (h restHandler) activeTopics(w http.ResponseWriter, _ *http.Request, name string) {
	topics, err := h.r.ActiveTopics(name)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]restActiveTopics{name: {Topics: topics}})
}

func (h restHandler) resetActiveTopics(w http.ResponseWriter, _ *http.Request, name string) {
	if err := h.r.ResetActiveTopics(name); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}
