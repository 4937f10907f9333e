package transforms

import (
	"context"

	"github.com/sluicehq/sluice/connect"
)

// Transformation changes one record. Apply returns the record to pass on,
// which may be rec itself modified in place, or nil to drop the record.
//
// Apply may overwrite the top-level fields of *rec (the runtime hands each
// chain its own copy of the record), but must not modify anything rec points
// to (a Struct, a map, a slice, the Headers' backing array): those may be
// shared with the record the task produced, which the runtime still needs.
// To change headers, assign rec.Headers = rec.Headers.Clone() first.
//
// Implementations must be safe for concurrent use. An error fails this record
// in the TRANSFORMATION stage, handled under errors.tolerance; wrap it with
// connect.Retriable to have it retried.
type Transformation interface {
	Apply(ctx context.Context, rec *connect.Record) (*connect.Record, error)
}

// Predicate decides whether a transformation applies to a record. It must not
// modify rec and must be safe for concurrent use. An error is a
// TRANSFORMATION stage failure.
type Predicate interface {
	Test(ctx context.Context, rec *connect.Record) (bool, error)
}

// TransformationFunc adapts a function to Transformation.
type TransformationFunc func(ctx context.Context, rec *connect.Record) (*connect.Record, error)

// Apply calls f.
func (f TransformationFunc) Apply(ctx context.Context, rec *connect.Record) (*connect.Record, error) {
	return f(ctx, rec)
}

// PredicateFunc adapts a function to Predicate.
type PredicateFunc func(ctx context.Context, rec *connect.Record) (bool, error)

// Test calls f.
func (f PredicateFunc) Test(ctx context.Context, rec *connect.Record) (bool, error) {
	return f(ctx, rec)
}
