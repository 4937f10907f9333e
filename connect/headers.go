package connect

// Header is one record header: a key with a Connect schema and value. The
// schema may be nil for schemaless values.
type Header struct {
	Key    string
	Schema *Schema
	Value  any
}

// Headers is an ordered multimap of headers, as Kafka Connect's Headers: keys
// may repeat and order is kept. The zero value is empty and ready to use.
//
// Headers is a slice: a copy of a Record shares its headers' backing array, so
// code that modifies the headers of a record it did not create (an SMT, for
// example) must Clone them first.
type Headers []Header

// Add appends a header.
func (h *Headers) Add(key string, schema *Schema, value any) {
	*h = append(*h, Header{Key: key, Schema: schema, Value: value})
}

// AddString appends a header with an optional STRING schema.
func (h *Headers) AddString(key, value string) { h.Add(key, OptionalStringSchema, value) }

// AddBytes appends a header with an optional BYTES schema.
func (h *Headers) AddBytes(key string, value []byte) { h.Add(key, OptionalBytesSchema, value) }

// LastWithName returns the last header called key.
func (h Headers) LastWithName(key string) (Header, bool) {
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].Key == key {
			return h[i], true
		}
	}
	return Header{}, false
}

// AllWithName returns every header called key, in order.
func (h Headers) AllWithName(key string) []Header {
	var out []Header
	for _, x := range h {
		if x.Key == key {
			out = append(out, x)
		}
	}
	return out
}

// Remove deletes every header called key, keeping the order of the others.
func (h *Headers) Remove(key string) {
	out := (*h)[:0]
	for _, x := range *h {
		if x.Key != key {
			out = append(out, x)
		}
	}
	clear((*h)[len(out):])
	*h = out
}

// RetainLatest keeps only the last header of each of the given keys (of every
// key when none are given), removing earlier duplicates; order of the kept
// headers is preserved.
func (h *Headers) RetainLatest(keys ...string) {
	in := *h
	keep := func(i int) bool {
		k := in[i].Key
		if len(keys) > 0 {
			found := false
			for _, want := range keys {
				if want == k {
					found = true
					break
				}
			}
			if !found {
				return true
			}
		}
		for j := i + 1; j < len(in); j++ {
			if in[j].Key == k {
				return false
			}
		}
		return true
	}
	out := in[:0]
	for i := range in {
		if keep(i) {
			out = append(out, in[i])
		}
	}
	clear(in[len(out):])
	*h = out
}

// Clear removes every header.
func (h *Headers) Clear() {
	clear(*h)
	*h = (*h)[:0]
}

// Clone returns a copy with its own backing array (values are shared).
func (h Headers) Clone() Headers {
	if h == nil {
		return nil
	}
	return append(make(Headers, 0, len(h)), h...)
}
