// Package runner supervises Sluice pipelines the way a Kafka Connect worker
// supervises connectors, inside the application's own process.
//
// A Runner holds any number of connectors, each a [connect.Pipeline] (a
// source.Pipeline or sink.Pipeline, or any implementation of the contract)
// with its own lifecycle: adding, reconfiguring, pausing, stopping,
// restarting or removing one never touches another. Pipelines come from two
// places:
//
//   - built in Go: [Runner.AddPipeline] takes a [BuildFunc] that returns a
//     new pipeline (e.g. from source.New or sink.New); the Runner calls it
//     again for every (re)start, since a pipeline runs once;
//   - built from Kafka Connect properties: [Runner.Register] a
//     [connect.Plugin] (source.Plugin and sink.Plugin make one from a task
//     constructor), then [Runner.CreateConnector] or PUT
//     /connectors/{name}/config with a connector.class naming it.
//
// [New] makes a Runner from a [Config] whose zero value is usable; [Runner.Run]
// starts the connectors and blocks until its context is done, then stops
// every pipeline (each drains and commits as its contract says) and returns
// once every goroutine it started has exited.
//
// Configurations may hold Kafka Connect's config provider references
// (${file:/path:key}, ${env:VAR}, ${dir:/path:file}, or ${name:path:key}
// for a provider written in Go): the Worker properties' config.providers
// keys and [Config.ConfigProviders] declare the providers (see package
// connect/configprovider). The Runner keeps and shows configurations as
// written and resolves the references each time it builds a connector.
//
// Status is computed live from each pipeline when asked ([Runner.Status]),
// never cached, and tells what Kafka Connect's does not: a RUNNING task that
// has work but delivers nothing for [Config.StallAfter], or keeps retrying a
// transient fault, is reported stalled, with the error it keeps getting.
//
// [Runner.Handler] serves Kafka Connect's REST API (same paths, JSON shapes
// and status codes; GET / reports [Version]), so that curl runbooks, UIs and
// operators written for Kafka Connect work against a Sluice process. Given a
// [Config.MeterProvider], the Runner publishes Kafka Connect's metrics
// through OpenTelemetry under the names Kafka Connect uses (see [MeterName]).
//
// The Runner's errors match the sentinels ErrConnectorNotFound,
// ErrConnectorExists, ErrTaskNotFound, ErrPluginNotFound, ErrInvalidConfig
// and ErrStopped, and connect's ErrNotStopped and ErrOffsetsUnsupported
// (test with errors.Is); the REST handler maps them to Kafka Connect's
// status codes.
//
// This package imports neither package source nor package sink: it
// supervises them through package connect's contract. It is kept apart from
// connect so that converter and transformation authors link neither
// net/http nor OpenTelemetry.
package runner
