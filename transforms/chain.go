package transforms

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"

	"github.com/sluicehq/sluice/connect"
)

// Stage is one entry of a Chain: a transformation, optionally gated by a
// predicate. The transformation applies to a record when Predicate is nil, or
// when Negate XOR Predicate.Test(record) is true — Kafka Connect's
// transforms.<alias>.predicate / transforms.<alias>.negate.
type Stage struct {
	// Alias names the stage in errors (Kafka Connect's transform alias). If
	// empty, NewChain uses the stage's index ("0", "1", …).
	Alias string
	// Transformation is applied to the record; it must not be nil.
	Transformation Transformation
	// Class is the transformation's type name reported in errors
	// (ChainError). If empty, NewChain uses the Go type name of
	// Transformation. ParseChain sets it to the configured type, e.g.
	// "org.apache.kafka.connect.transforms.InsertField$Value" or an alias
	// such as "InsertField$Value". The runtime's DLQ header
	// __connect.errors.class.name names the Transformation itself, by
	// connect.ClassName: a built-in's canonical Kafka Connect class,
	// whatever name the configuration used.
	Class string

	// Predicate, when non-nil, gates the transformation.
	Predicate Predicate
	// PredicateAlias names the predicate in errors (Kafka Connect's
	// predicate alias). If empty, NewChain uses Alias + "-predicate".
	PredicateAlias string
	// PredicateClass is the predicate's type name reported in errors;
	// defaults to the Go type name of Predicate.
	PredicateClass string
	// Negate inverts the predicate: the transformation applies to records
	// for which the predicate is false. It requires a Predicate.
	Negate bool
}

// Chain applies transformations to records in order. A stage returning nil
// drops the record and ends the chain. A nil or empty Chain passes records
// through unchanged. It works on source and sink records alike.
//
// A Chain is immutable once built and safe for concurrent use by many
// goroutines (its transformations and predicates must be, as their contracts
// require). Apply does not allocate.
type Chain struct {
	stages []Stage
}

// NewChain builds a chain from stages, applied in the order given. It fails
// if a stage has no Transformation, sets Negate without a Predicate, or
// repeats another stage's alias.
func NewChain(stages ...Stage) (*Chain, error) {
	c := &Chain{stages: make([]Stage, len(stages))}
	seen := make(map[string]bool, len(stages))
	var errs []error
	for i, s := range stages {
		if s.Alias == "" {
			s.Alias = strconv.Itoa(i)
		}
		if seen[s.Alias] {
			errs = append(errs, configErr("transforms", "duplicate alias %q", s.Alias))
		}
		seen[s.Alias] = true
		prefix := "transforms." + s.Alias
		if s.Transformation == nil {
			errs = append(errs, configErr(prefix+".type", "no transformation"))
		} else if s.Class == "" {
			s.Class = fmt.Sprintf("%T", s.Transformation)
		}
		if s.Predicate == nil {
			if s.Negate {
				errs = append(errs, configErr(prefix+".negate", "negate requires a predicate"))
			}
		} else {
			if s.PredicateClass == "" {
				s.PredicateClass = fmt.Sprintf("%T", s.Predicate)
			}
			if s.PredicateAlias == "" {
				s.PredicateAlias = s.Alias + "-predicate"
			}
		}
		c.stages[i] = s
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// Len returns the number of stages.
func (c *Chain) Len() int {
	if c == nil {
		return 0
	}
	return len(c.stages)
}

// Stages returns a copy of the chain's stages, in order.
func (c *Chain) Stages() []Stage {
	if c == nil {
		return nil
	}
	return append([]Stage(nil), c.stages...)
}

// Apply runs rec through the chain. It returns the transformed record, or
// nil when a stage dropped it. rec is the runtime's own copy of the record:
// stages may overwrite its top-level fields (see Transformation).
//
// An error from a predicate or transformation stops the chain and is returned
// as a *ChainError naming the stage; the runtime reports it as a
// TRANSFORMATION stage failure under errors.tolerance (retried when the cause
// is connect.Retriable).
func (c *Chain) Apply(ctx context.Context, rec *connect.Record) (*connect.Record, error) {
	if c == nil || rec == nil {
		return rec, nil
	}
	for i := range c.stages {
		s := &c.stages[i]
		if s.Predicate != nil {
			ok, err := s.Predicate.Test(ctx, rec)
			if err != nil {
				return nil, &ChainError{Alias: s.Alias, Predicate: s.PredicateAlias, Class: s.PredicateClass, Component: s.Predicate, Err: err}
			}
			if ok == s.Negate {
				continue
			}
		}
		out, err := s.Transformation.Apply(ctx, rec)
		if err != nil {
			return nil, &ChainError{Alias: s.Alias, Class: s.Class, Component: s.Transformation, Err: err}
		}
		if out == nil {
			return nil, nil
		}
		rec = out
	}
	return rec, nil
}

// Close closes every transformation and predicate of the chain that
// implements io.Closer (a component shared by several stages, such as a
// predicate built once by ParseChain, is closed once) and returns their errors joined. The chain must not be used afterwards.
func (c *Chain) Close() error {
	if c == nil {
		return nil
	}
	var errs []error
	var closed []any
	closeOnce := func(v any, what, alias string) {
		cl, ok := v.(io.Closer)
		if !ok {
			return
		}
		// Close a component shared by several stages once; only pointers
		// have an identity to compare.
		if reflect.TypeOf(v).Kind() == reflect.Pointer {
			for _, o := range closed {
				if o == v {
					return
				}
			}
			closed = append(closed, v)
		}
		if err := cl.Close(); err != nil {
			errs = append(errs, fmt.Errorf("transforms: closing %s %q: %w", what, alias, err))
		}
	}
	for i := range c.stages {
		s := &c.stages[i]
		closeOnce(s.Transformation, "transformation", s.Alias)
		if s.Predicate != nil {
			closeOnce(s.Predicate, "predicate", s.PredicateAlias)
		}
	}
	return errors.Join(errs...)
}

// ChainError is the error Chain.Apply returns when a stage fails. It names
// the stage and the failing component so that the runtime can build a
// connect.RecordError with Stage TRANSFORMATION and Class = e.Class. Unwrap
// returns the cause, so errors.Is/As and connect.IsRetriable see through it.
type ChainError struct {
	// Alias is the alias of the failing stage (transformation).
	Alias string
	// Predicate is the alias of the stage's predicate when the predicate
	// failed, "" when the transformation failed.
	Predicate string
	// Class is the failing component's type name (configured type for
	// property-built chains, Go type name otherwise).
	Class string
	// Component is the failing Transformation or Predicate.
	Component any
	// Err is the cause.
	Err error
}

// Error implements error, e.g.
// `transformation "route" (RegexRouter) failed: …` or
// `predicate "isAudit" of transformation "route" (TopicNameMatches) failed: …`.
func (e *ChainError) Error() string {
	if e.Predicate != "" {
		return fmt.Sprintf("predicate %q of transformation %q (%s) failed: %v", e.Predicate, e.Alias, e.Class, e.Err)
	}
	return fmt.Sprintf("transformation %q (%s) failed: %v", e.Alias, e.Class, e.Err)
}

// Unwrap returns the cause.
func (e *ChainError) Unwrap() error { return e.Err }
