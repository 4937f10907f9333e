package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/runner"
)

// connectorFile is one connector configuration file.
type connectorFile struct {
	path    string
	name    string
	config  map[string]string
	initial connect.State // "" means RUNNING
}

// readConnectorFile reads a connector configuration: a Java .properties
// file, or JSON when its first non-blank byte is '{' — a flat object of
// values, or the REST API's {"name", "config", "initial_state"} — as Kafka's
// standalone worker accepts.
func readConnectorFile(path string) (*connectorFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("connector config: %w", err)
	}
	cf := &connectorFile{path: path}
	if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '{' {
		if err := cf.parseJSON(trimmed); err != nil {
			return nil, fmt.Errorf("connector config %s: %w", path, err)
		}
	} else {
		cf.config, err = runner.ParseProperties(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("connector config %s: %w", path, err)
		}
	}
	name := strings.TrimSpace(cf.config["name"])
	if cf.name == "" {
		cf.name = name
	}
	if cf.name == "" {
		return nil, fmt.Errorf("connector config %s: name: missing required configuration \"name\" which has no default value", path)
	}
	if name != "" && name != cf.name {
		return nil, fmt.Errorf("connector config %s: name: %q in config does not match the request's name %q", path, name, cf.name)
	}
	return cf, nil
}

// parseJSON reads the JSON forms of a connector file.
func (cf *connectorFile) parseJSON(data []byte) error {
	var doc map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("not a JSON object: %w", err)
	}
	if raw, ok := doc["config"]; ok && isObject(raw) {
		// {"name": …, "config": {…}, "initial_state": …}
		for k := range doc {
			if k != "name" && k != "config" && k != "initial_state" {
				return fmt.Errorf("unknown field %q: want name, config and initial_state, or a flat object of configuration values", k)
			}
		}
		if raw, ok := doc["name"]; ok {
			if err := json.Unmarshal(raw, &cf.name); err != nil {
				return fmt.Errorf("name: want a string")
			}
			cf.name = strings.TrimSpace(cf.name)
		}
		if raw, ok := doc["initial_state"]; ok {
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return fmt.Errorf("initial_state: want RUNNING, PAUSED or STOPPED")
			}
			cf.initial = connect.State(strings.ToUpper(strings.TrimSpace(s)))
		}
		return cf.setFlat(doc["config"])
	}
	return cf.setFlat(data)
}

func isObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{'
}

// setFlat sets the configuration from a JSON object whose values are
// strings (numbers and booleans are taken as their text, as Kafka's JSON
// mapper does).
func (cf *connectorFile) setFlat(data []byte) error {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return fmt.Errorf("not a JSON object: %w", err)
	}
	cf.config = make(map[string]string, len(m))
	for k, v := range m {
		switch v := v.(type) {
		case string:
			cf.config[k] = v
		case json.Number:
			cf.config[k] = v.String()
		case bool:
			cf.config[k] = strconv.FormatBool(v)
		default:
			return fmt.Errorf("%s: want a string value, got %s", k, jsonKind(v))
		}
	}
	return nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("%T", v)
}
