package connect

import (
	"context"
	"log/slog"
)

// This file holds the part of the Runner's contract that pipelines and
// plugin builders implement or return (package connect/runner supervises
// them): plugin descriptors, the optional pipeline capabilities, and the
// logger a Runner hands to builders.

// Plugin makes pipelines from Kafka Connect properties: a Runner (package
// connect/runner) registers it, looks it up by a connector config's
// connector.class (the Class, an Alias, the class's simple name, or the
// simple name without a "Connector" suffix, as Kafka Connect does) and calls
// New. source.Plugin and sink.Plugin return one.
type Plugin struct {
	// Class is the connector class name, e.g.
	// "org.apache.kafka.connect.file.FileStreamSourceConnector" or
	// "com.example.MySource". Required.
	Class string
	// Aliases are further names connector.class may use.
	Aliases []string
	// Type is TypeSource or TypeSink. Required.
	Type string
	// Version is shown by GET /connector-plugins and as the "version" of
	// the connector's and its tasks' REST statuses; when empty, the
	// Runner's version (its Config.Version, Sluice's by default) is shown.
	Version string
	// TaskClass is the class name of the connector's tasks, which the
	// Runner adds to every task configuration as "task.class", as Kafka
	// Connect's Worker does (GET /connectors/{name}/tasks, the config
	// topic), e.g. "org.apache.kafka.connect.file.FileStreamSourceTask".
	// Empty: no task.class is added.
	TaskClass string
	// New builds a pipeline (not yet run) from the worker properties and
	// the connector's configuration (both copies the plugin may keep). It
	// is called for every (re)start; ctx is for the build only and carries
	// the connector's logger (ContextLogger). Required.
	New func(ctx context.Context, worker, connector map[string]string) (Pipeline, error)
	// Validate optionally checks a connector configuration beyond the
	// framework keys the Runner checks itself (name, connector.class,
	// tasks.max, errors.*, topics/topics.regex for sinks). It must not
	// have side effects.
	Validate func(connector map[string]string) []ConfigIssue
	// Config optionally describes the connector's own configuration keys
	// (GET /connector-plugins/{plugin}/config and the validate endpoint).
	Config []ConfigKey
	// PasswordKeys are keys whose values are secret, masked in every
	// response and log line in addition to those IsPasswordKey recognises
	// and Config keys of type PASSWORD.
	PasswordKeys []string
}

// ConfigIssue is one problem Plugin.Validate found: Key names the property,
// Message says what is wrong.
type ConfigIssue struct {
	Key, Message string
}

// ConfigKey describes one configuration key, as Kafka Connect's
// ConfigKeyInfo.
type ConfigKey struct {
	Name string
	// Type is Kafka's ConfigDef type: STRING, INT, LONG, SHORT, DOUBLE,
	// BOOLEAN, LIST, CLASS or PASSWORD (default STRING).
	Type string
	// Required keys have no default value.
	Required bool
	Default  string
	// Importance is HIGH, MEDIUM or LOW (default MEDIUM).
	Importance    string
	Documentation string
	Group         string
	Order         int
	// Width is NONE, SHORT, MEDIUM or LONG (default NONE).
	Width       string
	DisplayName string
	Dependents  []string
	// Recommended values, if any.
	Recommended []string
}

// TaskRestarter is implemented by pipelines that can restart one task in
// place. Without it, restarting a task restarts the whole pipeline.
type TaskRestarter interface {
	RestartTask(id int) error
}

// TaskConfigLister is implemented by pipelines that know each task's
// configuration (e.g. after a source Connector split the connector's); GET
// /connectors/{name}/tasks shows them. Without it, every task is shown with
// the connector's configuration.
type TaskConfigLister interface {
	TaskConfigs() []map[string]string
}

type loggerKey struct{}

// ContextWithLogger returns a copy of ctx carrying l, for ContextLogger. A
// Runner (package connect/runner) calls it for the context it passes to a
// BuildFunc or Plugin New; code that builds pipelines itself may use it the
// same way.
func ContextWithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// ContextLogger returns the logger a Runner put in a BuildFunc's or Plugin
// New's context (the Runner's logger, see ContextWithLogger), or
// slog.Default() when there is none. Pipelines built there should log
// through it; source and sink pipelines add the connector and task
// attributes themselves.
func ContextLogger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok && l != nil {
		return l
	}
	return slog.Default()
}
