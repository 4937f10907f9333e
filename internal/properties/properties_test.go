package properties

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	in := `# Kafka's connect-standalone.properties style
bootstrap.servers=localhost:9092
! another comment
key.converter = org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable:true
offset.flush.interval.ms 10000
plugin.path=/usr/share/java,\
    /opt/connectors
escaped\=key=a\tb\u0041
empty=
  indented=yes
last=wins
last=really
`
	m, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"bootstrap.servers":            "localhost:9092",
		"key.converter":                "org.apache.kafka.connect.json.JsonConverter",
		"key.converter.schemas.enable": "true",
		"offset.flush.interval.ms":     "10000",
		"plugin.path":                  "/usr/share/java,/opt/connectors",
		"escaped=key":                  "a\tbA",
		"empty":                        "",
		"indented":                     "yes",
		"last":                         "really",
	}
	if len(m) != len(want) {
		t.Fatalf("got %d keys %v, want %d", len(m), m, len(want))
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%q = %q, want %q", k, m[k], v)
		}
	}
	if _, err := Parse(strings.NewReader(`bad=\u12`)); err == nil {
		t.Error("malformed \\u escape accepted")
	}
}
