package kafkaconf

import (
	"errors"
	"testing"

	"github.com/IBM/sarama"
)

// describeAdmin answers DescribeConfigs with UNKNOWN_TOPIC_OR_PARTITION
// unknownFor times, then with policy (the rest of the interface is nil).
type describeAdmin struct {
	sarama.ClusterAdmin
	unknownFor int
	calls      int
	policy     string
	denied     bool
}

func (a *describeAdmin) DescribeConfigs(r []*sarama.ConfigResource, _ sarama.DescribeConfigsOptions) ([]*sarama.ConfigResourceResult, error) {
	a.calls++
	name := r[0].Name
	switch {
	case a.denied:
		return []*sarama.ConfigResourceResult{{Name: name, ErrorCode: sarama.ErrTopicAuthorizationFailed}}, nil
	case a.calls <= a.unknownFor:
		return []*sarama.ConfigResourceResult{{Name: name, ErrorCode: sarama.ErrUnknownTopicOrPartition, ErrorMsg: "unknown"}}, nil
	}
	return []*sarama.ConfigResourceResult{{Name: name, Configs: []sarama.ConfigEntry{{Name: "cleanup.policy", Value: a.policy}}}}, nil
}

// TestCleanupPolicy: a topic the broker does not know yet (just created) is
// asked again; an authorization failure is ErrDescribeNotAllowed.
func TestCleanupPolicy(t *testing.T) {
	a := &describeAdmin{unknownFor: 3, policy: "compact"}
	policy, found, err := CleanupPolicy(a, "t")
	if err != nil || !found || policy != "compact" || a.calls != 4 {
		t.Fatalf("CleanupPolicy = %q, %v, %v after %d calls; want compact, true, nil after 4", policy, found, err, a.calls)
	}
	if _, _, err := CleanupPolicy(&describeAdmin{denied: true}, "t"); !errors.Is(err, ErrDescribeNotAllowed) {
		t.Fatalf("denied: %v, want ErrDescribeNotAllowed", err)
	}
}
