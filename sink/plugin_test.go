package sink_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/sink"
)

func TestPluginBuildsPipelinesFromProperties(t *testing.T) {
	pl := sink.Plugin(sink.PluginConfig{Class: "com.example.Rec", Aliases: []string{"Rec"},
		NewTask: func() sink.Task { return newRecTask() }})
	if pl.Type != connect.TypeSink || pl.Class != "com.example.Rec" {
		t.Fatalf("plugin %+v", pl)
	}
	worker := map[string]string{"bootstrap.servers": "127.0.0.1:1"}
	p, err := pl.New(context.Background(), worker, map[string]string{"name": "rec", "connector.class": "Rec", "topics": "a,b"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name() != "rec" || p.Type() != connect.TypeSink {
		t.Fatalf("pipeline %s %s", p.Name(), p.Type())
	}
	if _, ok := p.(connect.OffsetManager); !ok {
		t.Fatal("a sink pipeline is not a connect.OffsetManager")
	}
	_, err = pl.New(context.Background(), worker, map[string]string{"name": "rec", "topics": "a", "topics.regex": "b"})
	if err == nil || !strings.Contains(err.Error(), "topics and topics.regex") {
		t.Fatalf("bad property: %v", err)
	}
}
