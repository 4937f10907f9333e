package sink_test

import (
	"context"
	"testing"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/sink"
)

type alterFunc func(ctx context.Context, config map[string]string, offs []connect.OffsetEntry) (bool, error)

func (f alterFunc) AlterOffsets(ctx context.Context, config map[string]string, offs []connect.OffsetEntry) (bool, error) {
	return f(ctx, config, offs)
}

// TestAlterConnectorOffsets: the pipeline hands offsets requests to
// Config.OffsetsAlterer, with its properties; without one the offsets are
// framework-managed (false).
func TestAlterConnectorOffsets(t *testing.T) {
	var got []connect.OffsetEntry
	cfg := baseConfig(t, []string{"127.0.0.1:1"}, "alter", "t", func() sink.Task { return newRecTask() })
	cfg.Properties = map[string]string{"k": "v"}
	cfg.OffsetsAlterer = alterFunc(func(_ context.Context, config map[string]string, offs []connect.OffsetEntry) (bool, error) {
		if config["k"] != "v" {
			t.Errorf("config %v", config)
		}
		got = offs
		return true, nil
	})
	p, err := sink.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	entries := []connect.OffsetEntry{{Partition: map[string]any{"kafka_topic": "t", "kafka_partition": int64(0)}}}
	if managed, err := p.AlterConnectorOffsets(context.Background(), entries); !managed || err != nil || len(got) != 1 {
		t.Fatalf("with an OffsetsAlterer: %v, %v, %v", managed, err, got)
	}
	cfg.OffsetsAlterer = nil
	if p, err = sink.New(cfg); err != nil {
		t.Fatal(err)
	}
	if managed, err := p.AlterConnectorOffsets(context.Background(), entries); managed || err != nil {
		t.Fatalf("without: %v, %v", managed, err)
	}
}

// TestPluginOffsetsAlterer: sink.PluginConfig.OffsetsAlterer reaches the
// pipelines the plugin builds.
func TestPluginOffsetsAlterer(t *testing.T) {
	pl := sink.Plugin(sink.PluginConfig{Class: "com.example.Rec", NewTask: func() sink.Task { return newRecTask() },
		OffsetsAlterer: alterFunc(func(context.Context, map[string]string, []connect.OffsetEntry) (bool, error) { return true, nil })})
	p, err := pl.New(context.Background(), map[string]string{"bootstrap.servers": "127.0.0.1:1"},
		map[string]string{"name": "rec", "connector.class": "com.example.Rec", "topics": "a"})
	if err != nil {
		t.Fatal(err)
	}
	ca, ok := p.(connect.ConnectorOffsetsAlterer)
	if !ok {
		t.Fatalf("%T does not implement connect.ConnectorOffsetsAlterer", p)
	}
	if managed, err := ca.AlterConnectorOffsets(context.Background(), nil); !managed || err != nil {
		t.Fatalf("%v, %v", managed, err)
	}
}
