package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/redact"
)

// Handler returns an http.Handler serving Kafka Connect's REST API over the
// Runner, with Kafka Connect's paths, JSON shapes and status codes, so that
// Kafka Connect tooling (curl runbooks, UIs, operators) works against it:
//
//	GET    /                                    version, commit, kafka_cluster_id
//	GET    /health                              200 healthy, 503 starting, 500 stopped
//	GET    /connectors[?expand=status&expand=info]
//	POST   /connectors                          {name, config, initial_state?} → 201 ConnectorInfo (standalone: with its tasks); 409 if it exists
//	GET    /connectors/{name}                   {name, config, tasks, type}
//	GET    /connectors/{name}/config            the configuration
//	PUT    /connectors/{name}/config            create (201) or update (200); restarts that connector only
//	PATCH  /connectors/{name}/config            merge; a null value removes the key
//	GET    /connectors/{name}/status            {name, connector, tasks, type} + "sluice" progress facts
//	GET    /connectors/{name}/tasks             [{id:{connector,task}, config}]
//	GET    /connectors/{name}/tasks/{id}/status
//	POST   /connectors/{name}/restart?includeTasks=&onlyFailed=   204 (both false: the connector only, tasks untouched), or 202 + status (KIP-745)
//	POST   /connectors/{name}/tasks/{id}/restart                  204
//	PUT    /connectors/{name}/pause | resume    202
//	PUT    /connectors/{name}/stop              204
//	DELETE /connectors/{name}                   204
//	GET    /connectors/{name}/offsets           {offsets:[{partition, offset}]}
//	PATCH  /connectors/{name}/offsets           alter; the connector must be STOPPED (400 otherwise)
//	DELETE /connectors/{name}/offsets           reset; the connector must be STOPPED
//	GET    /admin/loggers                       {"<logger>":{"level","last_modified"}} (see LoggerLevels)
//	GET    /admin/loggers/{logger}              {"level","last_modified"}
//	PUT    /admin/loggers/{logger}?scope=       {"level":"DEBUG"} → 200 [changed loggers]; scope=cluster → 204
//	GET    /connectors/{name}/topics            {"<name>":{"topics":[...]}} active topics (KIP-558)
//	PUT    /connectors/{name}/topics/reset      202
//	GET    /connector-plugins[?connectorsOnly=false]   [{class, type, version}]; false adds converters, SMTs, predicates
//	GET    /connector-plugins/{plugin}/config[?version=]   the plugin's ConfigKeyInfo list
//	PUT    /connector-plugins/{plugin}/config/validate
//
// Query booleans are read as Kafka Connect's Jersey reads them: anything
// but a case-insensitive "true" is false. Errors are {"error_code":
// <status>, "message": "..."}; a body that is not the JSON the endpoint
// takes is 400 (Kafka Connect answers 500).
//
// Secrets never leave through the API. The values of password keys
// (IsPasswordKey, [connect.Plugin].PasswordKeys, PASSWORD-typed keys) are
// shown as "[hidden]" in the config, connector info (also in the
// ?expand=info listing), tasks and validate responses; a "[hidden]" sent
// back in a PUT or PATCH keeps the stored value, so that a GET-edit-PUT
// round trip keeps the secrets. Here Sluice departs from Kafka Connect,
// whose GET config returns the submitted configuration with passwords in
// clear. A value made only of config provider references
// (${file:/path:key}) is shown as written, as Kafka Connect shows it: it
// names where the secret is, not the secret; values config providers
// supplied are never shown (tasks show the reference, as Kafka Connect's
// do). Every other text the API returns — status traces and the "sluice"
// failure and stall errors, error messages, validation messages — has the
// connector's secrets (see Config.Logger) replaced by "[hidden]".
//
// Status responses carry Kafka Connect's fields unchanged and add one
// "sluice" object per connector and per task with what Kafka Connect cannot
// tell: whether a task is stalled (RUNNING with work available but no
// progress for Config.StallAfter, or retrying a transient fault: then
// stall_error and stalled_since say which and since when), records
// in/out/dropped, records in
// flight, lag, the last poll/progress/commit times (RFC 3339), restarts,
// the last failure, error counters and, for sinks, per-partition positions.
//
// The handler has no authentication of its own, and the API changes and
// reveals connector configurations: mount it where the application wants
// (e.g. with http.StripPrefix) behind the application's own middleware, an
// http.Handler that checks each request (basic authentication, a bearer
// token, the client certificate of r.TLS) and calls the Runner's handler
// only for those it lets through (see ExampleRunner_Handler_auth). Serve it
// on a loopback address, or over TLS (HTTPSConfigFromProperties reads
// Kafka Connect's listeners.https.ssl.* keys, including
// ssl.client.auth=required for client certificates) when it must be
// reachable from other hosts.
func (r *Runner) Handler() http.Handler { return restHandler{r} }

type restHandler struct{ r *Runner }

// Kafka Connect's REST entities.
type (
	restError struct {
		ErrorCode int    `json:"error_code"`
		Message   string `json:"message"`
	}
	restMessage struct {
		Message string `json:"message"`
	}
	restServerInfo struct {
		Version        string `json:"version"`
		Commit         string `json:"commit"`
		KafkaClusterID string `json:"kafka_cluster_id"`
		// Sluice's extension, in cluster mode only: this member's view
		// of the cluster.
		Sluice *restSluiceServer `json:"sluice,omitempty"`
	}
	restSluiceServer struct {
		Cluster restSluiceCluster `json:"cluster"`
	}
	restSluiceCluster struct {
		GroupID          string   `json:"group_id"`
		WorkerID         string   `json:"worker_id"`
		MemberID         string   `json:"member_id"`
		Generation       int32    `json:"generation"`
		Leader           bool     `json:"leader"`
		LeaderURL        string   `json:"leader_url"`
		Protocol         string   `json:"protocol"`
		Connectors       []string `json:"connectors"`
		Tasks            []string `json:"tasks"`
		Rebalances       int64    `json:"rebalances"`
		FailedRebalances int64    `json:"failed_rebalances"`
		Rebalancing      bool     `json:"rebalancing"`
	}
	restWorkerStatus struct {
		Status  string `json:"status"`
		Message string `json:"message"`
	}
	restTaskID struct {
		Connector string `json:"connector"`
		Task      int    `json:"task"`
	}
	restConnectorInfo struct {
		Name   string            `json:"name"`
		Config map[string]string `json:"config"`
		Tasks  []restTaskID      `json:"tasks"`
		Type   string            `json:"type"`
	}
	restTaskInfo struct {
		ID     restTaskID        `json:"id"`
		Config map[string]string `json:"config"`
	}
	// restConnectorState and restTaskState are Kafka Connect's
	// ConnectorStateInfo$ConnectorState and $TaskState, fields in the order
	// its Jackson mapper writes them (creator properties first: id, state,
	// worker_id, version; then trace, omitted when empty).
	restConnectorState struct {
		State    string `json:"state"`
		WorkerID string `json:"worker_id"`
		Version  string `json:"version"`
		Trace    string `json:"trace,omitempty"`
	}
	restTaskState struct {
		ID       int             `json:"id"`
		State    string          `json:"state"`
		WorkerID string          `json:"worker_id"`
		Version  string          `json:"version"`
		Trace    string          `json:"trace,omitempty"`
		Sluice   *restSluiceTask `json:"sluice,omitempty"`
	}
	restStateInfo struct {
		Name      string               `json:"name"`
		Connector restConnectorState   `json:"connector"`
		Tasks     []restTaskState      `json:"tasks"`
		Type      string               `json:"type"`
		Sluice    *restSluiceConnector `json:"sluice,omitempty"`
	}
	// restSluiceConnector holds Sluice's connector-level facts.
	restSluiceConnector struct {
		TargetState  string `json:"target_state"`
		Stalled      bool   `json:"stalled"`
		StallAfterMS int64  `json:"stall_after_ms"`
		Restarts     int    `json:"restarts"`
	}
	// restSluiceTask holds Sluice's task-level progress facts.
	restSluiceTask struct {
		Stalled        bool                  `json:"stalled"`
		RecordsIn      int64                 `json:"records_in"`
		RecordsOut     int64                 `json:"records_out"`
		RecordsDropped int64                 `json:"records_dropped"`
		InFlight       int64                 `json:"in_flight"`
		Lag            *int64                `json:"lag,omitempty"`
		Started        string                `json:"started,omitempty"`
		LastPoll       string                `json:"last_poll,omitempty"`
		LastProgress   string                `json:"last_progress,omitempty"`
		LastCommit     string                `json:"last_commit,omitempty"`
		Restarts       int                   `json:"restarts"`
		LastFailure    string                `json:"last_failure,omitempty"`
		StallError     string                `json:"stall_error,omitempty"`
		StalledSince   string                `json:"stalled_since,omitempty"`
		Errors         restSluiceErrors      `json:"errors"`
		Partitions     []restSluicePartition `json:"partitions,omitempty"`
	}
	restSluiceErrors struct {
		TotalRecordFailures            int64  `json:"total_record_failures"`
		TotalRecordErrors              int64  `json:"total_record_errors"`
		TotalRecordsSkipped            int64  `json:"total_records_skipped"`
		TotalRetries                   int64  `json:"total_retries"`
		TotalErrorsLogged              int64  `json:"total_errors_logged"`
		DeadLetterQueueProduceRequests int64  `json:"deadletterqueue_produce_requests"`
		DeadLetterQueueProduceFailures int64  `json:"deadletterqueue_produce_failures"`
		LastErrorTimestamp             string `json:"last_error_timestamp,omitempty"`
	}
	restSluicePartition struct {
		Topic         string `json:"topic"`
		Partition     int32  `json:"partition"`
		Position      int64  `json:"position"`
		Committed     int64  `json:"committed"`
		HighWatermark int64  `json:"high_watermark"`
		Lag           int64  `json:"lag"`
	}
	restPluginInfo struct {
		Class   string `json:"class"`
		Type    string `json:"type"`
		Version string `json:"version"`
	}
	restConfigKeyInfo struct {
		Name          string   `json:"name"`
		Type          string   `json:"type"`
		Required      bool     `json:"required"`
		DefaultValue  *string  `json:"default_value"`
		Importance    string   `json:"importance"`
		Documentation string   `json:"documentation"`
		Group         string   `json:"group"`
		OrderInGroup  int      `json:"order_in_group"`
		Width         string   `json:"width"`
		DisplayName   string   `json:"display_name"`
		Dependents    []string `json:"dependents"`
	}
	restConfigValueInfo struct {
		Name              string   `json:"name"`
		Value             *string  `json:"value"`
		RecommendedValues []string `json:"recommended_values"`
		Errors            []string `json:"errors"`
		Visible           bool     `json:"visible"`
	}
	restConfigInfo struct {
		Definition restConfigKeyInfo   `json:"definition"`
		Value      restConfigValueInfo `json:"value"`
	}
	restConfigInfos struct {
		Name       string           `json:"name"`
		ErrorCount int              `json:"error_count"`
		Groups     []string         `json:"groups"`
		Configs    []restConfigInfo `json:"configs"`
	}
	restOffset struct {
		Partition map[string]any `json:"partition"`
		Offset    map[string]any `json:"offset"`
	}
	restOffsets struct {
		Offsets []restOffset `json:"offsets"`
	}
)

// Offsets-endpoint messages, as Kafka Connect's: the short ones when the
// connector manages its offsets (connect.OffsetsAlterer returned true),
// the framework-managed ones otherwise.
const (
	msgOffsetsAltered          = "The offsets for this connector have been altered successfully"
	msgOffsetsReset            = "The offsets for this connector have been reset successfully"
	msgOffsetsAlteredFramework = "The Connect framework-managed offsets for this connector have been altered successfully. However, if this connector manages offsets externally, they will need to be manually altered in the system that the connector uses."
	msgOffsetsResetFramework   = "The Connect framework-managed offsets for this connector have been reset successfully. However, if this connector manages offsets externally, they will need to be manually reset in the system that the connector uses."
)

// maxBody bounds request bodies.
const maxBody = 4 << 20

func (h restHandler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	segs, ok := pathSegments(req.URL)
	if !ok {
		writeError(w, http.StatusNotFound, "HTTP 404 Not Found")
		return
	}
	if req.Body != nil {
		req.Body = http.MaxBytesReader(w, req.Body, maxBody)
	}
	methods := h.route(segs)
	if methods == nil {
		writeError(w, http.StatusNotFound, "HTTP 404 Not Found")
		return
	}
	fn, ok := methods[req.Method]
	if !ok && req.Method == http.MethodHead {
		fn, ok = methods[http.MethodGet]
	}
	if !ok {
		allow := make([]string, 0, len(methods))
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			if _, ok := methods[m]; ok {
				allow = append(allow, m)
			}
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, http.StatusMethodNotAllowed, "HTTP 405 Method Not Allowed")
		return
	}
	fn(w, req)
}

// pathSegments splits the escaped path into unescaped segments, ignoring a
// trailing slash.
func pathSegments(u *url.URL) ([]string, bool) {
	p := strings.Trim(u.EscapedPath(), "/")
	if p == "" {
		return nil, true
	}
	parts := strings.Split(p, "/")
	for i, s := range parts {
		v, err := url.PathUnescape(s)
		if err != nil {
			return nil, false
		}
		parts[i] = v
	}
	return parts, true
}

type handlerFunc = func(http.ResponseWriter, *http.Request)

// route returns the handlers by method for a path, or nil.
func (h restHandler) route(segs []string) map[string]handlerFunc {
	n := len(segs)
	switch {
	case n == 0:
		return map[string]handlerFunc{http.MethodGet: h.serverInfo}
	case n == 1 && segs[0] == "health":
		return map[string]handlerFunc{http.MethodGet: h.health}
	case segs[0] == "admin" && n >= 2 && segs[1] == "loggers":
		switch n {
		case 2:
			return map[string]handlerFunc{http.MethodGet: h.listLoggers}
		case 3:
			name := segs[2]
			return map[string]handlerFunc{
				http.MethodGet: func(w http.ResponseWriter, req *http.Request) { h.getLogger(w, req, name) },
				http.MethodPut: func(w http.ResponseWriter, req *http.Request) { h.setLogger(w, req, name) },
			}
		}
	case segs[0] == "connectors":
		return h.connectorsRoute(segs[1:])
	case segs[0] == "connector-plugins":
		switch {
		case n == 1:
			return map[string]handlerFunc{http.MethodGet: h.listPlugins}
		case n == 3 && segs[2] == "config":
			plugin := segs[1]
			return map[string]handlerFunc{http.MethodGet: func(w http.ResponseWriter, req *http.Request) { h.pluginConfig(w, req, plugin) }}
		case n == 4 && segs[2] == "config" && segs[3] == "validate":
			plugin := segs[1]
			return map[string]handlerFunc{http.MethodPut: func(w http.ResponseWriter, req *http.Request) { h.validate(w, req, plugin) }}
		}
	}
	return nil
}

func (h restHandler) connectorsRoute(segs []string) map[string]handlerFunc {
	if len(segs) == 0 {
		return map[string]handlerFunc{http.MethodGet: h.listConnectors, http.MethodPost: h.createConnector}
	}
	name := segs[0]
	bind := func(f func(http.ResponseWriter, *http.Request, string)) handlerFunc {
		return func(w http.ResponseWriter, req *http.Request) { f(w, req, name) }
	}
	switch len(segs) {
	case 1:
		return map[string]handlerFunc{http.MethodGet: bind(h.connectorInfo), http.MethodDelete: bind(h.deleteConnector)}
	case 2:
		switch segs[1] {
		case "config":
			return map[string]handlerFunc{http.MethodGet: bind(h.getConfig), http.MethodPut: bind(h.putConfig), http.MethodPatch: bind(h.patchConfig)}
		case "status":
			return map[string]handlerFunc{http.MethodGet: bind(h.status)}
		case "tasks":
			return map[string]handlerFunc{http.MethodGet: bind(h.taskConfigs)}
		case "restart":
			return map[string]handlerFunc{http.MethodPost: bind(h.restart)}
		case "pause":
			return map[string]handlerFunc{http.MethodPut: bind(h.pause)}
		case "resume":
			return map[string]handlerFunc{http.MethodPut: bind(h.resume)}
		case "stop":
			return map[string]handlerFunc{http.MethodPut: bind(h.stop)}
		case "offsets":
			return map[string]handlerFunc{http.MethodGet: bind(h.getOffsets), http.MethodPatch: bind(h.alterOffsets), http.MethodDelete: bind(h.resetOffsets)}
		case "topics":
			return map[string]handlerFunc{http.MethodGet: bind(h.activeTopics)}
		}
	case 3:
		if segs[1] == "topics" && segs[2] == "reset" {
			return map[string]handlerFunc{http.MethodPut: bind(h.resetActiveTopics)}
		}
	case 4:
		if segs[1] != "tasks" {
			break
		}
		taskArg := segs[2]
		task := func(f func(http.ResponseWriter, *http.Request, string, int)) handlerFunc {
			return func(w http.ResponseWriter, req *http.Request) {
				id, err := strconv.Atoi(taskArg)
				if err != nil || id < 0 {
					writeError(w, http.StatusNotFound, "HTTP 404 Not Found")
					return
				}
				f(w, req, name, id)
			}
		}
		switch segs[3] {
		case "status":
			return map[string]handlerFunc{http.MethodGet: task(h.taskStatus)}
		case "restart":
			return map[string]handlerFunc{http.MethodPost: task(h.restartTask)}
		}
	}
	return nil
}

// --- responses ---

func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "encoding the response: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	body, _ := json.Marshal(restError{ErrorCode: code, Message: msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// writeErr maps a Runner error to Kafka Connect's status code.
func writeErr(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrConnectorNotFound), errors.Is(err, ErrTaskNotFound):
		code = http.StatusNotFound
	case errors.Is(err, ErrInvalidConfig), errors.Is(err, connect.ErrNotStopped), errors.Is(err, connect.ErrOffsetsUnsupported):
		code = http.StatusBadRequest
	case errors.Is(err, ErrPluginNotFound):
		code = http.StatusNotFound
	case errors.Is(err, ErrConnectorExists), errors.Is(err, ErrRebalancing):
		code = http.StatusConflict
	case errors.Is(err, ErrStopped):
		code = http.StatusServiceUnavailable
	case errors.Is(err, ErrTopicTrackingDisabled), errors.Is(err, ErrTopicTrackingResetDisabled):
		code = http.StatusForbidden
	case errors.Is(err, ErrLoggerNotFound), errors.Is(err, ErrInvalidLevel):
		code = http.StatusNotFound
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		code = http.StatusInternalServerError
		//lint:ignore ST1005 Kafka Connect's REST message, byte for byte
		err = fmt.Errorf("Request timed out: %w", err)
	}
	writeError(w, code, err.Error())
}

// readJSON decodes the body into v (numbers as json.Number).
func readJSON(req *http.Request, v any) error {
	data, err := io.ReadAll(req.Body)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return errors.New("the request body is empty")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	return nil
}

func badRequest(w http.ResponseWriter, err error) {
	writeError(w, http.StatusBadRequest, "Invalid request body: "+err.Error())
}

// configFromJSON turns a JSON object into a configuration: string values
// as is, numbers and booleans as their text (as Jackson coerces them for a
// Map<String,String>); nulls are returned as nil values.
func configFromJSON(raw map[string]any) (map[string]*string, error) {
	out := make(map[string]*string, len(raw))
	for k, v := range raw {
		var s string
		switch x := v.(type) {
		case nil:
			out[k] = nil
			continue
		case string:
			s = x
		case json.Number:
			s = x.String()
		case bool:
			s = strconv.FormatBool(x)
		default:
			return nil, fmt.Errorf("configuration value of %q must be a string, got %s", k, jsonKind(v))
		}
		out[k] = &s
	}
	return out, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("%T", v)
}

// readConfig reads a request body holding a connector configuration (a
// JSON object; null values are kept as nil). On failure it has answered
// 400 and returns false.
func readConfig(w http.ResponseWriter, req *http.Request) (map[string]*string, bool) {
	var raw map[string]any
	if err := readJSON(req, &raw); err != nil {
		badRequest(w, err)
		return nil, false
	}
	cfg, err := configFromJSON(raw)
	if err != nil {
		badRequest(w, err)
		return nil, false
	}
	return cfg, true
}

// lookup returns the named connector's slot; if there is none it has
// answered 404 and returns false.
func (h restHandler) lookup(w http.ResponseWriter, name string) (*slot, bool) {
	s, err := h.r.slot(name)
	if err != nil {
		writeErr(w, err)
		return nil, false
	}
	return s, true
}

// writeFreshInfo answers code with the info of a connector whose (re)start
// was just ordered, with its Location when code is 201 Created. Standalone,
// it first waits (at most freshTasksWait) for the new incarnation to have
// its tasks, so that the answer lists them as Kafka Connect's
// StandaloneHerder, which answers once it has created the task configs.
// In cluster mode the connector's owner makes the tasks later and the
// answer lists none: as DistributedHerder's for a new connector (it lists
// the config topic's tasks right after writing the config); for an update
// Kafka Connect lists the previous configuration's tasks, Sluice none.
func (h restHandler) writeFreshInfo(w http.ResponseWriter, req *http.Request, name string, code int) {
	s, ok := h.lookup(w, name)
	if !ok {
		return
	}
	if code == http.StatusCreated {
		w.Header().Set("Location", "/connectors/"+url.PathEscape(name))
	}
	fresh := true
	if !s.clustered {
		fresh = !h.awaitTasks(req.Context(), s)
	}
	writeJSON(w, code, h.info(s, fresh))
}

// freshTasksWait bounds how long a create or update answer waits for the
// connector's tasks (a connector with no task configs waits it out).
const freshTasksWait = 3 * time.Second

// awaitTasks waits until s's current incarnation runs with its tasks,
// failed, or is stopped, and reports whether its tasks can be listed; false
// when the Runner is not running, or on ctx's end or freshTasksWait.
func (h restHandler) awaitTasks(ctx context.Context, s *slot) bool {
	if started, done := h.r.runState(); !started || done {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, freshTasksWait)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		rep := s.statusReport()
		switch rep.State {
		case connect.StateFailed, connect.StateStopped:
			return true
		case connect.StateRunning, connect.StatePaused:
			if len(rep.Tasks) > 0 && !slices.ContainsFunc(rep.Tasks, func(t TaskReport) bool {
				return t.State == connect.StateUnassigned || t.State == connect.StateRestarting
			}) {
				return true
			}
		}
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNil(c map[string]*string) map[string]string {
	out := make(map[string]string, len(c))
	for k, v := range c {
		if v != nil {
			out[k] = *v
		}
	}
	return out
}

// --- root ---

func (h restHandler) serverInfo(w http.ResponseWriter, req *http.Request) {
	c := h.r.cfg
	info := restServerInfo{Version: c.Version, Commit: c.Commit, KafkaClusterID: h.r.KafkaClusterID(req.Context())}
	if st, ok := h.r.ClusterStatus(); ok {
		info.Sluice = &restSluiceServer{Cluster: restSluiceCluster{
			GroupID: st.GroupID, WorkerID: st.WorkerID, MemberID: st.MemberID, Generation: st.Generation,
			Leader: st.Leader, LeaderURL: st.LeaderURL, Protocol: st.Protocol,
			Connectors: nonNilStrings(st.Connectors), Tasks: nonNilStrings(st.Tasks),
			Rebalances: st.Rebalances, FailedRebalances: st.FailedRebalances, Rebalancing: st.Rebalancing,
		}}
	}
	writeJSON(w, http.StatusOK, info)
}

func (h restHandler) health(w http.ResponseWriter, _ *http.Request) {
	started, done := h.r.runState()
	switch {
	case done:
		writeJSON(w, http.StatusInternalServerError, restWorkerStatus{Status: "unhealthy", Message: "Worker was unable to handle this request and may be unable to handle other requests. The runner has stopped."})
	case !started:
		writeJSON(w, http.StatusServiceUnavailable, restWorkerStatus{Status: "starting", Message: "Worker is still starting up."})
	default:
		writeJSON(w, http.StatusOK, restWorkerStatus{Status: "healthy", Message: "Worker has completed startup and is ready to handle requests."})
	}
}

// --- connectors ---

func (h restHandler) listConnectors(w http.ResponseWriter, req *http.Request) {
	expand, ok := req.URL.Query()["expand"]
	if !ok {
		writeJSON(w, http.StatusOK, h.r.Connectors())
		return
	}
	out := map[string]map[string]any{}
	for _, s := range h.r.liveSlots() {
		m := map[string]any{}
		for _, e := range expand {
			switch e {
			case "status":
				m["status"] = stateInfo(s.statusReport())
			case "info":
				m["info"] = h.info(s, false)
			}
		}
		out[s.name] = m
	}
	writeJSON(w, http.StatusOK, out)
}

// info builds a ConnectorInfo; fresh (a (re)start was just ordered) lists no
// tasks yet.
func (h restHandler) info(s *slot, fresh bool) restConnectorInfo {
	rep := s.statusReport()
	ci := restConnectorInfo{Name: s.name, Config: s.configMasked(), Tasks: []restTaskID{}, Type: rep.Type}
	if !fresh {
		for _, t := range rep.Tasks {
			ci.Tasks = append(ci.Tasks, restTaskID{Connector: s.name, Task: t.ID})
		}
	}
	return ci
}

func (h restHandler) createConnector(w http.ResponseWriter, req *http.Request) {
	var body struct {
		Name         *string        `json:"name"`
		Config       map[string]any `json:"config"`
		InitialState *string        `json:"initial_state"`
	}
	if err := readJSON(req, &body); err != nil {
		badRequest(w, err)
		return
	}
	name := ""
	if body.Name != nil {
		name = strings.TrimSpace(*body.Name)
	}
	cfg, err := configFromJSON(body.Config)
	if err != nil {
		badRequest(w, err)
		return
	}
	config := nonNil(cfg)
	initial := connect.StateRunning
	if body.InitialState != nil {
		initial = connect.State(strings.ToUpper(strings.TrimSpace(*body.InitialState)))
	}
	if err := h.r.CreateConnector(name, config, initial); err != nil {
		writeErr(w, err)
		return
	}
	h.writeFreshInfo(w, req, name, http.StatusCreated)
}

func (h restHandler) connectorInfo(w http.ResponseWriter, _ *http.Request, name string) {
	s, ok := h.lookup(w, name)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, h.info(s, false))
}

func (h restHandler) getConfig(w http.ResponseWriter, _ *http.Request, name string) {
	s, ok := h.lookup(w, name)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, s.configMasked())
}

func (h restHandler) putConfig(w http.ResponseWriter, req *http.Request, name string) {
	cfg, ok := readConfig(w, req)
	if !ok {
		return
	}
	created, err := h.r.PutConnectorConfig(name, nonNil(cfg))
	if err != nil {
		writeErr(w, err)
		return
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	h.writeFreshInfo(w, req, name, code)
}

func (h restHandler) patchConfig(w http.ResponseWriter, req *http.Request, name string) {
	cfg, ok := readConfig(w, req)
	if !ok {
		return
	}
	if err := h.r.PatchConnectorConfig(name, cfg); err != nil {
		writeErr(w, err)
		return
	}
	h.writeFreshInfo(w, req, name, http.StatusOK)
}

func (h restHandler) deleteConnector(w http.ResponseWriter, req *http.Request, name string) {
	if err := h.r.Remove(req.Context(), name); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h restHandler) status(w http.ResponseWriter, _ *http.Request, name string) {
	rep, err := h.r.Status(name)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, stateInfo(rep))
}

func (h restHandler) taskStatus(w http.ResponseWriter, _ *http.Request, name string, id int) {
	rep, err := h.r.Status(name)
	if err != nil {
		writeErr(w, err)
		return
	}
	for _, t := range rep.Tasks {
		if t.ID == id {
			writeJSON(w, http.StatusOK, taskState(rep, t))
			return
		}
	}
	writeError(w, http.StatusNotFound, fmt.Sprintf("No status found for task %s-%d", name, id))
}

func (h restHandler) taskConfigs(w http.ResponseWriter, _ *http.Request, name string) {
	s, ok := h.lookup(w, name)
	if !ok {
		return
	}
	s.mu.Lock()
	plugin := s.plugin
	s.mu.Unlock()
	cfgs := s.taskConfigs()
	out := make([]restTaskInfo, len(cfgs))
	for i, c := range cfgs {
		out[i] = restTaskInfo{ID: restTaskID{Connector: name, Task: i}, Config: maskConfig(c, plugin, s.r.isProvider)}
	}
	writeJSON(w, http.StatusOK, out)
}

// queryBool reads a boolean query parameter as Jersey reads a Boolean one
// (Boolean.valueOf): "true" in any case is true, anything else (absent,
// "yes", "1", kafka-connect-py's "False") is false. It never fails; the
// error is kept for the callers' shape.
func queryBool(req *http.Request, key string) (bool, error) {
	return strings.EqualFold(req.URL.Query().Get(key), "true"), nil
}

func (h restHandler) restart(w http.ResponseWriter, req *http.Request, name string) {
	includeTasks, err := queryBool(req, "includeTasks")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	onlyFailed, err := queryBool(req, "onlyFailed")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	rep, err := h.r.Restart(name, RestartOptions{IncludeTasks: includeTasks, OnlyFailed: onlyFailed})
	if err != nil {
		writeErr(w, err)
		return
	}
	if !includeTasks && !onlyFailed {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusAccepted, stateInfo(rep))
}

func (h restHandler) restartTask(w http.ResponseWriter, req *http.Request, name string, id int) {
	restart := h.r.RestartTask
	if req.URL.Query().Get("forward") == "false" && h.r.cluster != nil {
		// Forwarded by another member: restart here or refuse, never
		// forward again (Kafka Connect's two-hop rule).
		restart = func(name string, id int) error {
			s, err := h.r.slot(name)
			if err != nil {
				return err
			}
			return s.scrubErr(h.r.cluster.restartTask(s, id, false))
		}
	}
	if err := restart(name, id); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h restHandler) pause(w http.ResponseWriter, _ *http.Request, name string) {
	if err := h.r.Pause(name); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (h restHandler) resume(w http.ResponseWriter, _ *http.Request, name string) {
	if err := h.r.Resume(name); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (h restHandler) stop(w http.ResponseWriter, req *http.Request, name string) {
	if err := h.r.Stop(req.Context(), name); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// --- offsets ---

func (h restHandler) getOffsets(w http.ResponseWriter, req *http.Request, name string) {
	entries, err := h.r.Offsets(req.Context(), name)
	if err != nil {
		writeErr(w, err)
		return
	}
	out := restOffsets{Offsets: make([]restOffset, len(entries))}
	for i, e := range entries {
		out.Offsets[i] = restOffset{Partition: e.Partition, Offset: e.Offset}
	}
	writeJSON(w, http.StatusOK, out)
}

func (h restHandler) alterOffsets(w http.ResponseWriter, req *http.Request, name string) {
	s, ok := h.lookup(w, name)
	if !ok {
		return
	}
	var body struct {
		Offsets []struct {
			Partition map[string]any `json:"partition"`
			Offset    map[string]any `json:"offset"`
		} `json:"offsets"`
	}
	if err := readJSON(req, &body); err != nil {
		badRequest(w, err)
		return
	}
	if len(body.Offsets) == 0 {
		writeError(w, http.StatusBadRequest, "Partitions / offsets need to be provided for an alter offsets request")
		return
	}
	s.mu.Lock()
	typ := s.typ
	s.mu.Unlock()
	entries := make([]connect.OffsetEntry, len(body.Offsets))
	for i, o := range body.Offsets {
		part, err := offsetMap(o.Partition, "partition")
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		if part == nil {
			writeError(w, http.StatusBadRequest, "Partitions cannot be null")
			return
		}
		off, err := offsetMap(o.Offset, "offset")
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		if typ == connect.TypeSink {
			if err := checkSinkOffset(part, off); err != nil {
				writeError(w, http.StatusBadRequest, err.Error())
				return
			}
		}
		entries[i] = connect.OffsetEntry{Partition: part, Offset: off}
	}
	managed, err := h.r.AlterConnectorOffsets(req.Context(), name, entries)
	if err != nil {
		writeErr(w, err)
		return
	}
	msg := msgOffsetsAlteredFramework
	if managed {
		msg = msgOffsetsAltered
	}
	writeJSON(w, http.StatusOK, restMessage{Message: msg})
}

func (h restHandler) resetOffsets(w http.ResponseWriter, req *http.Request, name string) {
	managed, err := h.r.ResetConnectorOffsets(req.Context(), name)
	if err != nil {
		writeErr(w, err)
		return
	}
	msg := msgOffsetsResetFramework
	if managed {
		msg = msgOffsetsReset
	}
	writeJSON(w, http.StatusOK, restMessage{Message: msg})
}

// offsetMap converts a decoded partition or offset map to Kafka Connect's
// value types (integers as int64, other numbers as float64), refusing
// values Kafka Connect refuses (nested objects and arrays).
func offsetMap(m map[string]any, what string) (map[string]any, error) {
	if m == nil {
		return nil, nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch x := v.(type) {
		case nil, string, bool:
			out[k] = x
		case json.Number:
			if n, err := x.Int64(); err == nil {
				out[k] = n
			} else if f, err := x.Float64(); err == nil && !math.IsInf(f, 0) {
				out[k] = f
			} else {
				return nil, fmt.Errorf("%s key %q: invalid number %s", what, k, x)
			}
		default:
			return nil, fmt.Errorf("%s key %q: Kafka Connect only supports primitive values (string, number, boolean, null), got %s", what, k, jsonKind(v))
		}
	}
	return out, nil
}

// checkSinkOffset checks a sink partition {kafka_topic, kafka_partition}
// and offset {kafka_offset} (or nil).
func checkSinkOffset(part, off map[string]any) error {
	topic, ok := part["kafka_topic"].(string)
	if !ok || topic == "" {
		//lint:ignore ST1005 Kafka Connect's REST message, byte for byte
		return errors.New("Partitions for sink connectors must have a non-empty string value for the key \"kafka_topic\"")
	}
	p, ok := part["kafka_partition"].(int64)
	if !ok || p < 0 || p > math.MaxInt32 {
		//lint:ignore ST1005 Kafka Connect's REST message, byte for byte
		return errors.New("Partitions for sink connectors must have an integer value for the key \"kafka_partition\" (a valid partition number)")
	}
	if off == nil {
		return nil
	}
	o, ok := off["kafka_offset"].(int64)
	if !ok || o < 0 {
		return errors.New("Offsets for sink connectors must have a non-negative integer value for the key \"kafka_offset\"")
	}
	return nil
}

// --- plugins ---

// jerseyBool parses a boolean query parameter as Jersey 3.1's
// PrimitiveValueOfExtractor does: the first value; absent or blank, def
// (its @DefaultValue); else Boolean.valueOf, so "true" in any case is true
// and any other value (" true" included) false, never an error.
func jerseyBool(req *http.Request, key string, def bool) bool {
	vs := req.URL.Query()[key]
	if len(vs) == 0 || strings.TrimSpace(vs[0]) == "" {
		return def
	}
	return strings.EqualFold(vs[0], "true")
}

// listPlugins is GET /connector-plugins[?connectorsOnly=]: connectorsOnly
// defaults to true, as Kafka Connect's @DefaultValue("true"); see
// Runner.PluginList.
func (h restHandler) listPlugins(w http.ResponseWriter, req *http.Request) {
	ps := h.r.PluginList(jerseyBool(req, "connectorsOnly", true))
	out := make([]restPluginInfo, len(ps))
	for i, p := range ps {
		out[i] = restPluginInfo(p)
	}
	writeJSON(w, http.StatusOK, out)
}

func keyInfo(k connect.ConfigKey) restConfigKeyInfo {
	ki := restConfigKeyInfo{
		Name: k.Name, Type: k.Type, Required: k.Required, Importance: k.Importance,
		Documentation: k.Documentation, Group: k.Group, OrderInGroup: k.Order, Width: k.Width,
		DisplayName: k.DisplayName, Dependents: k.Dependents,
	}
	if !k.Required && (k.Default != "" || (k.Type != "CLASS" && k.Type != "PASSWORD")) {
		d := k.Default
		ki.DefaultValue = &d
	}
	return ki
}

// pluginConfig is GET /connector-plugins/{plugin}/config[?version=]: a
// version that is not a valid specification (ValidVersionSpec) is refused
// with 400 "Invalid version specification: <v>", as Kafka Connect does; a
// valid one selects nothing (a Sluice plugin has one version).
func (h restHandler) pluginConfig(w http.ResponseWriter, req *http.Request, plugin string) {
	if vs, ok := req.URL.Query()["version"]; ok && len(vs) > 0 && !ValidVersionSpec(vs[0]) {
		writeError(w, http.StatusBadRequest, "Invalid version specification: "+vs[0])
		return
	}
	keys, err := h.r.PluginConfig(plugin)
	if err != nil {
		writeErr(w, err)
		return
	}
	out := make([]restConfigKeyInfo, len(keys))
	for i, k := range keys {
		out[i] = keyInfo(k)
	}
	writeJSON(w, http.StatusOK, out)
}

// validate is PUT /connector-plugins/{plugin}/config/validate (see
// Runner.ValidateConfig). A key neither the framework nor the plugin
// defines is listed after the defined keys with its warning in "errors",
// but error_count does not count it: Kafka Connect reports 0 errors for such
// a configuration, so tools gating on error_count behave as they do on
// Kafka Connect, while a UI showing each key's errors shows the typo.
func (h restHandler) validate(w http.ResponseWriter, req *http.Request, plugin string) {
	cfg, ok := readConfig(w, req)
	if !ok {
		return
	}
	v, err := h.r.ValidateConfig(plugin, nonNil(cfg))
	if err != nil {
		writeErr(w, err)
		return
	}
	// Kafka Connect names the answer after connector.class as the request
	// wrote it (AbstractHerder.validateConnectorConfig's connType), e.g.
	// "FileStreamSinkConnector", not the resolved class.
	name := v.Class
	if c := cfg["connector.class"]; c != nil && *c != "" {
		name = *c
	}
	out := restConfigInfos{Name: name, ErrorCount: v.ErrorCount, Groups: v.Groups, Configs: make([]restConfigInfo, len(v.Configs))}
	for i, c := range v.Configs {
		val := restConfigValueInfo{Name: c.Key.Name, RecommendedValues: c.Key.Recommended, Errors: c.Errors, Visible: c.Visible}
		if val.RecommendedValues == nil {
			val.RecommendedValues = []string{}
		}
		if c.HasValue {
			v := c.Value
			val.Value = &v
		} else if !c.Key.Required && c.Key.Default != "" {
			v := c.Key.Default // Kafka Connect reports the default of an unset key
			val.Value = &v
		}
		def := keyInfo(c.Key)
		if c.Unknown {
			def.DefaultValue = nil // no definition, so no default (Kafka's NO_DEFAULT_VALUE is null)
		}
		out.Configs[i] = restConfigInfo{Definition: def, Value: val}
	}
	writeJSON(w, http.StatusOK, out)
}

// --- status ---

func stateInfo(rep ConnectorReport) restStateInfo {
	out := restStateInfo{
		Name:      rep.Name,
		Connector: restConnectorState{State: string(rep.State), WorkerID: rep.WorkerID, Version: rep.Version, Trace: rep.scrub(ErrorTrace(rep.Err))},
		Tasks:     make([]restTaskState, len(rep.Tasks)),
		Type:      rep.Type,
		Sluice: &restSluiceConnector{
			TargetState: string(rep.Target), Stalled: rep.Stalled(),
			StallAfterMS: rep.StallAfter.Milliseconds(), Restarts: rep.Restarts,
		},
	}
	for i, t := range rep.Tasks {
		out.Tasks[i] = taskState(rep, t)
	}
	return out
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func taskState(rep ConnectorReport, t TaskReport) restTaskState {
	ts := restTaskState{ID: t.ID, State: string(t.State), WorkerID: rep.WorkerID, Version: rep.Version, Trace: rep.scrub(ErrorTrace(t.Err))}
	if t.WorkerID != "" || t.Remote {
		ts.WorkerID = t.WorkerID
	}
	if t.Remote {
		// Another member's task: only its state is known here.
		return ts
	}
	sl := &restSluiceTask{
		Stalled: t.Stalled, RecordsIn: t.RecordsIn, RecordsOut: t.RecordsOut, RecordsDropped: t.RecordsDropped,
		InFlight: t.InFlight, Started: rfc3339(t.Started), LastPoll: rfc3339(t.LastPoll),
		LastProgress: rfc3339(t.LastProgress), LastCommit: rfc3339(t.LastCommit), Restarts: t.Restarts,
		Errors: restSluiceErrors{
			TotalRecordFailures: t.Errors.RecordFailures, TotalRecordErrors: t.Errors.RecordErrors,
			TotalRecordsSkipped: t.Errors.RecordsSkipped, TotalRetries: t.Errors.Retries,
			TotalErrorsLogged: t.Errors.ErrorsLogged, DeadLetterQueueProduceRequests: t.Errors.DLQProduceRequests,
			DeadLetterQueueProduceFailures: t.Errors.DLQProduceFailures, LastErrorTimestamp: rfc3339(t.Errors.LastError),
		},
	}
	if t.Lag >= 0 {
		lag := t.Lag
		sl.Lag = &lag
	}
	if t.LastFailure != nil {
		sl.LastFailure = rep.scrub(t.LastFailure.Error())
	}
	if t.StallError != nil {
		sl.StallError = rep.scrub(t.StallError.Error())
		sl.StalledSince = rfc3339(t.StalledSince)
	}
	for _, p := range t.Partitions {
		sl.Partitions = append(sl.Partitions, restSluicePartition{
			Topic: p.Topic, Partition: p.Partition, Position: p.Position,
			Committed: p.Committed, HighWatermark: p.HighWatermark, Lag: p.Lag(),
		})
	}
	ts.Sluice = sl
	return ts
}

// ErrorTrace formats an error and its chain of causes for a status "trace":
// the error's message, then one "Caused by: <type>: <message>" line per
// wrapped error (joined errors are each followed down). It returns "" for
// nil. For an error from a ConnectorReport or a TaskReport (whose Error
// masks the connector's secrets) every line of the trace is masked too.
func ErrorTrace(err error) string {
	if err == nil {
		return ""
	}
	var secrets []*redact.Secrets
	// transparent skips the layers that only mask secrets, collecting them.
	transparent := func(e error) error {
		for {
			se, ok := e.(*scrubbedError)
			if !ok {
				return e
			}
			secrets = append(secrets, se.secrets)
			e = se.err
		}
	}
	err = transparent(err)
	var b strings.Builder
	b.WriteString(err.Error())
	var walk func(e error, depth int)
	walk = func(e error, depth int) {
		if depth > 32 {
			return
		}
		var causes []error
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			if c := u.Unwrap(); c != nil {
				causes = []error{c}
			}
		case interface{ Unwrap() []error }:
			causes = u.Unwrap()
		}
		for _, c := range causes {
			if c == nil {
				continue
			}
			c = transparent(c)
			fmt.Fprintf(&b, "\nCaused by: %T: %s", c, c.Error())
			walk(c, depth+1)
		}
	}
	walk(err, 0)
	trace := b.String()
	for _, s := range secrets {
		trace = s.Scrub(trace)
	}
	return trace
}
