package runner

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/sluicehq/sluice/connect"
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
// active topics. In cluster mode the answer is this member's: the topics
// seen by the tasks that ran here. It fails with ErrTopicTrackingDisabled
// when Config.DisableTopicTracking (topic.tracking.enable=false) is set.
func (r *Runner) ActiveTopics(name string) ([]string, error) {
	if r.cfg.DisableTopicTracking {
		return nil, &runnerError{kind: ErrTopicTrackingDisabled, msg: "Topic tracking is disabled."}
	}
	s, err := r.slot(name)
	if err != nil {
		return []string{}, nil
	}
	return s.activeTopics(), nil
}

// ResetActiveTopics forgets the connector's active topics (PUT
// /connectors/{name}/topics/reset); a topic its tasks see afterwards is
// active again. An unknown connector is not an error (as in Kafka
// Connect). It fails with ErrTopicTrackingDisabled or
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
	if err != nil {
		return nil
	}
	s.resetActiveTopics()
	s.log.Info("active topics reset")
	return nil
}

// activeTopics returns the topics of finished incarnations followed by the
// current one's.
func (s *slot) activeTopics() []string {
	s.mu.Lock()
	pipe := s.pipe
	s.mu.Unlock()
	if tt, ok := pipe.(connect.TopicTracker); ok {
		s.topics.AddAll(tt.ActiveTopics())
	}
	return s.topics.Topics()
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
