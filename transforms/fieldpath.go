package transforms

import (
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/connect"
)

// FieldSyntax is the syntax of field paths (Kafka Connect's
// field.syntax.version, KIP-821).
type FieldSyntax uint8

// Field path syntaxes. The zero value is FieldSyntaxV1.
const (
	// FieldSyntaxV1 treats the whole path as one top-level field name, dots
	// included.
	FieldSyntaxV1 FieldSyntax = iota
	// FieldSyntaxV2 splits the path on dots to reach nested fields; a field
	// name containing dots is quoted with backticks (`a.b`.c), and a
	// backtick inside a quoted name is escaped with a backslash.
	FieldSyntaxV2
)

// String returns "V1" or "V2".
func (v FieldSyntax) String() string {
	if v == FieldSyntaxV2 {
		return "V2"
	}
	return "V1"
}

func parseFieldSyntax(p *props) FieldSyntax {
	v := p.str("field.syntax.version", "V1")
	switch strings.ToUpper(v) {
	case "V1":
		return FieldSyntaxV1
	case "V2":
		return FieldSyntaxV2
	}
	p.fail("field.syntax.version", "invalid value %q: must be one of V1, V2", v)
	return FieldSyntaxV1
}

// fieldPath is a parsed single field path.
type fieldPath struct {
	text  string
	steps []string
}

func parseFieldPath(text string, syntax FieldSyntax) (fieldPath, error) {
	if syntax != FieldSyntaxV2 {
		return fieldPath{text, []string{text}}, nil
	}
	steps, err := splitPathV2(text)
	return fieldPath{text, steps}, err
}

// splitPathV2 splits a V2 path into steps, following KIP-821: dots separate
// steps; a step starting with a backtick extends to the next backtick that is
// followed by a dot or ends the path, and "\`" inside it is a literal
// backtick.
func splitPathV2(path string) ([]string, error) {
	var steps []string
	idx := 0
	for idx < len(path) {
		if path[idx] != '`' {
			start := idx
			dot := strings.IndexByte(path[idx:], '.')
			if dot >= 0 {
				steps = append(steps, path[start:idx+dot])
				idx += dot + 1
			} else {
				steps = append(steps, path[start:])
				idx = len(path)
			}
			continue
		}
		backtickAt := idx
		idx++
		var field strings.Builder
		start := idx
		for {
			next := strings.IndexByte(path[idx:], '`')
			if next < 0 {
				return nil, incompleteBacktick(path, backtickAt)
			}
			idx += next
			escaped := path[idx-1] == '\\'
			if idx >= len(path)-1 { // closing backtick ends the path
				if escaped {
					return nil, incompleteBacktick(path, backtickAt)
				}
				field.WriteString(path[start:idx])
				steps = append(steps, field.String())
				idx++
				break
			}
			if path[idx+1] != '.' { // not followed by a dot: part of the name
				idx++
				continue
			}
			if escaped {
				field.WriteString(path[start : idx-1])
				field.WriteByte('`')
				idx++
				start = idx
				continue
			}
			field.WriteString(path[start:idx])
			steps = append(steps, field.String())
			idx += 2
			break
		}
	}
	if path == "" || path[len(path)-1] == '.' {
		steps = append(steps, "")
	}
	return steps, nil
}

func incompleteBacktick(path string, at int) error {
	return fmt.Errorf("incomplete backtick pair in path: [%s], consider adding a backslash before backtick at position %d to escape it", path, at)
}

// fieldFrom returns the field the path designates in schema, or nil.
func (p fieldPath) fieldFrom(schema *connect.Schema) *connect.Field {
	cur := schema
	for _, step := range p.steps[:len(p.steps)-1] {
		f := cur.Field(step)
		if f == nil {
			return nil
		}
		cur = f.Schema
	}
	return cur.Field(p.steps[len(p.steps)-1])
}

// valueFromStruct returns the value at the path, or nil when a step is
// missing or null.
func (p fieldPath) valueFromStruct(st *connect.Struct, replaceNull bool) (any, error) {
	cur := st
	for _, step := range p.steps[:len(p.steps)-1] {
		f := cur.Schema().Field(step)
		if f == nil {
			return nil, nil
		}
		next, err := requireStructOrNull(fieldValue(cur, f, replaceNull), "nested field access")
		if err != nil || next == nil {
			return nil, err
		}
		cur = next
	}
	f := cur.Schema().Field(p.steps[len(p.steps)-1])
	if f == nil {
		return nil, nil
	}
	return fieldValue(cur, f, replaceNull), nil
}

// valueFromMap returns the value at the path, or nil when a step is missing.
func (p fieldPath) valueFromMap(m map[string]any) (any, error) {
	cur := m
	for _, step := range p.steps[:len(p.steps)-1] {
		next, err := requireMapOrNull(cur[step], "nested field access")
		if err != nil || next == nil {
			return nil, err
		}
		cur = next
	}
	return cur[p.steps[len(p.steps)-1]], nil
}
