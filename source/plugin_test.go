package source_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/source"
)

func TestPluginBuildsPipelinesFromProperties(t *testing.T) {
	pl := source.Plugin(source.PluginConfig{Class: "com.example.Gen", Aliases: []string{"Gen"},
		NewTask: func() source.Task { return &genTask{} }})
	if pl.Type != connect.TypeSource || pl.Class != "com.example.Gen" {
		t.Fatalf("plugin %+v", pl)
	}
	p, err := pl.New(context.Background(), map[string]string{"bootstrap.servers": "127.0.0.1:1"},
		map[string]string{"name": "gen", "connector.class": "Gen", "tasks.max": "1"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name() != "gen" || p.Type() != connect.TypeSource {
		t.Fatalf("pipeline %s %s", p.Name(), p.Type())
	}
	_, err = pl.New(context.Background(), map[string]string{"bootstrap.servers": "127.0.0.1:1"},
		map[string]string{"name": "gen", "errors.tolerance": "some"})
	if err == nil || !strings.Contains(err.Error(), "errors.tolerance") {
		t.Fatalf("bad property: %v", err)
	}
}
