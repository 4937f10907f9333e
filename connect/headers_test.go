package connect

import (
	"slices"
	"testing"
)

// keysOf returns "key=value" for each header, to compare order and content.
func keysOf(h Headers) []string {
	out := make([]string, len(h))
	for i, x := range h {
		v, _ := x.Value.(string)
		out[i] = x.Key + "=" + v
	}
	return out
}

func headersOf(kv ...string) Headers {
	var h Headers
	for i := 0; i < len(kv); i += 2 {
		h.AddString(kv[i], kv[i+1])
	}
	return h
}

func TestHeadersAdd(t *testing.T) {
	var h Headers // zero value is ready to use
	h.Add("n", Int32Schema, int32(7))
	h.AddString("s", "x")
	h.AddBytes("b", []byte{1})
	h.Add("schemaless", nil, map[string]any{"a": 1})
	want := []struct {
		key    string
		schema *Schema
		value  any
	}{
		{"n", Int32Schema, int32(7)},
		{"s", OptionalStringSchema, "x"},
		{"b", OptionalBytesSchema, []byte{1}},
		{"schemaless", nil, map[string]any{"a": 1}},
	}
	if len(h) != len(want) {
		t.Fatalf("len = %d, want %d", len(h), len(want))
	}
	for i, w := range want {
		if h[i].Key != w.key || h[i].Schema != w.schema || !ValuesEqual(h[i].Value, w.value) {
			t.Errorf("h[%d] = %+v, want %+v", i, h[i], w)
		}
	}
}

func TestHeadersLookup(t *testing.T) {
	h := headersOf("a", "1", "b", "1", "a", "2", "c", "1", "a", "3")
	tests := []struct {
		key  string
		last string
		ok   bool
		all  []string
	}{
		{"a", "3", true, []string{"a=1", "a=2", "a=3"}},
		{"b", "1", true, []string{"b=1"}},
		{"c", "1", true, []string{"c=1"}},
		{"A", "", false, nil},
		{"missing", "", false, nil},
	}
	for _, tc := range tests {
		last, ok := h.LastWithName(tc.key)
		if ok != tc.ok {
			t.Errorf("LastWithName(%q) ok = %v", tc.key, ok)
		}
		if v, _ := last.Value.(string); v != tc.last || (ok && last.Key != tc.key) {
			t.Errorf("LastWithName(%q) = %+v, want value %q", tc.key, last, tc.last)
		}
		if !ok && (last != Header{}) {
			t.Errorf("LastWithName(%q) not found returned %+v", tc.key, last)
		}
		all := h.AllWithName(tc.key)
		if got := keysOf(all); !slices.Equal(got, tc.all) || (tc.all == nil) != (all == nil) {
			t.Errorf("AllWithName(%q) = %v, want %v", tc.key, got, tc.all)
		}
	}
	var empty Headers
	if _, ok := empty.LastWithName("a"); ok {
		t.Error("LastWithName on empty headers found something")
	}
	if got := empty.AllWithName("a"); got != nil {
		t.Errorf("AllWithName on empty = %v", got)
	}
	// AllWithName returns a new slice: changing it leaves h alone.
	all := h.AllWithName("a")
	all[0].Key = "changed"
	if h[0].Key != "a" {
		t.Error("AllWithName result aliases the headers")
	}
}

func TestHeadersRemove(t *testing.T) {
	tests := []struct {
		name string
		in   Headers
		key  string
		want []string
	}{
		{"all duplicates, order kept", headersOf("a", "1", "b", "1", "a", "2", "c", "1", "a", "3"), "a", []string{"b=1", "c=1"}},
		{"single", headersOf("a", "1", "b", "1", "c", "1"), "b", []string{"a=1", "c=1"}},
		{"absent", headersOf("a", "1", "b", "1"), "z", []string{"a=1", "b=1"}},
		{"everything", headersOf("a", "1", "a", "2"), "a", []string{}},
		{"nil headers", nil, "a", []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.in
			full := h[:len(h):len(h)]
			h.Remove(tc.key)
			if got := keysOf(h); !slices.Equal(got, tc.want) {
				t.Errorf("after Remove(%q) = %v, want %v", tc.key, got, tc.want)
			}
			// Vacated slots are zeroed so removed values can be collected.
			for i := len(h); i < len(full); i++ {
				if (full[i] != Header{}) {
					t.Errorf("slot %d not cleared: %+v", i, full[i])
				}
			}
		})
	}
}

func TestHeadersRetainLatest(t *testing.T) {
	in := []string{"a", "1", "b", "1", "a", "2", "c", "1", "b", "2", "a", "3"}
	tests := []struct {
		name string
		keys []string
		want []string
	}{
		{"all keys", nil, []string{"c=1", "b=2", "a=3"}},
		{"one key", []string{"a"}, []string{"b=1", "c=1", "b=2", "a=3"}},
		{"two keys", []string{"b", "a"}, []string{"c=1", "b=2", "a=3"}},
		{"unique key", []string{"c"}, []string{"a=1", "b=1", "a=2", "c=1", "b=2", "a=3"}},
		{"absent key", []string{"zz"}, []string{"a=1", "b=1", "a=2", "c=1", "b=2", "a=3"}},
		{"absent and present", []string{"zz", "b"}, []string{"a=1", "a=2", "c=1", "b=2", "a=3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := headersOf(in...)
			full := h[:len(h):len(h)]
			h.RetainLatest(tc.keys...)
			if got := keysOf(h); !slices.Equal(got, tc.want) {
				t.Errorf("RetainLatest(%v) = %v, want %v", tc.keys, got, tc.want)
			}
			for i := len(h); i < len(full); i++ {
				if (full[i] != Header{}) {
					t.Errorf("slot %d not cleared: %+v", i, full[i])
				}
			}
		})
	}
	var empty Headers
	empty.RetainLatest()
	if len(empty) != 0 {
		t.Errorf("RetainLatest on empty = %v", empty)
	}
}

func TestHeadersClear(t *testing.T) {
	h := headersOf("a", "1", "b", "2")
	full := h[:2:2]
	h.Clear()
	if len(h) != 0 {
		t.Fatalf("len after Clear = %d", len(h))
	}
	for i, x := range full {
		if (x != Header{}) {
			t.Errorf("slot %d not cleared: %+v", i, x)
		}
	}
	h.AddString("c", "3")
	if got := keysOf(h); !slices.Equal(got, []string{"c=3"}) {
		t.Errorf("Add after Clear = %v", got)
	}
	var empty Headers
	empty.Clear()
	if len(empty) != 0 {
		t.Errorf("Clear on nil = %v", empty)
	}
}

func TestHeadersCloneIndependence(t *testing.T) {
	// Spare capacity in the original: a plain copy would share it.
	orig := make(Headers, 0, 16)
	orig.AddString("a", "1")
	orig.AddString("b", "2")

	clone := orig.Clone()
	if got := keysOf(clone); !slices.Equal(got, []string{"a=1", "b=2"}) {
		t.Fatalf("Clone = %v", got)
	}

	// Appending to the clone does not show through the original's spare capacity.
	clone.AddString("c", "clone")
	// Appending to the original does not overwrite the clone's third header.
	orig.AddString("c", "orig")
	if got := keysOf(orig); !slices.Equal(got, []string{"a=1", "b=2", "c=orig"}) {
		t.Errorf("original = %v", got)
	}
	if got := keysOf(clone); !slices.Equal(got, []string{"a=1", "b=2", "c=clone"}) {
		t.Errorf("clone = %v", got)
	}

	// In-place operations on one do not affect the other.
	clone[0].Value = "changed"
	clone.Remove("b")
	if got := keysOf(orig); !slices.Equal(got, []string{"a=1", "b=2", "c=orig"}) {
		t.Errorf("original after clone edits = %v", got)
	}
	orig.RetainLatest()
	orig.Remove("a")
	orig.Clear()
	if got := keysOf(clone); !slices.Equal(got, []string{"a=changed", "c=clone"}) {
		t.Errorf("clone after original edits = %v", got)
	}

	// Contrast: a plain copy shares the backing array (why Clone exists).
	shared := make(Headers, 0, 4)
	shared.AddString("x", "1")
	alias := shared
	alias.AddString("y", "alias")
	shared.AddString("y", "shared")
	if got := keysOf(alias); !slices.Equal(got, []string{"x=1", "y=shared"}) {
		t.Errorf("plain copy unexpectedly independent: %v", got)
	}

	var nilH Headers
	if c := nilH.Clone(); c != nil {
		t.Errorf("Clone(nil) = %#v, want nil", c)
	}
	if c := (Headers{}).Clone(); c == nil || len(c) != 0 {
		t.Errorf("Clone(empty) = %#v, want empty non-nil", c)
	}
}
