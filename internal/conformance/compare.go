package conformance

import (
	"encoding/json"
	"slices"
	"strings"
)

// Outcome classifies one case's pair of results.
type Outcome string

// The outcomes.
const (
	// Agree: both succeeded with equal results.
	Agree Outcome = "agree"
	// FailAlike: both failed.
	FailAlike Outcome = "fail-alike"
	// Skipped: a side could not build the input (not comparable).
	Skipped Outcome = "skipped"
	// Explained: they differ in a way CONFORMANCE.md lists.
	Explained Outcome = "explained"
	// Diverge: they differ and nothing explains it.
	Diverge Outcome = "diverge"
)

// Divergence kinds.
const (
	KindBytes        = "bytes"          // both serialised, to other bytes
	KindValue        = "value"          // both succeeded, other schema/value/record
	KindSluiceFails  = "sluice-fails"   // Kafka Connect succeeded, Sluice failed
	KindSluiceAccept = "sluice-accepts" // Kafka Connect failed, Sluice succeeded
	KindConfig       = "config"         // Sluice refused a config Kafka Connect accepted
	KindSluiceInput  = "sluice-input"   // Kafka Connect built the input, Sluice could not
)

// String is the verdict's corpus form: "agree", "fail-alike", "skipped",
// "explained:<rule>" or "diverge:<kind>".
func (v Verdict) String() string {
	switch v.Outcome {
	case Explained:
		return string(v.Outcome) + ":" + v.Explanation
	case Diverge:
		return string(v.Outcome) + ":" + v.Kind
	}
	return string(v.Outcome)
}

// Verdict is the comparison of one case.
type Verdict struct {
	Outcome Outcome
	// Kind is the divergence kind (Diverge and Explained).
	Kind string
	// Explanation names the CONFORMANCE.md rule (Explained).
	Explanation string
}

// Compare compares Kafka Connect's response kc with Sluice's sl for req.
func Compare(req *Request, kc, sl *Response) Verdict {
	if kc.InputError != "" {
		// Kafka Connect itself refuses the input (an empty field name, a
		// default its SchemaBuilder rejects): nothing to compare.
		return Verdict{Outcome: Skipped}
	}
	kc, sl = nullBack(req, kc), nullBack(req, sl)
	kind := KindSluiceInput
	if sl.InputError == "" {
		kind = diffKind(kc, sl)
	}
	if kind == "" {
		if kc.Error != "" {
			return Verdict{Outcome: FailAlike}
		}
		return Verdict{Outcome: Agree}
	}
	for _, e := range explanations {
		if e.Match(req, kc, sl, kind) {
			return Verdict{Outcome: Explained, Kind: kind, Explanation: e.ID}
		}
	}
	return Verdict{Outcome: Diverge, Kind: kind}
}

// nullBack treats a read that returned no SchemaAndValue at all (Kafka
// Connect's SimpleHeaderConverter returns null for "null", which the worker
// adds as a null header) as (null, null).
func nullBack(req *Request, r *Response) *Response {
	if r.Back != nil || r.Error != "" || r.InputError != "" || r.HarnessError != "" {
		return r
	}
	switch req.Op {
	case OpConvert, OpParse, OpHeaderConvert, OpHeaderParse:
		c := *r
		c.Back = &SchemaValue{}
		return &c
	}
	return r
}

// diffKind returns "" when kc and sl agree (or both failed), else the kind
// of divergence.
func diffKind(kc, sl *Response) string {
	switch {
	case kc.Error != "" && sl.Error != "":
		// Both failed. Refusing a config Kafka Connect takes is a
		// divergence even when the record then fails in Kafka Connect.
		if sl.Phase == "configure" && kc.Phase != "configure" {
			return KindConfig
		}
		// Serialised alike but one side failed to read back is a value
		// divergence, caught below; failing in different phases of one
		// round trip is otherwise alike.
		if kc.Phase == "to" && sl.Phase == "to" && !equalBytes(kc.Bytes, sl.Bytes) {
			return KindBytes
		}
		// Kafka Connect refused to write what Sluice wrote and then could
		// not read back: Sluice let unreadable data through.
		if kc.Phase == "from" && sl.Phase == "to" {
			return KindSluiceAccept
		}
		return ""
	case kc.Error == "" && sl.Error != "":
		if sl.Phase == "configure" {
			return KindConfig
		}
		if sl.Phase == "to" && !equalBytes(kc.Bytes, sl.Bytes) {
			return KindBytes
		}
		return KindSluiceFails
	case kc.Error != "" && sl.Error == "":
		if kc.Phase == "to" && !equalBytes(kc.Bytes, sl.Bytes) {
			return KindBytes
		}
		return KindSluiceAccept
	}
	if !equalBytes(kc.Bytes, sl.Bytes) {
		return KindBytes
	}
	if Canonical(kc.Back) != Canonical(sl.Back) || Canonical(kc.Record) != Canonical(sl.Record) ||
		Canonical(kc.Result) != Canonical(sl.Result) {
		return KindValue
	}
	return ""
}

func equalBytes(a, b *string) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// Canonical is the comparable text of a result part: JSON with every map's
// entries sorted (map order is not part of a value).
func Canonical(x any) string {
	b, err := json.Marshal(x)
	if err != nil {
		return "!" + err.Error()
	}
	var tree any
	if err := json.Unmarshal(b, &tree); err != nil {
		return "!" + err.Error()
	}
	sortMaps(tree)
	out, _ := json.Marshal(tree)
	return string(out)
}

// sortMaps sorts the entries of every tagged map ({"map": [[k, v], ...]})
// in tree by the canonical text of their keys.
func sortMaps(x any) {
	switch t := x.(type) {
	case map[string]any:
		for k, v := range t {
			sortMaps(v)
			if k != "map" {
				continue
			}
			entries, ok := v.([]any)
			if !ok {
				continue
			}
			slices.SortStableFunc(entries, func(a, b any) int {
				return strings.Compare(entryKey(a), entryKey(b))
			})
		}
	case []any:
		for _, e := range t {
			sortMaps(e)
		}
	}
}

func entryKey(e any) string {
	pair, ok := e.([]any)
	if !ok || len(pair) == 0 {
		return ""
	}
	b, _ := json.Marshal(pair[0])
	return string(b)
}

// Explanation is one CONFORMANCE.md line as a rule: it matches the
// divergences that line explains.
type Explanation struct {
	// ID is the rule's name, as CONFORMANCE.md lists it.
	ID string
	// Reason is the one-line reason.
	Reason string
	// Match reports whether the rule explains the divergence of the given
	// kind between kc and sl for req.
	Match func(req *Request, kc, sl *Response, kind string) bool
}
