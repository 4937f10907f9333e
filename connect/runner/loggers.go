package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/internal/cluster"
)

// LoggerAttr is the slog attribute that names the logger of a log line,
// what Kafka Connect's /admin/loggers endpoints set levels for. Sluice's
// components log with Kafka Connect's class names where a counterpart
// exists (LoggerWorker, LoggerWorkerSinkTask, …); an application's own
// loggers may use any dotted name (logger.With(runner.LoggerAttr,
// "com.example.MyTask")). A logger without the attribute is the root
// logger's. The last such attribute of a line, outside groups, counts.
const LoggerAttr = "logger"

// Logger names Sluice's components log under: Kafka Connect's classes that
// do the same work, so that a runbook's PUT /admin/loggers/<class> works
// unchanged.
const (
	LoggerWorker                  = "org.apache.kafka.connect.runtime.Worker"
	LoggerWorkerSinkTask          = "org.apache.kafka.connect.runtime.WorkerSinkTask"
	LoggerWorkerSourceTask        = "org.apache.kafka.connect.runtime.WorkerSourceTask"
	LoggerDistributedHerder       = "org.apache.kafka.connect.runtime.distributed.DistributedHerder"
	LoggerLogReporter             = "org.apache.kafka.connect.runtime.errors.LogReporter"
	LoggerDeadLetterQueueReporter = "org.apache.kafka.connect.runtime.errors.DeadLetterQueueReporter"
	LoggerRetryWithTolerance      = "org.apache.kafka.connect.runtime.errors.RetryWithToleranceOperator"
	loggerLoggers                 = "org.apache.kafka.connect.runtime.Loggers"
	loggerWorkerCoordinator       = "org.apache.kafka.connect.runtime.distributed.WorkerCoordinator"
	// RootLogger is the root logger's name: its level applies to every
	// logger no other level covers.
	RootLogger = "root"
)

// Scopes of SetLoggerLevel (PUT /admin/loggers/{logger}?scope=).
const (
	LoggerScopeWorker  = "worker"
	LoggerScopeCluster = "cluster"
)

// Errors of the logger operations; the REST handler maps them to Kafka
// Connect's codes.
var (
	ErrLoggerNotFound = errors.New("logger not found")  // 404
	ErrInvalidLevel   = errors.New("invalid log level") // 404, as Kafka Connect
)

// LoggerLevel is a logger's level, as Kafka Connect's LoggerLevel entity.
type LoggerLevel struct {
	// Level is a log4j level name: OFF, FATAL, ERROR, WARN, INFO, DEBUG,
	// TRACE or ALL.
	Level string
	// LastModified is when SetLoggerLevel last changed it; zero if never.
	LastModified time.Time
}

// log4jLevels maps Kafka Connect's (log4j's) level names onto the lowest
// slog level a logger at that level lets through.
var log4jLevels = map[string]slog.Level{
	"OFF":   slog.Level(math.MaxInt),
	"FATAL": slog.LevelError,
	"ERROR": slog.LevelError,
	"WARN":  slog.LevelWarn,
	"INFO":  slog.LevelInfo,
	"DEBUG": slog.LevelDebug,
	"TRACE": slog.LevelDebug - 4,
	"ALL":   slog.Level(math.MinInt),
}

// parseLevel is log4j's Level.getLevel: trimmed, any case.
func parseLevel(s string) (string, bool) {
	n := strings.ToUpper(strings.TrimSpace(s))
	_, ok := log4jLevels[n]
	return n, ok
}

// levelTable is an immutable view of the configured levels.
type levelTable struct {
	// configs are the namespaces with a level of their own (RootLogger's
	// always), by name.
	configs map[string]string
	// min is the lowest threshold of all configs: lines below it are
	// dropped without resolving their logger.
	min slog.Level
}

// effective resolves name's level: its own, else its longest dotted
// prefix's, else the root's (log4j's hierarchy).
func (t *levelTable) effective(name string) string {
	for n := name; n != ""; {
		if l, ok := t.configs[n]; ok {
			return l
		}
		i := strings.LastIndexByte(n, '.')
		if i < 0 {
			break
		}
		n = n[:i]
	}
	return t.configs[RootLogger]
}

// logLevels holds the Runner's logger levels, shared by every levelHandler
// derived from the Runner's logger.
type logLevels struct {
	table atomic.Pointer[levelTable]
	known sync.Map // logger names seen (string → struct{})

	mu       sync.Mutex // serializes changes
	modified map[string]time.Time
}

func newLogLevels(inner slog.Handler) *logLevels {
	root := "OFF"
	for _, n := range []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR"} {
		if inner.Enabled(context.Background(), log4jLevels[n]) {
			root = n
			break
		}
	}
	lv := &logLevels{modified: map[string]time.Time{}}
	lv.table.Store(&levelTable{configs: map[string]string{RootLogger: root}, min: log4jLevels[root]})
	for _, n := range []string{LoggerWorker, LoggerWorkerSinkTask, LoggerWorkerSourceTask, LoggerLogReporter,
		LoggerDeadLetterQueueReporter, LoggerRetryWithTolerance, loggerLoggers} {
		lv.known.Store(n, struct{}{})
	}
	return lv
}

func (lv *logLevels) see(name string) {
	if _, ok := lv.known.Load(name); !ok {
		lv.known.Store(name, struct{}{})
	}
}

// current returns the names of the current loggers: the root, the ones
// seen and the configured ones, sorted.
func (lv *logLevels) current(t *levelTable) []string {
	names := []string{RootLogger}
	lv.known.Range(func(k, _ any) bool {
		names = append(names, k.(string))
		return true
	})
	for n := range t.configs {
		names = append(names, n)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

func isRootName(name string) bool { return name == "" || strings.EqualFold(name, RootLogger) }

// set is Kafka Connect's Loggers.setLevel: it sets the level of namespace
// and of every configured namespace it is a (string) prefix of, and
// returns the current loggers under it whose level changed, sorted.
func (lv *logLevels) set(namespace, level string, now time.Time) []string {
	lv.mu.Lock()
	defer lv.mu.Unlock()
	old := lv.table.Load()
	root := isRootName(namespace)
	if root {
		namespace = RootLogger
	}
	configs := make(map[string]string, len(old.configs)+1)
	for n, l := range old.configs {
		if root || strings.HasPrefix(n, namespace) {
			l = level
		}
		configs[n] = l
	}
	configs[namespace] = level
	t := &levelTable{configs: configs, min: slog.Level(math.MaxInt)}
	for _, l := range configs {
		t.min = min(t.min, log4jLevels[l])
	}
	lv.see(namespace)
	var changed []string
	for _, n := range lv.current(t) {
		if !root && !strings.HasPrefix(n, namespace) {
			continue
		}
		prev := old.effective(n)
		if prev == "OFF" {
			prev = "" // Kafka Connect's allLevels leaves OFF loggers out
		}
		if !strings.EqualFold(prev, level) {
			lv.modified[n] = now
			changed = append(changed, n)
		}
	}
	lv.table.Store(t)
	if changed == nil {
		changed = []string{}
	}
	return changed
}

func (lv *logLevels) level(name string, t *levelTable) LoggerLevel {
	lv.mu.Lock()
	m := lv.modified[name]
	lv.mu.Unlock()
	return LoggerLevel{Level: t.effective(name), LastModified: m}
}

// levelHandler filters log lines by their logger's level (see LoggerAttr)
// before the wrapped handler sees them.
type levelHandler struct {
	inner   slog.Handler
	lv      *logLevels
	name    string // the logger of With's LoggerAttr; "" = root
	grouped bool   // a group is open: later attributes are not top-level
}

func (h *levelHandler) Enabled(ctx context.Context, l slog.Level) bool {
	if l < h.lv.table.Load().min {
		return false
	}
	return h.inner.Enabled(ctx, l)
}

func (h *levelHandler) Handle(ctx context.Context, r slog.Record) error {
	name := h.name
	if !h.grouped && r.NumAttrs() > 0 {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == LoggerAttr && a.Value.Kind() == slog.KindString {
				name = a.Value.String()
			}
			return true
		})
		if name != h.name {
			h.lv.see(name)
		}
	}
	if r.Level < log4jLevels[h.lv.table.Load().effective(name)] {
		return nil
	}
	return h.inner.Handle(ctx, r)
}

func (h *levelHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.inner = h.inner.WithAttrs(attrs)
	if !h.grouped {
		for _, a := range attrs {
			if a.Key == LoggerAttr && a.Value.Kind() == slog.KindString {
				c.name = a.Value.String()
			}
		}
		if c.name != h.name {
			h.lv.see(c.name)
		}
	}
	return &c
}

func (h *levelHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.inner = h.inner.WithGroup(name)
	c.grouped = true
	return &c
}

// LoggerLevels returns the level of every current logger whose level is
// not OFF (Kafka Connect's GET /admin/loggers): the root logger, the
// loggers Sluice's components log under, those seen in log lines and
// those SetLoggerLevel named. A logger's level is its own, else that of
// its longest dotted prefix with one, else the root's; the root's starts
// as the lowest level Config.Logger's handler is enabled for.
func (r *Runner) LoggerLevels() map[string]LoggerLevel {
	t := r.levels.table.Load()
	out := map[string]LoggerLevel{}
	for _, n := range r.levels.current(t) {
		l := r.levels.level(n, t)
		if l.Level != "OFF" {
			out[n] = l
		}
	}
	return out
}

// LoggerLevel returns one current logger's level ("root" or "" for the
// root). It fails with ErrLoggerNotFound for a logger that is not current
// (see LoggerLevels).
func (r *Runner) LoggerLevel(name string) (LoggerLevel, error) {
	t := r.levels.table.Load()
	if isRootName(name) {
		return r.levels.level(RootLogger, t), nil
	}
	if !slices.Contains(r.levels.current(t), name) {
		return LoggerLevel{}, &runnerError{kind: ErrLoggerNotFound, msg: "Logger " + name + " not found."}
	}
	return r.levels.level(name, t), nil
}

// SetLoggerLevel sets the level of the logger namespace and its children
// (Kafka Connect's PUT /admin/loggers/{namespace}): namespace gets level,
// and so does every namespace set before that starts with it ("root" or
// "": every logger). level is a log4j level name (any case): OFF, FATAL,
// ERROR, WARN, INFO, DEBUG, TRACE, ALL, mapped onto slog as ALL → every
// level, TRACE → slog.LevelDebug-4, DEBUG, INFO, WARN, ERROR and FATAL →
// slog.LevelError, OFF → nothing. Levels filter what reaches
// Config.Logger's handler; they cannot let through what that handler
// itself is not enabled for.
//
// With scope LoggerScopeWorker (or "", or anything else, as Kafka Connect)
// it sets the level on this Runner and returns the loggers whose level
// changed, sorted. With LoggerScopeCluster, in cluster mode it writes the
// level to the config topic (Kafka Connect's logger-cluster-<namespace>
// record) and every member applies it when it reads it (this one
// included, before SetLoggerLevel returns); it returns nil. Standalone,
// the cluster scope is the worker scope (as Kafka Connect's
// StandaloneHerder). It fails with ErrInvalidLevel for an unknown level.
func (r *Runner) SetLoggerLevel(ctx context.Context, namespace, level, scope string) ([]string, error) {
	canon, ok := parseLevel(level)
	if !ok {
		return nil, &runnerError{kind: ErrInvalidLevel, msg: "invalid log level '" + level + "'."}
	}
	switch strings.ToLower(scope) {
	case LoggerScopeWorker:
	case LoggerScopeCluster:
		if r.cluster != nil {
			return nil, r.cluster.putLoggerLevel(ctx, namespace, canon)
		}
		r.setWorkerLoggerLevel(namespace, canon)
		return nil, nil
	case "":
		r.levelLog.Warn("Received null scope in request to adjust logging level; will default to worker")
	default:
		r.levelLog.Warn(fmt.Sprintf("Received invalid scope '%s' in request to adjust logging level; will default to worker", scope))
	}
	return r.setWorkerLoggerLevel(namespace, canon), nil
}

func (r *Runner) setWorkerLoggerLevel(namespace, level string) []string {
	r.levelLog.Info(fmt.Sprintf("Setting level of namespace %s and children to %s", namespace, level))
	return r.levels.set(namespace, level, r.now())
}

// installLogLevels wraps log's handler in the level filter.
func installLogLevels(log *slog.Logger) (*slog.Logger, *logLevels) {
	lv := newLogLevels(log.Handler())
	return slog.New(&levelHandler{inner: log.Handler(), lv: lv}), lv
}

// --- REST ---

type restLoggerLevel struct {
	Level        string `json:"level"`
	LastModified *int64 `json:"last_modified"`
}

func toRESTLevel(l LoggerLevel) restLoggerLevel {
	out := restLoggerLevel{Level: l.Level}
	if !l.LastModified.IsZero() {
		ms := l.LastModified.UnixMilli()
		out.LastModified = &ms
	}
	return out
}

func (h restHandler) listLoggers(w http.ResponseWriter, _ *http.Request) {
	out := map[string]restLoggerLevel{}
	for n, l := range h.r.LoggerLevels() {
		out[n] = toRESTLevel(l)
	}
	writeJSON(w, http.StatusOK, out)
}

func (h restHandler) getLogger(w http.ResponseWriter, _ *http.Request, name string) {
	l, err := h.r.LoggerLevel(name)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, toRESTLevel(l))
}

func (h restHandler) setLogger(w http.ResponseWriter, req *http.Request, name string) {
	var body map[string]any
	if err := readJSON(req, &body); err != nil {
		badRequest(w, err)
		return
	}
	level, ok := body["level"].(string)
	if !ok {
		writeError(w, http.StatusBadRequest, "Desired 'level' parameter was not specified in request.")
		return
	}
	if strings.TrimSpace(level) == "" {
		// log4j's Level.getLevel throws; Kafka Connect answers 500.
		writeError(w, http.StatusInternalServerError, "Illegal null or empty Level name.")
		return
	}
	scope := req.URL.Query().Get("scope")
	changed, err := h.r.SetLoggerLevel(req.Context(), name, level, scope)
	if err != nil {
		writeErr(w, err)
		return
	}
	if strings.EqualFold(scope, LoggerScopeCluster) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, changed)
}

// clusterLoggers tracks the config topic's logger-cluster-* records a
// member has applied.
type clusterLoggers struct {
	mu      sync.Mutex
	applied map[string]string // namespace → level, as last read
}

// putLoggerLevel writes a cluster-scope level to the config topic and
// waits until this member read (and so applied) it.
func (cr *clusterRuntime) putLoggerLevel(ctx context.Context, namespace, level string) error {
	if isRootName(namespace) {
		namespace = RootLogger
	}
	err := cr.mutate(ctx, func(ctx context.Context, l *cluster.ConfigLog) error {
		return l.PutLoggerLevel(ctx, namespace, level)
	})
	if err != nil {
		return err
	}
	// Read back: apply it now rather than when the listener runs.
	cr.applyLoggerLevels(cr.configLog.Snapshot())
	return nil
}

// initLoggerLevels takes the levels the config topic held when this
// member started as read: as Kafka Connect's workers, a member applies
// only the cluster-scope levels written after it started.
func (cr *clusterRuntime) initLoggerLevels(snap cluster.ConfigSnapshot) {
	cr.loggers.mu.Lock()
	defer cr.loggers.mu.Unlock()
	cr.loggers.applied = maps.Clone(snap.LoggerLevels)
	if cr.loggers.applied == nil {
		cr.loggers.applied = map[string]string{}
	}
}

// applyLoggerLevels applies the cluster-scope levels that changed since
// the last snapshot (a level written again unchanged is not reapplied).
func (cr *clusterRuntime) applyLoggerLevels(snap cluster.ConfigSnapshot) {
	cr.loggers.mu.Lock()
	defer cr.loggers.mu.Unlock()
	if cr.loggers.applied == nil {
		return // not started
	}
	names := slices.Sorted(maps.Keys(snap.LoggerLevels))
	for _, ns := range names {
		level := snap.LoggerLevels[ns]
		if cr.loggers.applied[ns] == level {
			continue
		}
		cr.loggers.applied[ns] = level
		canon, ok := parseLevel(level)
		if !ok {
			cr.log.Warn("ignoring an invalid cluster-scope logger level from the config topic", "namespace", ns, "level", level)
			continue
		}
		cr.r.setWorkerLoggerLevel(ns, canon)
	}
}

// Logger returns the Runner's logger: Config.Logger (or slog.Default())
// wrapped in the level filter of the /admin/loggers endpoints. Log through
// it, with a LoggerAttr attribute, for the application's lines to follow
// the levels set there.
func (r *Runner) Logger() *slog.Logger { return r.base }
