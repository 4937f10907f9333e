package cluster

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
)

// Golden vectors written by Kafka Connect 4.3.1's own classes
// (IncrementalCooperativeConnectProtocol.serializeAssignment/serializeMetadata
// and ConnectProtocol.serializeMetadata; design19.md §1.2).
const (
	// assignment v2: leader "leader-1", leader-url "http://l:8083/",
	// config offset 7, assigned src:[-1,0,3], revoked snk:[1], delay 0.
	goldenAssignV2 = "0002000000086c65616465722d31000e687474703a2f2f6c3a383038332f0000000000000007" +
		"00000001000373726300000003ffffffff0000000000000003" +
		"000000010003736e6b0000000100000001" + "00000000"
	// metadata sessioned: url "http://w:8083/", config offset 7, allocation = the assignment above.
	goldenMetaSessioned = "0002000e687474703a2f2f773a383038332f000000000000000700000054" + goldenAssignV2
	// metadata sessioned, config offset -1, no allocation.
	goldenMetaEmpty = "0002000e687474703a2f2f773a383038332fffffffffffffffffffffffff"
	// metadata v0: url "http://w:8083/", config offset 7.
	goldenMetaV0 = "0000000e687474703a2f2f773a383038332f0000000000000007"
)

// goldenMetaCompatible is the compatible (V1) metadata Kafka Connect writes
// for the same state: both the outer header and the embedded assignment's
// header are 0001.
var goldenMetaCompatible = "0001" + goldenMetaSessioned[4:len("0002000e687474703a2f2f773a383038332f000000000000000700000054")] +
	"0001" + goldenAssignV2[4:]

func goldenAssignmentValue() Assignment {
	return Assignment{Version: 2, Leader: "leader-1", LeaderURL: "http://l:8083/", ConfigOffset: 7,
		Assigned: Work{"src": {-1, 0, 3}}, Revoked: Work{"snk": {1}}}
}

func protoHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGoldenEncode(t *testing.T) {
	a := goldenAssignmentValue()
	alloc := a
	cases := []struct {
		name string
		got  []byte
		want string
	}{
		{"assignment v2", EncodeAssignment(a), goldenAssignV2},
		{"metadata sessioned", EncodeMetadata(Metadata{Version: 2, URL: "http://w:8083/", ConfigOffset: 7, Allocation: &alloc}), goldenMetaSessioned},
		// The embedded allocation takes the metadata's version, whatever its own says.
		{"metadata compatible", EncodeMetadata(Metadata{Version: 1, URL: "http://w:8083/", ConfigOffset: 7, Allocation: &alloc}), goldenMetaCompatible},
		{"metadata empty", EncodeMetadata(Metadata{Version: 2, URL: "http://w:8083/", ConfigOffset: -1}), goldenMetaEmpty},
		// V0 carries no allocation even when one is given.
		{"metadata v0", EncodeMetadata(Metadata{Version: 0, URL: "http://w:8083/", ConfigOffset: 7, Allocation: &alloc}), goldenMetaV0},
	}
	for _, c := range cases {
		if got := hex.EncodeToString(c.got); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
}

func TestGoldenDecode(t *testing.T) {
	a, err := DecodeAssignment(protoHex(t, goldenAssignV2))
	if err != nil {
		t.Fatal(err)
	}
	if want := goldenAssignmentValue(); !reflect.DeepEqual(a, want) {
		t.Errorf("assignment: got %+v, want %+v", a, want)
	}

	m, err := DecodeMetadata(protoHex(t, goldenMetaSessioned))
	if err != nil {
		t.Fatal(err)
	}
	want := goldenAssignmentValue()
	if m.Version != 2 || m.URL != "http://w:8083/" || m.ConfigOffset != 7 || m.Allocation == nil || !reflect.DeepEqual(*m.Allocation, want) {
		t.Errorf("metadata sessioned: got %+v (allocation %+v)", m, m.Allocation)
	}

	m, err = DecodeMetadata(protoHex(t, goldenMetaCompatible))
	want.Version = 1
	if err != nil || m.Version != 1 || m.Allocation == nil || !reflect.DeepEqual(*m.Allocation, want) {
		t.Errorf("metadata compatible: got %+v (allocation %+v), %v", m, m.Allocation, err)
	}

	m, err = DecodeMetadata(protoHex(t, goldenMetaEmpty))
	if err != nil || !reflect.DeepEqual(m, Metadata{Version: 2, URL: "http://w:8083/", ConfigOffset: -1}) {
		t.Errorf("metadata empty: got %+v, %v", m, err)
	}

	m, err = DecodeMetadata(protoHex(t, goldenMetaV0))
	if err != nil || !reflect.DeepEqual(m, Metadata{Version: 0, URL: "http://w:8083/", ConfigOffset: 7}) {
		t.Errorf("metadata v0: got %+v, %v", m, err)
	}
}

func TestAssignmentRoundTrip(t *testing.T) {
	cases := []Assignment{
		{Version: 0, Leader: "l", LeaderURL: "http://l/", ConfigOffset: 42, Assigned: Work{"a": {-1, 0, 1}, "b": {2}}},
		{Version: 1, Error: AssignmentConfigMismatch, Leader: "l", ConfigOffset: -1, Assigned: Work{}, Revoked: Work{}},
		{Version: 2, Leader: "leader", LeaderURL: "http://x:1/", ConfigOffset: 9,
			Assigned: Work{"z": {-1}, "a": {0, 5, 7}}, Revoked: Work{"m": {3}}, Delay: 30000},
		{Version: 2, Leader: strings.Repeat("é", 100), Assigned: Work{"ü": {1}}, Revoked: Work{}},
	}
	for _, a := range cases {
		got, err := DecodeAssignment(EncodeAssignment(a))
		if err != nil {
			t.Fatalf("%+v: %v", a, err)
		}
		if !reflect.DeepEqual(got, a) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, a)
		}
	}
}

func TestMetadataRoundTrip(t *testing.T) {
	alloc := &Assignment{Version: 1, Leader: "l", LeaderURL: "http://l/", ConfigOffset: 3,
		Assigned: Work{"c": {-1, 0}}, Revoked: Work{}}
	cases := []Metadata{
		{Version: 0, URL: "http://a/", ConfigOffset: 5},
		{Version: 1, URL: "http://a/", ConfigOffset: 5, Allocation: alloc},
		{Version: 2, URL: "", ConfigOffset: -1},
	}
	for _, m := range cases {
		got, err := DecodeMetadata(EncodeMetadata(m))
		if err != nil {
			t.Fatalf("%+v: %v", m, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("round trip:\n got %+v (%+v)\nwant %+v (%+v)", got, got.Allocation, m, m.Allocation)
		}
	}
}

// Work is written in a canonical order whatever the map iteration order or
// the order of the ids, so the leader's bytes are deterministic.
func TestEncodeDeterministic(t *testing.T) {
	w := Work{}
	for _, c := range []string{"zeta", "alpha", "mid", "beta"} {
		w[c] = []int32{3, -1, 1}
	}
	a := Assignment{Version: 2, Assigned: w}
	first := EncodeAssignment(a)
	for range 20 {
		if b := EncodeAssignment(a); !bytes.Equal(b, first) {
			t.Fatalf("encoding not deterministic")
		}
	}
	got, err := DecodeAssignment(first)
	if err != nil {
		t.Fatal(err)
	}
	want := Work{"alpha": {-1, 1, 3}, "beta": {-1, 1, 3}, "mid": {-1, 1, 3}, "zeta": {-1, 1, 3}}
	if !reflect.DeepEqual(got.Assigned, want) {
		t.Errorf("got %v", got.Assigned)
	}
	// "alpha" comes first on the wire.
	if i, j := bytes.Index(first, []byte("alpha")), bytes.Index(first, []byte("beta")); i < 0 || j < i {
		t.Errorf("connectors not sorted on the wire: %x", first)
	}
	// Ids sorted on the wire: -1 then 1 then 3 right after "alpha"'s count.
	i := bytes.Index(first, []byte("alpha")) + len("alpha")
	if got := hex.EncodeToString(first[i : i+16]); got != "00000003ffffffff0000000100000003" {
		t.Errorf("ids not sorted on the wire: %s", got)
	}
}

// Decoding accepts connectors and ids in any order, repeated entries and
// null lists.
func TestDecodeTolerant(t *testing.T) {
	e := &encoder{}
	e.i16(2)
	e.i16(0)
	e.str("l")
	e.str("u")
	e.i64(1)
	e.i32(3) // assigned: b:[2,0], a:[-1], b:[1,0]
	e.str("b")
	e.i32(2)
	e.i32(2)
	e.i32(0)
	e.str("a")
	e.i32(1)
	e.i32(-1)
	e.str("b")
	e.i32(2)
	e.i32(1)
	e.i32(0)
	e.i32(-1) // revoked: null
	e.i32(5)
	a, err := DecodeAssignment(e.b)
	if err != nil {
		t.Fatal(err)
	}
	want := Assignment{Version: 2, Leader: "l", LeaderURL: "u", ConfigOffset: 1,
		Assigned: Work{"a": {-1}, "b": {0, 1, 2}}, Delay: 5}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("got %+v, want %+v", a, want)
	}
}

// A V1 assignment may lack its trailing fields (Kafka Connect's schema
// tolerates missing fields with defaults): delay defaults to 0, lists to nil.
func TestDecodeV1MissingTrailingFields(t *testing.T) {
	full := EncodeAssignment(Assignment{Version: 1, Leader: "l", LeaderURL: "u", ConfigOffset: 4,
		Assigned: Work{"c": {0}}, Revoked: Work{"d": {1}}, Delay: 9})
	noDelay := full[:len(full)-4]
	a, err := DecodeAssignment(noDelay)
	if err != nil || a.Delay != 0 || !reflect.DeepEqual(a.Revoked, Work{"d": {1}}) || !reflect.DeepEqual(a.Assigned, Work{"c": {0}}) {
		t.Errorf("without delay: %+v, %v", a, err)
	}
	header := EncodeAssignment(Assignment{Version: 1, Leader: "l", LeaderURL: "u", ConfigOffset: 4})
	header = header[:len(header)-12] // drop assigned, revoked, delay
	a, err = DecodeAssignment(header)
	if err != nil || a.Assigned != nil || a.Revoked != nil || a.Delay != 0 || a.ConfigOffset != 4 {
		t.Errorf("header only: %+v, %v", a, err)
	}
	// V0 has no such tolerance.
	v0 := EncodeAssignment(Assignment{Version: 0, Leader: "l"})
	if _, err := DecodeAssignment(v0[:len(v0)-4]); err == nil {
		t.Errorf("v0 without its assignment list decoded without error")
	}
}

func TestDecodeMalformed(t *testing.T) {
	assign := protoHex(t, goldenAssignV2)
	meta := protoHex(t, goldenMetaSessioned)
	// Every strict prefix of the V0 metadata and of the V2 metadata up to the
	// allocation is malformed, as is every prefix that cuts a field in two.
	for i := range len(protoHex(t, goldenMetaV0)) {
		if _, err := DecodeMetadata(protoHex(t, goldenMetaV0)[:i]); err == nil {
			t.Errorf("metadata v0 prefix of %d bytes decoded without error", i)
		}
	}
	for i := range len(meta) {
		if _, err := DecodeMetadata(meta[:i]); err == nil {
			t.Errorf("metadata prefix of %d bytes decoded without error", i)
		}
	}
	// Assignment prefixes ending on a field boundary after the config
	// offset are tolerated (V1 schema); every other one is an error.
	boundaries := map[int]bool{38: true, 38 + 4 + 5 + 4 + 12: true, len(assign) - 4: true}
	for i := range len(assign) {
		_, err := DecodeAssignment(assign[:i])
		if boundaries[i] && err != nil {
			t.Errorf("assignment prefix of %d bytes (field boundary): %v", i, err)
		}
		if !boundaries[i] && err == nil {
			t.Errorf("assignment prefix of %d bytes decoded without error", i)
		}
	}
	bad := map[string]string{
		"negative version":       "ffff" + goldenAssignV2[4:],
		"negative string length": "00020000fffe",
		"huge array":             "000200000000000000000000000000007fffffff",
		"negative array":         "00020000000000000000000000000000fffffffe",
		"huge task array":        "000200000000000000000000000000000000000100016100fffff0",
	}
	for name, h := range bad {
		if _, err := DecodeAssignment(protoHex(t, h)); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
	if _, err := DecodeMetadata(protoHex(t, "ffff"+goldenMetaEmpty[4:])); err == nil {
		t.Errorf("metadata with negative version decoded without error")
	}
	// An allocation whose bytes are not an assignment.
	if _, err := DecodeMetadata(protoHex(t, "0002000000000000000000000000000000020001")); err == nil {
		t.Errorf("metadata with a 2-byte allocation decoded without error")
	}
}

func TestProtocolNames(t *testing.T) {
	for v, name := range map[int16]string{0: "default", 1: "compatible", 2: "sessioned"} {
		if got := ProtocolName(v); got != name {
			t.Errorf("ProtocolName(%d) = %q, want %q", v, got, name)
		}
		got, err := ParseProtocol(name)
		if err != nil || got != v {
			t.Errorf("ParseProtocol(%q) = %d, %v", name, got, err)
		}
	}
	if ProtocolName(3) != "" {
		t.Errorf("ProtocolName(3) = %q", ProtocolName(3))
	}
	if _, err := ParseProtocol("Sessioned"); err == nil {
		t.Errorf("ParseProtocol accepted a wrong name")
	}
}

func FuzzDecodeAssignment(f *testing.F) {
	f.Add(protoHex(f, goldenAssignV2))
	f.Add(EncodeAssignment(Assignment{Version: 0, Assigned: Work{"a": {-1, 0}}}))
	f.Add(EncodeAssignment(Assignment{Version: 1, Error: 1}))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := DecodeAssignment(b)
		if err != nil {
			return
		}
		// What decodes re-encodes to something that decodes to the same value.
		again, err := DecodeAssignment(EncodeAssignment(a))
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !sameDecodedAssignment(a, again) {
			t.Fatalf("re-decode: got %+v, want %+v", again, a)
		}
	})
}

func FuzzDecodeMetadata(f *testing.F) {
	for _, h := range []string{goldenMetaSessioned, goldenMetaCompatible, goldenMetaEmpty, goldenMetaV0} {
		f.Add(protoHex(f, h))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMetadata(b)
		if err != nil {
			return
		}
		again, err := DecodeMetadata(EncodeMetadata(m))
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if m.URL != again.URL || m.ConfigOffset != again.ConfigOffset || (m.Allocation == nil) != (again.Allocation == nil) {
			t.Fatalf("re-decode: got %+v, want %+v", again, m)
		}
	})
}

// sameDecodedAssignment compares a and b treating nil and empty Work alike (the
// encoder writes nil as an empty list).
func sameDecodedAssignment(a, b Assignment) bool {
	norm := func(w Work) Work {
		if w == nil {
			return Work{}
		}
		return w
	}
	a.Assigned, a.Revoked = norm(a.Assigned), norm(a.Revoked)
	b.Assigned, b.Revoked = norm(b.Assigned), norm(b.Revoked)
	if a.Version < 1 {
		a.Revoked, b.Revoked, a.Delay, b.Delay = Work{}, Work{}, 0, 0
	}
	return reflect.DeepEqual(a, b)
}
