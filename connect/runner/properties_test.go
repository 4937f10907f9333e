package runner_test

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/connect/runner"
)

// TestParseProperties: Java .properties syntax as Kafka Connect's files use
// it.
func TestParseProperties(t *testing.T) {
	const text = `# a worker file
! also a comment
bootstrap.servers=127.0.0.1:9092
key.converter : org.apache.kafka.connect.json.JsonConverter
   value.converter org.apache.kafka.connect.storage.StringConverter
transforms=a,\
    b
path=C:\\data\\in.txt
unicode=caf\u00e9
escaped\ key=x\ty
empty=
name=first
name=second
last.line=no newline`
	got, err := runner.ParseProperties(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"bootstrap.servers": "127.0.0.1:9092",
		"key.converter":     "org.apache.kafka.connect.json.JsonConverter",
		"value.converter":   "org.apache.kafka.connect.storage.StringConverter",
		"transforms":        "a,b",
		"path":              `C:\data\in.txt`,
		"unicode":           "café",
		"escaped key":       "x\ty",
		"empty":             "",
		"name":              "second",
		"last.line":         "no newline",
	}
	if !maps.Equal(got, want) {
		t.Errorf("ParseProperties =\n%q\nwant\n%q", got, want)
	}
}

// TestReadPropertiesFile: the file's properties, and errors that name the
// file and the line.
func TestReadPropertiesFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "connector.properties")
	if err := os.WriteFile(good, []byte("name=local-file-source\nconnector.class=FileStreamSource\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := runner.ReadPropertiesFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"name": "local-file-source", "connector.class": "FileStreamSource"}; !maps.Equal(got, want) {
		t.Errorf("ReadPropertiesFile = %q, want %q", got, want)
	}

	bad := filepath.Join(dir, "bad.properties")
	if err := os.WriteFile(bad, []byte("a=1\n\nb=\\u00zz\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := runner.ReadPropertiesFile(bad); err == nil || !strings.Contains(err.Error(), "bad.properties") || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("ReadPropertiesFile(bad) error %v, want one naming bad.properties and line 3", err)
	}
	if _, err := runner.ReadPropertiesFile(filepath.Join(dir, "missing.properties")); !os.IsNotExist(err) {
		t.Errorf("ReadPropertiesFile(missing) error %v, want a not-exist error", err)
	}
}
