package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Subprotocol names of the connect group protocol, in the JoinGroup
// request (Kafka Connect's ConnectProtocolCompatibility).
const (
	protocolNameDefault    = "default"
	protocolNameCompatible = "compatible"
	protocolNameSessioned  = "sessioned"
)

// ProtocolName returns the JoinGroup subprotocol name of protocol version v:
// "default" (V0), "compatible" (V1) or "sessioned" (V2); "" for any other
// version.
func ProtocolName(v int16) string {
	switch v {
	case ProtocolDefault:
		return protocolNameDefault
	case ProtocolCompatible:
		return protocolNameCompatible
	case ProtocolSessioned:
		return protocolNameSessioned
	}
	return ""
}

// ParseProtocol returns the protocol version named by name, as Kafka
// Connect's connect.protocol setting spells it ("default", "compatible",
// "sessioned"; case-sensitive, as the subprotocol names on the wire are). It
// returns an error for any other name.
func ParseProtocol(name string) (int16, error) {
	switch name {
	case protocolNameDefault:
		return ProtocolDefault, nil
	case protocolNameCompatible:
		return ProtocolCompatible, nil
	case protocolNameSessioned:
		return ProtocolSessioned, nil
	}
	return 0, fmt.Errorf("cluster: unknown connect protocol %q (want %q, %q or %q)",
		name, protocolNameDefault, protocolNameCompatible, protocolNameSessioned)
}

// EncodeMetadata serializes m as a member's JoinGroup metadata for protocol
// version m.Version, byte-identical to Kafka Connect: ConnectProtocol's
// header and CONFIG_STATE_V0 for V0; for V1 and V2
// IncrementalCooperativeConnectProtocol's header, CONFIG_STATE_V1 and
// ALLOCATION_V1, where the allocation is m.Allocation serialized with
// EncodeAssignment under m.Version (Kafka Connect encodes the embedded
// assignment with the metadata's version, whatever m.Allocation.Version
// says), or a null (-1) allocation when m.Allocation is nil. V0 carries no
// allocation.
func EncodeMetadata(m Metadata) []byte {
	e := &encoder{}
	e.i16(m.Version)
	e.str(m.URL)
	e.i64(m.ConfigOffset)
	if m.Version >= ProtocolCompatible {
		if m.Allocation == nil {
			e.i32(-1)
		} else {
			a := *m.Allocation
			a.Version = m.Version
			b := EncodeAssignment(a)
			e.i32(int32(len(b)))
			e.b = append(e.b, b...)
		}
	}
	return e.b
}

// DecodeMetadata parses a member's JoinGroup metadata written by
// EncodeMetadata or by Kafka Connect. A version above 2 is read with the
// V1/V2 layout (as Kafka Connect reads newer versions); trailing bytes are
// ignored. It returns an error, never panics, on a negative version, a
// truncated buffer or a malformed allocation.
func DecodeMetadata(b []byte) (Metadata, error) {
	d := &decoder{b: b}
	m := Metadata{Version: d.i16()}
	if d.err == nil && m.Version < 0 {
		return Metadata{}, fmt.Errorf("cluster: connect metadata: negative version %d", m.Version)
	}
	m.URL = d.str("url")
	m.ConfigOffset = d.i64()
	if m.Version >= ProtocolCompatible {
		if alloc, ok := d.nbytes("allocation"); ok && alloc != nil {
			a, err := DecodeAssignment(alloc)
			if err != nil {
				return Metadata{}, fmt.Errorf("cluster: connect metadata v%d allocation: %w", m.Version, err)
			}
			m.Allocation = &a
		}
	}
	if d.err != nil {
		return Metadata{}, fmt.Errorf("cluster: connect metadata v%d: %w", m.Version, d.err)
	}
	return m, nil
}

// EncodeAssignment serializes a as a SyncGroup assignment, byte-identical
// to Kafka Connect: ConnectProtocol's ASSIGNMENT_V0 for Version 0 (Revoked
// and Delay are not written), IncrementalCooperativeConnectProtocol's
// ASSIGNMENT_V1 for Versions 1 and 2. Work is written deterministically:
// connectors sorted by name, each one's task ids sorted ascending; a nil
// Work is written as an empty (not null) list, as Kafka Connect does.
func EncodeAssignment(a Assignment) []byte {
	e := &encoder{}
	e.i16(a.Version)
	e.i16(a.Error)
	e.str(a.Leader)
	e.str(a.LeaderURL)
	e.i64(a.ConfigOffset)
	e.work(a.Assigned)
	if a.Version >= ProtocolCompatible {
		e.work(a.Revoked)
		e.i32(a.Delay)
	}
	return e.b
}

// DecodeAssignment parses a SyncGroup assignment written by
// EncodeAssignment or by Kafka Connect. Connectors and task ids may come in
// any order and repeat (they are merged; task ids end up sorted); a null
// (-1) list decodes as nil Work; a connector with no task ids is dropped.
// For Version >= 1 it tolerates missing trailing fields, as Kafka Connect's
// schema does: a buffer ending after the config offset, the assigned list or
// the revoked list leaves the missing lists nil and Delay 0. Trailing bytes
// are ignored. It returns an error, never panics, on a negative version, a
// truncated field or a negative length.
func DecodeAssignment(b []byte) (Assignment, error) {
	d := &decoder{b: b}
	a := Assignment{Version: d.i16()}
	if d.err == nil && a.Version < 0 {
		return Assignment{}, fmt.Errorf("cluster: connect assignment: negative version %d", a.Version)
	}
	a.Error = d.i16()
	a.Leader = d.str("leader")
	a.LeaderURL = d.str("leader-url")
	a.ConfigOffset = d.i64()
	if a.Version < ProtocolCompatible || len(d.b) > 0 {
		a.Assigned = d.work("assignment")
	}
	if a.Version >= ProtocolCompatible {
		if len(d.b) > 0 {
			a.Revoked = d.work("revoked")
		}
		if len(d.b) > 0 {
			a.Delay = d.i32()
		}
	}
	if d.err != nil {
		return Assignment{}, fmt.Errorf("cluster: connect assignment v%d: %w", a.Version, d.err)
	}
	return a, nil
}

// encoder appends Kafka protocol primitives (big-endian) to b.
type encoder struct{ b []byte }

func (e *encoder) i16(v int16) { e.b = binary.BigEndian.AppendUint16(e.b, uint16(v)) }
func (e *encoder) i32(v int32) { e.b = binary.BigEndian.AppendUint32(e.b, uint32(v)) }
func (e *encoder) i64(v int64) { e.b = binary.BigEndian.AppendUint64(e.b, uint64(v)) }

// str writes a Kafka STRING: int16 length and the bytes. Longer strings
// than 32767 bytes are truncated (names, URLs and member ids never are).
func (e *encoder) str(s string) {
	if len(s) > math.MaxInt16 {
		s = s[:math.MaxInt16]
	}
	e.i16(int16(len(s)))
	e.b = append(e.b, s...)
}

// work writes w as [CONNECTOR_ASSIGNMENT]: connectors by name, ids sorted.
func (e *encoder) work(w Work) {
	names := w.Connectors()
	n := 0
	for _, name := range names {
		if len(w[name]) > 0 {
			n++
		}
	}
	e.i32(int32(n))
	for _, name := range names {
		ids := w[name]
		if len(ids) == 0 {
			continue
		}
		if !slices.IsSorted(ids) {
			ids = slices.Sorted(slices.Values(ids))
		}
		e.str(name)
		e.i32(int32(len(ids)))
		for _, id := range ids {
			e.i32(id)
		}
	}
}

var errShort = errors.New("truncated")

// decoder reads Kafka protocol primitives from b; the first error sticks
// and every later read returns a zero value.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) need(n int) bool {
	if d.err != nil {
		return false
	}
	if n < 0 || len(d.b) < n {
		d.err = errShort
		return false
	}
	return true
}

func (d *decoder) i16() int16 {
	if !d.need(2) {
		return 0
	}
	v := int16(binary.BigEndian.Uint16(d.b))
	d.b = d.b[2:]
	return v
}

func (d *decoder) i32() int32 {
	if !d.need(4) {
		return 0
	}
	v := int32(binary.BigEndian.Uint32(d.b))
	d.b = d.b[4:]
	return v
}

func (d *decoder) i64() int64 {
	if !d.need(8) {
		return 0
	}
	v := int64(binary.BigEndian.Uint64(d.b))
	d.b = d.b[8:]
	return v
}

func (d *decoder) str(field string) string {
	n := d.i16()
	if d.err != nil {
		return ""
	}
	if n < 0 {
		d.err = fmt.Errorf("%s: negative string length %d", field, n)
		return ""
	}
	if !d.need(int(n)) {
		d.err = fmt.Errorf("%s: %w", field, errShort)
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// nbytes reads NULLABLE_BYTES; ok is false on error, b nil for null.
func (d *decoder) nbytes(field string) (b []byte, ok bool) {
	n := d.i32()
	if d.err != nil {
		return nil, false
	}
	if n < 0 {
		return nil, true
	}
	if !d.need(int(n)) {
		d.err = fmt.Errorf("%s: %w", field, errShort)
		return nil, false
	}
	b = d.b[:n]
	d.b = d.b[n:]
	return b, true
}

// count reads an array length and checks that the buffer could hold n
// elements of at least min bytes each (so a corrupt count cannot make us
// allocate or loop for long); -1 (null) returns -1.
func (d *decoder) count(field string, minSize int) int {
	n := d.i32()
	if d.err != nil {
		return 0
	}
	if n < 0 {
		if n != -1 {
			d.err = fmt.Errorf("%s: negative array length %d", field, n)
			return 0
		}
		return -1
	}
	if int64(n)*int64(minSize) > int64(len(d.b)) {
		d.err = fmt.Errorf("%s: array of %d elements: %w", field, n, errShort)
		return 0
	}
	return int(n)
}

// work reads a nullable [CONNECTOR_ASSIGNMENT] into a Work (nil for null).
func (d *decoder) work(field string) Work {
	n := d.count(field, 6)
	if d.err != nil || n < 0 {
		return nil
	}
	w := make(Work, n)
	for range n {
		name := d.str(field + " connector")
		m := d.count(field+" tasks of "+name, 4)
		for range m {
			id := d.i32()
			if d.err != nil {
				break
			}
			w.Add(name, id)
		}
		if d.err != nil {
			return nil
		}
	}
	return w
}
