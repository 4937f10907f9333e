package offsets

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sluicehq/sluice/internal/javafmt"

	"github.com/sluicehq/sluice/internal/jackson"
)

// This file is the codec for Kafka Connect's offsets-topic records.
//
// Kafka Connect stores a source offset as one record of its offsets topic,
// written by its JsonConverter with schemas.enable=false (Jackson, compact
// output):
//
//	key:   ["<connector>",{<source partition>}]    e.g. ["file-src",{"filename":"test.txt"}]
//	value: {<source offset>}                      e.g. {"position":30}
//	       or no value at all (a tombstone): the offset was reset
//
// Kafka Connect looks offsets up by the exact key bytes. The bytes of a
// multi-member partition depend on the order of its members, which for a
// Java connector is the iteration order of its Map (for a HashMap, an order
// derived from the keys' hash codes, not from insertion). EncodeKey writes
// members sorted by name, so a Java connector shares offsets with a Go one
// byte for byte only if its partition maps have a single key or iterate in
// sorted order (a TreeMap). The stores in this package side-step the problem
// for existing records: they index keys by their canonical form (EncodeKey
// of the decoded key) and remember the bytes they read, so an offset written
// by Kafka Connect in any member order is found, and rewritten under its
// original key bytes.

// FormatError reports data that is not in Kafka Connect's source offset
// format: a partition or offset value of a type Kafka Connect refuses (its
// OffsetUtils.validateFormat), or offsets-topic bytes that do not parse as a
// key or value. Key names the map member concerned, if any.
//
// Kafka Connect ignores (with a warning) offsets-topic keys that are not a
// two-element array of a connector name and an object; DecodeKey reports
// them with a FormatError whose What is "offsets-topic key", which a reader
// should log and skip.
type FormatError struct {
	What   string // "source partition", "source offset", "offsets-topic key" or "offsets-topic value"
	Key    string // the member concerned, "" if none
	Reason string
}

// Error implements error.
func (e *FormatError) Error() string {
	if e.Key != "" {
		return fmt.Sprintf("%s: key %q: %s", e.What, e.Key, e.Reason)
	}
	return fmt.Sprintf("%s: %s", e.What, e.Reason)
}

const (
	whatPartition = "source partition"
	whatOffset    = "source offset"
	whatTopicKey  = "offsets-topic key"
	whatTopicVal  = "offsets-topic value"
)

// EncodeKey returns the offsets-topic key bytes of connector's source
// partition, exactly as Kafka Connect writes them for a partition map with
// the same iteration order: compact JSON ["<connector>",{...}] with the
// partition's members sorted by name (see the file comment on member order).
//
// Member values may be string, bool, any Go integer type (written as a
// plain integer; unsigned values above math.MaxInt64 are refused, Java has
// no type for them), float32 or float64 (written like Java's
// Float/Double.toString, e.g. 1.0E10; NaN and infinities are refused), or
// nil; named types with one of these underlying kinds are accepted too.
// Anything else (maps, slices, structs, pointers) is refused with a
// *FormatError naming the member, as Kafka Connect's
// OffsetUtils.validateFormat does. Strings must be valid UTF-8; they are
// escaped as Jackson does (", \ and control characters, with \b \t \n \f \r
// short forms and \u00XX otherwise; characters outside the BMP as their
// UTF-16 surrogate pair's escapes, "\uD83D\uDE00"; everything else,
// including <, >, & and other non-ASCII characters, is written as is; an
// older Sluice wrote characters outside the BMP as is, and the stores keep
// such keys' bytes, see the file comment). connector must not be empty and
// partition must not be nil.
//
// The result is also the canonical form of the key: two partitions are the
// same partition if and only if their EncodeKey bytes are equal.
func EncodeKey(connector string, partition Partition) ([]byte, error) {
	return appendKey(make([]byte, 0, 64), connector, partition)
}

// EncodeValue returns the offsets-topic value bytes of offset: compact JSON
// with members sorted by name, e.g. {"position":30}. A nil offset encodes
// as nil, a tombstone. The member values allowed and their encoding are
// those of EncodeKey; a violation is a *FormatError naming the member.
func EncodeValue(offset Offset) ([]byte, error) {
	if offset == nil {
		return nil, nil
	}
	return appendObject(make([]byte, 0, 32), offset, whatOffset)
}

func appendKey(b []byte, connector string, partition Partition) ([]byte, error) {
	if connector == "" {
		return nil, &FormatError{What: whatPartition, Reason: "connector name is empty"}
	}
	if partition == nil {
		return nil, &FormatError{What: whatPartition, Reason: "partition is nil"}
	}
	if !utf8.ValidString(connector) {
		return nil, &FormatError{What: whatPartition, Reason: fmt.Sprintf("connector name %q is not valid UTF-8", connector)}
	}
	b = append(b, '[')
	b = jackson.AppendString(b, connector)
	b = append(b, ',')
	b, err := appendObject(b, partition, whatPartition)
	if err != nil {
		return nil, err
	}
	return append(b, ']'), nil
}

// appendObject appends m as a compact JSON object with sorted member names.
func appendObject(b []byte, m map[string]any, what string) ([]byte, error) {
	var small [8]string
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if !utf8.ValidString(k) {
			return nil, &FormatError{What: what, Key: k, Reason: "name is not valid UTF-8"}
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = jackson.AppendString(b, k)
		b = append(b, ':')
		var err error
		if b, err = appendPrimitive(b, m[k], what, k); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

func appendPrimitive(b []byte, v any, what, key string) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		if !utf8.ValidString(x) {
			return nil, &FormatError{What: what, Key: key, Reason: "string value is not valid UTF-8"}
		}
		return jackson.AppendString(b, x), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case int32:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int16:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int8:
		return strconv.AppendInt(b, int64(x), 10), nil
	case uint:
		return appendUint(b, uint64(x), what, key)
	case uint64:
		return appendUint(b, x, what, key)
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint16:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint8:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case float64:
		return appendJavaFloat(b, x, 64, what, key)
	case float32:
		return appendJavaFloat(b, float64(x), 32, what, key)
	}
	// Named types (type Pos int64) by their kind.
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String:
		return appendPrimitive(b, rv.String(), what, key)
	case reflect.Bool:
		return strconv.AppendBool(b, rv.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(b, rv.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return appendUint(b, rv.Uint(), what, key)
	case reflect.Float32:
		return appendJavaFloat(b, rv.Float(), 32, what, key)
	case reflect.Float64:
		return appendJavaFloat(b, rv.Float(), 64, what, key)
	}
	return nil, &FormatError{What: what, Key: key, Reason: fmt.Sprintf(
		"value of type %T is not allowed: values must be a string, bool, integer, float or nil (Kafka Connect's OffsetUtils.validateFormat)", v)}
}

func appendUint(b []byte, u uint64, what, key string) ([]byte, error) {
	if u > math.MaxInt64 {
		return nil, &FormatError{What: what, Key: key, Reason: fmt.Sprintf("integer %d is out of range (above the largest Java long)", u)}
	}
	return strconv.AppendUint(b, u, 10), nil
}

// appendJavaFloat appends f as Jackson writes it (Java's Double.toString
// for bits 64, Float.toString for bits 32),
// refusing NaN and infinities, which JSON cannot hold.
func appendJavaFloat(b []byte, f float64, bits int, what, key string) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, &FormatError{What: what, Key: key, Reason: fmt.Sprintf("float %v cannot be written as JSON", f)}
	}
	return javafmt.AppendFloat(b, f, bits), nil
}

// DecodeKey parses offsets-topic key bytes into the connector name and the
// source partition. Integers in the partition come back as int64 and
// numbers with a fraction or exponent as float64.
//
// Bytes that are not a JSON array of exactly a non-empty connector name
// and an object of primitive members (string, number, bool, null) are not
// a source offset key: Kafka Connect ignores such records, and DecodeKey
// reports them with a *FormatError (What "offsets-topic key") carrying the
// reason, for the caller to log before skipping the record.
func DecodeKey(key []byte) (connector string, partition Partition, err error) {
	v, err := decodeJSON(key, whatTopicKey)
	if err != nil {
		return "", nil, err
	}
	arr, ok := v.([]any)
	if !ok || len(arr) != 2 {
		return "", nil, &FormatError{What: whatTopicKey, Reason: "not a two-element JSON array [connector, partition]"}
	}
	connector, ok = arr[0].(string)
	if !ok {
		return "", nil, &FormatError{What: whatTopicKey, Reason: "first element is not a string (the connector name)"}
	}
	if connector == "" {
		return "", nil, &FormatError{What: whatTopicKey, Reason: "connector name is empty"}
	}
	obj, ok := arr[1].(map[string]any)
	if !ok {
		return "", nil, &FormatError{What: whatTopicKey, Reason: "second element is not a JSON object (the source partition)"}
	}
	if err := classifyMembers(obj, whatTopicKey); err != nil {
		return "", nil, err
	}
	return connector, obj, nil
}

// DecodeValue parses offsets-topic value bytes into a source offset.
// Integers come back as int64 and numbers with a fraction or exponent as
// float64. A nil value (a tombstone) and the JSON literal null both decode
// to a nil Offset. Anything but a JSON object of primitive members is a
// *FormatError (What "offsets-topic value").
func DecodeValue(value []byte) (Offset, error) {
	if value == nil {
		return nil, nil
	}
	v, err := decodeJSON(value, whatTopicVal)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, &FormatError{What: whatTopicVal, Reason: "not a JSON object"}
	}
	if err := classifyMembers(obj, whatTopicVal); err != nil {
		return nil, err
	}
	return obj, nil
}

func decodeJSON(data []byte, what string) (any, error) {
	if !utf8.Valid(data) {
		return nil, &FormatError{What: what, Reason: "not valid UTF-8"}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &FormatError{What: what, Reason: "not JSON: " + err.Error()}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &FormatError{What: what, Reason: "trailing data after the JSON value"}
	}
	return v, nil
}

// classifyMembers replaces json.Number members of m by int64 or float64 and
// refuses nested values.
func classifyMembers(m map[string]any, what string) error {
	for k, v := range m {
		switch x := v.(type) {
		case nil, string, bool:
		case json.Number:
			n, err := classifyNumber(x)
			if err != nil {
				return &FormatError{What: what, Key: k, Reason: err.Error()}
			}
			m[k] = n
		default:
			return &FormatError{What: what, Key: k, Reason: fmt.Sprintf("value is a JSON %s, want a string, number, bool or null", jsonKind(v))}
		}
	}
	return nil
}

func classifyNumber(n json.Number) (any, error) {
	s := string(n)
	if strings.ContainsAny(s, ".eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("number %s is out of range", s)
		}
		return f, nil
	}
	i, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("integer %s is out of range (beyond a Java long)", s)
	}
	return i, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return fmt.Sprintf("%T", v)
}
