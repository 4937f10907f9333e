package offsets

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/jackson"
)

// offsetRecord is one stored offset: the exact key bytes it is stored under
// (which may differ from the canonical form when Kafka Connect wrote it) and
// its exact value bytes (never nil). It is immutable once in an index.
type offsetRecord struct {
	key   []byte
	value []byte
}

// offsetIndex maps connector → canonical key (EncodeKey) → record, and
// remembers, per canonical key, non-canonical key bytes seen for it (Kafka
// Connect's member order), even after the offset was reset, so that every
// later write of that partition uses the bytes Kafka Connect looks up. It
// is not synchronized; the stores guard it.
type offsetIndex struct {
	live  map[string]map[string]*offsetRecord
	alias map[string][]byte
}

func newOffsetIndex() *offsetIndex {
	return &offsetIndex{live: make(map[string]map[string]*offsetRecord), alias: make(map[string][]byte)}
}

func (ix *offsetIndex) lookup(connector, canon string) *offsetRecord {
	return ix.live[connector][canon]
}

func (ix *offsetIndex) set(connector, canon string, r *offsetRecord) {
	m := ix.live[connector]
	if m == nil {
		m = make(map[string]*offsetRecord)
		ix.live[connector] = m
	}
	m[canon] = r
}

func (ix *offsetIndex) remove(connector, canon string) {
	if m := ix.live[connector]; m != nil {
		delete(m, canon)
		if len(m) == 0 {
			delete(ix.live, connector)
		}
	}
}

// clone copies the maps; the records and byte slices are shared (they are
// immutable).
func (ix *offsetIndex) clone() *offsetIndex {
	out := &offsetIndex{live: make(map[string]map[string]*offsetRecord, len(ix.live)), alias: maps.Clone(ix.alias)}
	for c, m := range ix.live {
		out.live[c] = maps.Clone(m)
	}
	return out
}

// keyBytes returns the key bytes to write for canon: the bytes it is
// stored under, else the bytes last seen for it, else canon itself.
func (ix *offsetIndex) keyBytes(connector, canon string) []byte {
	if r := ix.lookup(connector, canon); r != nil {
		return r.key
	}
	if a := ix.alias[canon]; a != nil {
		return a
	}
	return []byte(canon)
}

// load applies one stored record (value nil: a tombstone). A value that
// decodes to no offset (the JSON literal null) deletes too. The key must
// parse (DecodeKey); its error is returned otherwise and nothing changes.
// A value that does not parse is kept: Get reports it for its partition.
func (ix *offsetIndex) load(key, value []byte) (connector string, valueErr error, keyErr error) {
	connector, partition, err := DecodeKey(key)
	if err != nil {
		return "", nil, err
	}
	canon, err := EncodeKey(connector, partition)
	if err != nil { // cannot happen: DecodeKey admits only encodable keys
		return "", nil, err
	}
	if string(canon) == string(key) {
		delete(ix.alias, string(canon)) // the latest record wins
	} else {
		ix.alias[string(canon)] = slices.Clone(key)
	}
	if value != nil {
		off, verr := DecodeValue(value)
		if verr == nil && off == nil {
			value = nil
		}
		valueErr = verr
	}
	if value == nil {
		ix.remove(connector, string(canon))
		return connector, nil, nil
	}
	ix.set(connector, string(canon), &offsetRecord{key: slices.Clone(key), value: slices.Clone(value)})
	return connector, valueErr, nil
}

// apply stores a prepared entry under key (the bytes chosen by keyBytes).
func (ix *offsetIndex) apply(connector string, e preparedEntry, key []byte) {
	if e.value == nil {
		ix.remove(connector, e.canon)
		return
	}
	ix.set(connector, e.canon, &offsetRecord{key: key, value: e.value})
}

// get decodes the offset of partition.
func (ix *offsetIndex) get(connector string, partition Partition) (Offset, error) {
	canon, err := EncodeKey(connector, partition)
	if err != nil {
		return nil, fmt.Errorf("offsets: connector %q: %w", connector, err)
	}
	r := ix.lookup(connector, string(canon))
	if r == nil {
		return nil, nil
	}
	off, err := DecodeValue(r.value)
	if err != nil {
		return nil, fmt.Errorf("offsets: connector %q, partition %s: stored offset %q: %w", connector, partitionText(connector, string(canon)), r.value, err)
	}
	return off, nil
}

// list decodes every entry of connector, sorted by canonical key.
func (ix *offsetIndex) list(connector string) ([]connect.OffsetEntry, error) {
	m := ix.live[connector]
	canons := slices.Sorted(maps.Keys(m))
	out := make([]connect.OffsetEntry, 0, len(canons))
	for _, c := range canons {
		r := m[c]
		_, p, err := DecodeKey(r.key)
		if err != nil {
			return nil, fmt.Errorf("offsets: connector %q: stored key %q: %w", connector, r.key, err)
		}
		off, err := DecodeValue(r.value)
		if err != nil {
			return nil, fmt.Errorf("offsets: connector %q, partition %s: stored offset %q: %w", connector, partitionText(connector, c), r.value, err)
		}
		out = append(out, connect.OffsetEntry{Partition: p, Offset: off})
	}
	return out, nil
}

// partitions decodes the partition of every entry of connector, sorted by
// canonical key; the values are not decoded.
func (ix *offsetIndex) partitions(connector string) ([]Partition, error) {
	m := ix.live[connector]
	canons := slices.Sorted(maps.Keys(m))
	out := make([]Partition, 0, len(canons))
	for _, c := range canons {
		_, p, err := DecodeKey(m[c].key)
		if err != nil {
			return nil, fmt.Errorf("offsets: connector %q: stored key %q: %w", connector, m[c].key, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// preparedEntry is a validated, encoded entry of a Write.
type preparedEntry struct {
	canon string // canonical key bytes (EncodeKey)
	value []byte // nil: reset (tombstone)
}

// partition returns the partition part of the canonical key, for messages.
func (e preparedEntry) partitionText(connector string) string {
	return partitionText(connector, e.canon)
}

// prepareWrite validates and encodes entries. When a partition occurs more
// than once, the last entry wins (at the position of the first).
func prepareWrite(ctx context.Context, connector string, entries []connect.OffsetEntry) ([]preparedEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]preparedEntry, 0, len(entries))
	pos := make(map[string]int, len(entries))
	for _, e := range entries {
		canon, err := EncodeKey(connector, e.Partition)
		if err != nil {
			return nil, fmt.Errorf("offsets: connector %q: %w", connector, err)
		}
		value, err := EncodeValue(e.Offset)
		if err != nil {
			return nil, fmt.Errorf("offsets: connector %q, partition %s: %w", connector, partitionText(connector, string(canon)), err)
		}
		pe := preparedEntry{canon: string(canon), value: value}
		if i, ok := pos[pe.canon]; ok {
			out[i] = pe
			continue
		}
		pos[pe.canon] = len(out)
		out = append(out, pe)
	}
	return out, nil
}

// partitionText extracts the partition object from a canonical key
// ["<connector>",{...}].
func partitionText(connector, canon string) string {
	prefix := string(jackson.AppendString([]byte{'['}, connector)) + ","
	if s, ok := strings.CutPrefix(canon, prefix); ok {
		return strings.TrimSuffix(s, "]")
	}
	return canon
}
