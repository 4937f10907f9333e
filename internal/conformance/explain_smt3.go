package conformance

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
)

// SMT divergences CONFORMANCE.md explains: Go's zero time as a record
// timestamp where InsertField and TimestampRouter read it, and
// SimpleDateFormat parsing (TimestampConverter) where Sluice refuses what
// Kafka Connect resolves through its JVM's zone data or silently corrupts.
func init() {
	explain(
		Explanation{
			ID: "record-timestamp-go-zero-read",
			Reason: "a record timestamp of 0001-01-01T00:00:00Z (-62135596800000 ms) is Go's zero time, which " +
				"connect.Record reads as \"no timestamp\": InsertField's timestamp.field is then null (schemaless: " +
				"not inserted) and TimestampRouter fails the record (\"timestamp missing\"), where Kafka Connect " +
				"uses that instant",
			Match: func(req *Request, kc, sl *Response, kind string) bool {
				if !hasGoZeroTimestamp(req) {
					return false
				}
				switch {
				case kind == KindSluiceFails && isSMT(req, "TimestampRouter"):
					return kc.Record != nil && strings.Contains(sl.Error, "timestamp missing")
				case kind == KindValue && isSMT(req, "InsertField"):
					field, ok := req.Config["timestamp.field"]
					if !ok || kc.Record == nil || sl.Record == nil {
						return false
					}
					// Kafka Connect's ConfigDef trims the value; a trailing
					// ? or ! says optional or required (InsertionSpec).
					field = strings.Trim(field, javaTrimSet)
					if strings.HasSuffix(field, "?") || strings.HasSuffix(field, "!") {
						field = field[:len(field)-1]
					}
					part := "value"
					if strings.HasSuffix(req.Class, "$Key") {
						part = "key"
					}
					return agreeAfter(kc, sl, func(tree any) {
						smtDocumented(tree)
						rec, _ := tree.(map[string]any)["record"].(map[string]any)
						if rec == nil {
							return
						}
						if v, ok := rec[part].(map[string]any); ok {
							dropInsertedTimestamp(v, field)
						}
					})
				}
				return false
			},
		},
		Explanation{
			ID: "simpledateformat-zone-names",
			Reason: "TimestampConverter parses zone names other than UTC, UT and GMT (PST, CET, …) not at all and " +
				"fails the record; Kafka Connect resolves them through its JVM's zone data (the zone's offset in " +
				"force at that date) and then formats every later record of that SMT in that zone " +
				"(SimpleDateFormat.parse switches the formatter's zone)",
			Match: func(req *Request, kc, sl *Response, kind string) bool {
				if kind != KindSluiceFails || !isSMT(req, "TimestampConverter") || kc.Record == nil ||
					!patternHasZone(req.Config["format"]) {
					return false
				}
				m := unparseableAt.FindStringSubmatch(sl.Error)
				if m == nil {
					return false
				}
				name := zoneNameAt(m[1], m[2])
				switch strings.ToUpper(name) {
				case "", "UTC", "UT", "GMT", "Z":
					return false
				}
				return len(name) >= 2
			},
		},
		Explanation{
			ID: "simpledateformat-number-out-of-range",
			Reason: "TimestampConverter refuses a date whose numbers are beyond Java's int range or whose instant is " +
				"beyond the range of epoch milliseconds; Kafka Connect's SimpleDateFormat silently truncates the " +
				"number (intValue) and its GregorianCalendar overflows, giving an unrelated instant",
			Match: func(req *Request, kc, sl *Response, kind string) bool {
				return kind == KindSluiceFails && isSMT(req, "TimestampConverter") && kc.Record != nil &&
					(strings.Contains(sl.Error, "out of Java's int range") ||
						strings.Contains(sl.Error, "beyond the range of epoch milliseconds"))
			},
		},
		Explanation{
			ID: "simpledateformat-nan",
			Reason: "TimestampConverter refuses NaN or ∞ where a date pattern has a number; Kafka Connect's " +
				"SimpleDateFormat reads them as numbers (DecimalFormat) and takes their intValue: NaN becomes 0 " +
				"(year 0, 1 BC), ∞ Integer.MAX_VALUE",
			Match: func(req *Request, kc, sl *Response, kind string) bool {
				if kind != KindSluiceFails || !isSMT(req, "TimestampConverter") || kc.Record == nil {
					return false
				}
				m := unparseableAt.FindStringSubmatch(sl.Error)
				if m == nil {
					return false
				}
				s, err := strconv.Unquote(m[1])
				pos, err2 := strconv.Atoi(m[2])
				if err != nil || err2 != nil || pos > len(s) {
					return false
				}
				rest := strings.TrimLeft(s[pos:], " \t-")
				return strings.HasPrefix(rest, "NaN") || strings.HasPrefix(rest, "∞")
			},
		},
		Explanation{
			ID: "schemaless-collision-same-bucket",
			Reason: "where ReplaceField renames a schemaless map's key onto another kept key and the two share a " +
				"java.util.HashMap bucket, Kafka Connect keeps the one inserted last (the JSON's key order), which a " +
				"Go map does not keep; Sluice keeps the renamed one (keys in other buckets resolve as Kafka Connect's)",
			Match: func(req *Request, kc, sl *Response, kind string) bool {
				if kind != KindValue || !isSMT(req, "ReplaceField") || req.Record == nil || kc.Record == nil || sl.Record == nil {
					return false
				}
				in, schema := operatingPart(req.Record, req.Class)
				if schema != nil || in == nil || in.Map == nil {
					return false
				}
				target, ok := sameBucketCollision(req.Config, *in.Map)
				if !ok {
					return false
				}
				part := "value"
				if strings.HasSuffix(req.Class, "$Key") {
					part = "key"
				}
				return agreeAfter(kc, sl, func(tree any) {
					smtDocumented(tree)
					rec, _ := tree.(map[string]any)["record"].(map[string]any)
					if rec == nil {
						return
					}
					if v, ok := rec[part].(map[string]any); ok {
						dropMapEntry(v, target)
					}
				})
			},
		},
		Explanation{
			ID: "replacefield-rename-decimal-scale",
			Reason: "where ReplaceField reads a kept field's value from another field through the inverted renames " +
				"(renames=a:x on a struct that keeps x), Sluice refuses a Decimal whose scale differs from the output " +
				"field's schema; Kafka Connect's Struct.put checks only the Java class, so it writes a Decimal its own " +
				"converters then refuse (\"BigDecimal has mismatching scale value\")",
			Match: func(req *Request, kc, sl *Response, kind string) bool {
				return kind == KindSluiceFails && isSMT(req, "ReplaceField") && kc.Record != nil &&
					strings.Contains(req.Config["renames"], ":") &&
					regexp.MustCompile(`Decimal has scale -?\d+, schema has scale -?\d+`).MatchString(sl.Error)
			},
		},
	)
}

// sameBucketCollision returns the rename target that two or more kept
// string keys of the schemaless map entries are renamed onto (a key renamed
// onto another that stays, or two keys renamed alike) when the last of them
// in java.util.HashMap order share their bucket. cfg is ReplaceField's configuration.
func sameBucketCollision(cfg map[string]string, entries [][2]*Value) (string, bool) {
	list := func(key string) []string {
		var out []string
		for _, m := range strings.Split(strings.Trim(cfg[key], javaTrimSet), ",") {
			if m = strings.Trim(m, " \t\n\v\f\r"); m != "" {
				out = append(out, m)
			}
		}
		return out
	}
	ren := map[string]string{}
	for _, m := range list("renames") {
		if parts := strings.Split(m, ":"); len(parts) == 2 {
			ren[parts[0]] = parts[1]
		}
	}
	exclude, include := list("exclude"), list("include")
	kept := func(k string) bool {
		return !slices.Contains(exclude, k) && (len(include) == 0 || slices.Contains(include, k))
	}
	n := len(entries)
	byTarget := map[string][]string{}
	for _, e := range entries {
		if e[0] == nil || e[0].String == nil {
			continue
		}
		k := *e[0].String
		if !kept(k) {
			continue
		}
		t := k
		if r, ok := ren[k]; ok {
			t = r
		}
		byTarget[t] = append(byTarget[t], k)
	}
	for t, srcs := range byTarget {
		if len(srcs) < 2 {
			continue
		}
		// A tie when the keys iterated last share their bucket.
		last, count := -1, 0
		for _, k := range srcs {
			switch b := hashMapBucket(k, n); {
			case b > last:
				last, count = b, 1
			case b == last:
				count++
			}
		}
		if count >= 2 {
			return t, true
		}
	}
	return "", false
}

// hashMapBucket is the bucket of a String key in a java.util.HashMap of n
// entries built by put from the default capacity.
func hashMapBucket(key string, n int) int {
	size := 16
	for n > size*3/4 && size < 1<<30 {
		size *= 2
	}
	var h int32
	for _, u := range utf16.Encode([]rune(key)) {
		h = 31*h + int32(u)
	}
	h ^= int32(uint32(h) >> 16)
	return int(h) & (size - 1)
}

// dropMapEntry removes the entry with the string key from a canonical map
// value.
func dropMapEntry(v map[string]any, key string) {
	entries, ok := v["map"].([]any)
	if !ok {
		return
	}
	kept := entries[:0]
	for _, e := range entries {
		if pair, ok := e.([]any); ok && len(pair) == 2 {
			if k, ok := pair[0].(map[string]any); ok && len(k) == 1 && k["string"] == key {
				continue
			}
		}
		kept = append(kept, e)
	}
	v["map"] = kept
}

// javaTrimSet is what Java's String.trim removes: the code points up to
// U+0020.
const javaTrimSet = "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f" +
	"\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x20"

// dropInsertedTimestamp removes InsertField's timestamp field from a
// canonical value: a struct field's value becomes null, a schemaless map
// entry is dropped.
func dropInsertedTimestamp(v map[string]any, field string) {
	if st, ok := v["struct"].(map[string]any); ok {
		fields, _ := st["fields"].([]any)
		for _, f := range fields {
			if pair, ok := f.([]any); ok && len(pair) == 2 && pair[0] == field {
				pair[1] = nil
			}
		}
		return
	}
	dropMapEntry(v, field)
}

// unparseableAt matches Sluice's SimpleDateFormat parse failure: the input
// and the position where it stopped.
var unparseableAt = regexp.MustCompile(`unparseable date: ("(?:[^"\\]|\\.)*") \(at position (\d+)\)`)

// zoneNameAt returns the run of ASCII letters at byte position pos of the
// Go-quoted string quoted.
func zoneNameAt(quoted, pos string) string {
	s, err := strconv.Unquote(quoted)
	if err != nil {
		return ""
	}
	i := 0
	for _, c := range pos {
		i = i*10 + int(c-'0')
	}
	if i > len(s) {
		return ""
	}
	j := i
	for j < len(s) && (s[j] >= 'A' && s[j] <= 'Z' || s[j] >= 'a' && s[j] <= 'z') {
		j++
	}
	return s[i:j]
}

// patternHasZone reports whether a SimpleDateFormat pattern has a zone
// letter (z or Z) outside quotes.
func patternHasZone(pattern string) bool {
	quoted := false
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; {
		case c == '\'':
			quoted = !quoted
		case !quoted && (c == 'z' || c == 'Z'):
			return true
		}
	}
	return false
}
