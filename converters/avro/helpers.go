package avro

import (
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/sluicehq/sluice/converters"
)

// within prefixes the path of err (a *converters.DataError) with comp, the
// name of the enclosing struct field or an index/key selector such as "[3]"
// or "{k}". Errors of other types are returned unchanged.
func within(err error, comp string) error {
	e, ok := err.(*converters.DataError)
	if !ok {
		return err
	}
	switch {
	case e.Path == "":
		e.Path = comp
	case e.Path[0] == '[' || e.Path[0] == '{':
		e.Path = comp + e.Path
	default:
		e.Path = comp + "." + e.Path
	}
	return err
}

// propBool parses a Kafka ConfigDef BOOLEAN property: "true" or "false",
// case-insensitive, surrounding whitespace ignored. A missing key yields def.
func propBool(props map[string]string, key string, def bool) (bool, error) {
	v, ok := props[key]
	if !ok {
		return def, nil
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, &converters.ConfigError{Key: key, Value: v, Reason: "want true or false"}
}

// propPositiveInt parses a Kafka ConfigDef INT property that must be ≥ 1. A
// missing key yields def.
func propPositiveInt(props map[string]string, key string, def int) (int, error) {
	v, ok := props[key]
	if !ok {
		return def, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
	if err != nil || n < 1 {
		return 0, &converters.ConfigError{Key: key, Value: v, Reason: "want a positive integer"}
	}
	return int(n), nil
}

// growHint raises a buffer-size hint (the capacity to allocate for the next
// output) when an output of n bytes did not fit it; it never lowers it, so
// steady traffic causes no writes to the shared hint.
func growHint(h *atomic.Int64, n int) {
	if int64(n) > h.Load() {
		h.Store(int64(n) + int64(n)/8)
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
