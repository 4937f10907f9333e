package connprops

import (
	"testing"

	"github.com/sluicehq/sluice/converters"
	"github.com/sluicehq/sluice/converters/avro"
)

// TestAvroResolvesByDefault checks that the default converter registry
// resolves Confluent's AvroConverter by its class, simple and short names,
// although package converters no longer registers it.
func TestAvroResolvesByDefault(t *testing.T) {
	for _, class := range []string{"io.confluent.connect.avro.AvroConverter", "AvroConverter", "avro"} {
		connector := map[string]string{
			"name":                                "c",
			"value.converter":                     class,
			"value.converter.schema.registry.url": "http://127.0.0.1:1",
			"key.converter":                       class,
			"key.converter.schema.registry.url":   "http://127.0.0.1:1",
		}
		c, err := Parse(nil, connector, Plugins{}, "producer")
		if err != nil {
			t.Fatalf("%s: %v", class, err)
		}
		if _, ok := c.ValueConverter.(*avro.Converter); !ok {
			t.Errorf("%s: value converter %T, want *avro.Converter", class, c.ValueConverter)
		}
		kc, ok := c.KeyConverter.(*avro.Converter)
		if !ok {
			t.Fatalf("%s: key converter %T, want *avro.Converter", class, c.KeyConverter)
		}
		if got := kc.Config().URLs; len(got) != 1 || got[0] != "http://127.0.0.1:1" {
			t.Errorf("%s: key converter URLs %v", class, got)
		}
	}
}

// TestConnectorConverterSubKeysNeedTheConverterKey: connector-level
// value.converter.* sub-keys apply only when the connector names
// value.converter; otherwise the worker's converter is built from the
// worker's sub-keys alone (Kafka Connect's rule), which is why the Runner
// warns that such keys have no effect.
func TestConnectorConverterSubKeysNeedTheConverterKey(t *testing.T) {
	worker := map[string]string{"value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "true"}
	schemasDisabled := func(connector map[string]string) bool {
		t.Helper()
		c, err := Parse(worker, connector, Plugins{}, "producer")
		if err != nil {
			t.Fatal(err)
		}
		j, ok := c.ValueConverter.(*converters.JSON)
		if !ok {
			t.Fatalf("value converter %T, want *converters.JSON", c.ValueConverter)
		}
		return j.Config().SchemasDisabled
	}
	if schemasDisabled(map[string]string{"name": "c", "value.converter.schemas.enable": "false"}) {
		t.Error("connector-level value.converter.schemas.enable applied without value.converter")
	}
	if !schemasDisabled(map[string]string{"name": "c", "value.converter": "JsonConverter", "value.converter.schemas.enable": "false"}) {
		t.Error("connector-level value.converter.schemas.enable ignored with value.converter set")
	}
}
