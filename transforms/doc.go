// Package transforms holds single-message transforms (SMTs): the
// Transformation and Predicate contracts, the Chain that applies them in order
// (each optionally gated by a predicate and negate), Kafka Connect's built-in
// SMTs and predicates, and the parsing of transforms=… / predicates=…
// properties.
package transforms
