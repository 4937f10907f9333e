package converters

import (
	"hash/maphash"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/boundedmap"
)

// schemaTextCache maps the JSON text of an envelope's schema to the parsed
// schema. It is keyed by a hash of the text, so a lookup does not allocate;
// each entry keeps the text to rule out hash collisions.
type schemaTextCache struct {
	seed maphash.Seed
	m    *boundedmap.Map[uint64, *schemaText]
}

type schemaText struct {
	text   string
	schema *connect.Schema
}

func newSchemaTextCache(max int) *schemaTextCache {
	return &schemaTextCache{seed: maphash.MakeSeed(), m: boundedmap.New[uint64, *schemaText](max)}
}

func (c *schemaTextCache) load(text []byte) (*schemaText, bool) {
	e, ok := c.m.Load(maphash.Bytes(c.seed, text))
	if !ok || e.text != string(text) {
		return nil, false
	}
	return e, true
}

func (c *schemaTextCache) store(text []byte, s *connect.Schema) *schemaText {
	e := &schemaText{text: string(text), schema: s}
	c.m.Store(maphash.Bytes(c.seed, text), e)
	return e
}
