package source_test

import (
	"context"
	"testing"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/source"
)

type alterConnector struct {
	gotConfig map[string]string
	got       []connect.OffsetEntry
}

func (c *alterConnector) TaskConfigs(_ context.Context, config map[string]string, _ int) ([]map[string]string, error) {
	return []map[string]string{config}, nil
}

func (c *alterConnector) AlterOffsets(_ context.Context, config map[string]string, offs []connect.OffsetEntry) (bool, error) {
	c.gotConfig, c.got = config, offs
	return true, nil
}

// TestAlterConnectorOffsets: the pipeline hands offsets requests to a
// Connector implementing connect.OffsetsAlterer, with its properties;
// without one the offsets are framework-managed (false).
func TestAlterConnectorOffsets(t *testing.T) {
	c := &alterConnector{}
	cfg := source.Config{
		Name: "alter", Brokers: []string{"127.0.0.1:1"}, Connector: c, Properties: map[string]string{"k": "v"},
		NewTask: func() source.Task { return &topicsTask{} }, OffsetStore: offsets.NewMemoryStore(),
	}
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	entries := []connect.OffsetEntry{{Partition: map[string]any{"p": "0"}}}
	if managed, err := p.AlterConnectorOffsets(context.Background(), entries); !managed || err != nil {
		t.Fatalf("with an OffsetsAlterer: %v, %v", managed, err)
	}
	if c.gotConfig["k"] != "v" || len(c.got) != 1 {
		t.Fatalf("connector got %v %v", c.gotConfig, c.got)
	}
	cfg.Connector = nil
	p, err = source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if managed, err := p.AlterConnectorOffsets(context.Background(), entries); managed || err != nil {
		t.Fatalf("without: %v, %v", managed, err)
	}
}
