package conformance

import (
	"math/big"
	"strings"
)

// SMT divergences CONFORMANCE.md explains (Cast, MaskField; the other SMTs
// of this file's slice — DropHeaders, ExtractField, HoistField, RegexRouter,
// SetSchemaMetadata, ValueToKey, Filter and the predicates — have none).
func init() {
	explain(
		Explanation{
			ID: "record-timestamp-go-zero",
			Reason: "a record timestamp of 0001-01-01T00:00:00Z (-62135596800000 ms) is Go's zero time, which " +
				"connect.Record reads as \"no timestamp\": an SMT's output record has none where Kafka Connect's " +
				"keeps that instant",
			Match: func(req *Request, kc, sl *Response, kind string) bool {
				return kind == KindValue && hasGoZeroTimestamp(req) && kc.Record != nil && sl.Record != nil &&
					agreeAfter(kc, sl, smtDocumented)
			},
		},
		Explanation{
			ID: "cast-java17-float-digits",
			Reason: "Cast of a float32/float64 to string writes the shortest text that reads back to the same number, " +
				"as Java 19+ does (JDK-4511638); Java 17's Float/Double.toString sometimes writes one more digit " +
				"(7.8292792178068352E17 for 7.829279217806835E17)",
			Match: func(req *Request, kc, sl *Response, kind string) bool {
				if kind != KindValue || !isSMT(req, "Cast") || !strings.Contains(strings.ToLower(req.Config["spec"]), "string") {
					return false
				}
				a, b := rewrite(kc, smtDocumented), rewrite(sl, smtDocumented)
				return a != nil && b != nil && a.Record != nil && b.Record != nil &&
					sameUpToFloatDigits(Canonical(a.Record), Canonical(b.Record))
			},
		},
		Explanation{
			ID: "maskfield-tombstone",
			Reason: "MaskField passes a null key or value (a tombstone) through unchanged; Kafka Connect fails the " +
				"record (\"Only Struct/Map objects supported ..., found: null\"), so a compacted topic's deletes " +
				"could not pass a MaskField chain",
			Match: func(req *Request, kc, sl *Response, kind string) bool {
				if kind != KindSluiceAccept || !isSMT(req, "MaskField") || req.Record == nil || sl.Record == nil {
					return false
				}
				in, _ := operatingPart(req.Record, req.Class)
				out, _ := operatingPart(sl.Record, req.Class)
				return in == nil && out == nil && strings.HasSuffix(kc.Error, "found: null")
			},
		},
		Explanation{
			ID: "maskfield-bytes",
			Reason: "MaskField masks a BYTES field to empty bytes; Kafka Connect has no empty value for byte[] and " +
				"fails the record (\"Cannot mask value of type: class [B\")",
			Match: func(req *Request, kc, sl *Response, kind string) bool {
				return kind == KindSluiceAccept && isSMT(req, "MaskField") && req.Config["replacement"] == "" &&
					strings.Contains(kc.Error, "Cannot mask value of type: class [B")
			},
		},
		Explanation{
			ID: "maskfield-decimal-scale",
			Reason: "MaskField gives a Decimal field's mask (0 or the replacement) the field's scale; Kafka Connect " +
				"puts BigDecimal.ZERO or new BigDecimal(replacement) with its own scale into the struct, a value whose " +
				"scale contradicts its schema (Kafka Connect's own Decimal.fromLogical then refuses it); a replacement " +
				"that cannot take the field's scale without rounding fails the record",
			Match: func(req *Request, kc, sl *Response, kind string) bool {
				if !isSMT(req, "MaskField") {
					return false
				}
				switch kind {
				case KindSluiceFails:
					return req.Config["replacement"] != "" && (strings.Contains(sl.Error, "cannot be rescaled") ||
						strings.Contains(sl.Error, "cannot be given the field's scale"))
				case KindValue:
					// Only when a Decimal's scale is what differs (the
					// other rules explain the rest).
					return !agreeAfter(kc, sl, smtDocumented) && agreeAfter(kc, sl, func(tree any) {
						normaliseDecimals(tree)
						smtDocumented(tree)
					})
				}
				return false
			},
		},
		Explanation{
			ID: "cast-whole-value-logical-name",
			Reason: "Cast to a whole-value type does not copy a logical type's name, version, doc and parameters " +
				"(Decimal, Date, Time, Timestamp) onto the cast schema; Kafka Connect copies them, making e.g. an INT8 " +
				"schema named org.apache.kafka.connect.data.Decimal, which no converter can read as a Decimal (and " +
				"failing the record when the schema has a default)",
			Match: func(req *Request, kc, sl *Response, kind string) bool {
				if !isSMT(req, "Cast") || strings.Contains(req.Config["spec"], ":") || req.Record == nil {
					return false
				}
				_, in := operatingPart(req.Record, req.Class)
				if in == nil || !isLogicalSchema(in) {
					return false
				}
				if kind == KindSluiceAccept {
					// The copied logical name makes Kafka Connect refuse
					// the cast default (a Float is no java.util.Date).
					return in.Default != nil && strings.Contains(kc.Error, "Invalid default value")
				}
				if kind != KindValue || agreeAfter(kc, sl, smtDocumented) {
					return false
				}
				return agreeAfter(kc, sl, func(tree any) {
					rec, _ := tree.(map[string]any)["record"].(map[string]any)
					if rec == nil {
						return
					}
					name := "valueSchema"
					if strings.HasSuffix(req.Class, "$Key") {
						name = "keySchema"
					}
					if s, ok := rec[name].(map[string]any); ok {
						s["name"], s["version"], s["doc"], s["parameters"] = nil, nil, nil, nil
					}
					smtDocumented(tree)
				})
			},
		},
	)
}

// isSMT reports whether req is a transform request for the SMT called name
// (either variant).
func isSMT(req *Request, name string) bool {
	c := strings.TrimPrefix(req.Class, smtPkg)
	return c == name || c == name+"$Key" || c == name+"$Value"
}

// operatingPart returns the value and schema of the part an SMT class
// works on: the key for $Key, else the value.
func operatingPart(r *Record, class string) (*Value, *Schema) {
	if strings.HasSuffix(class, "$Key") {
		return r.Key, r.KeySchema
	}
	return r.Value, r.ValueSchema
}

// isLogicalSchema reports whether s is one of Connect's logical types.
func isLogicalSchema(s *Schema) bool {
	if s.Name == nil {
		return false
	}
	switch *s.Name {
	case "org.apache.kafka.connect.data.Decimal":
		return s.Type == "BYTES"
	case "org.apache.kafka.connect.data.Date", "org.apache.kafka.connect.data.Time":
		return s.Type == "INT32"
	case "org.apache.kafka.connect.data.Timestamp":
		return s.Type == "INT64"
	}
	return false
}

// normaliseDecimals rewrites every decimal value in tree to its smallest
// scale (trailing zeros of the unscaled value removed), so that values equal
// as numbers compare equal whatever their scale.
func normaliseDecimals(tree any) {
	walk(tree, func(obj map[string]any) {
		d, ok := obj["decimal"].(map[string]any)
		if !ok {
			return
		}
		u, ok1 := d["unscaled"].(string)
		scale, ok2 := d["scale"].(float64)
		n, ok3 := new(big.Int).SetString(u, 10)
		if !ok1 || !ok2 || !ok3 {
			return
		}
		s := int64(scale)
		ten, r := big.NewInt(10), new(big.Int)
		if n.Sign() == 0 {
			s = 0
		}
		for n.Sign() != 0 {
			q, m := new(big.Int).QuoRem(n, ten, r)
			if m.Sign() != 0 {
				break
			}
			n, s = q, s-1
		}
		d["unscaled"], d["scale"] = n.String(), float64(s)
	})
}

// goZeroMillis is Go's zero time.Time in Unix milliseconds.
const goZeroMillis = "-62135596800000"

// hasGoZeroTimestamp reports whether req's record has Go's zero time as its
// timestamp.
func hasGoZeroTimestamp(req *Request) bool {
	return req.Record != nil && req.Record.Timestamp != nil && *req.Record.Timestamp == goZeroMillis
}

// smtDocumented normalises the differences every SMT case may show besides
// its own: Go's zero timestamp read as none (record-timestamp-go-zero) and
// empty schema metadata read as absent (schema-empty-metadata).
func smtDocumented(tree any) {
	if obj, ok := tree.(map[string]any); ok {
		if rec, ok := obj["record"].(map[string]any); ok && rec["timestamp"] == goZeroMillis {
			rec["timestamp"] = nil
		}
	}
	emptyMetadataAbsent(tree)
}

// emptyMetadataAbsent applies the schema-empty-metadata rule's
// normalisation ("" names and docs and 0 versions read as absent), so that
// a case showing that documented difference as well as one of this file's
// is explained.
func emptyMetadataAbsent(tree any) {
	walk(tree, func(obj map[string]any) {
		if !isSchema(obj) {
			return
		}
		if obj["name"] == "" {
			obj["name"] = nil
		}
		if obj["doc"] == "" {
			obj["doc"] = nil
		}
		if v, ok := obj["version"].(float64); ok && v == 0 {
			obj["version"] = nil
		}
	})
}
