package runner_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/runner"
	"github.com/sluicehq/sluice/converters"
	"github.com/sluicehq/sluice/converters/avro"
	"github.com/sluicehq/sluice/transforms"
)

// TestRESTPluginList: GET /connector-plugins lists the connectors only
// unless connectorsOnly is anything but blank or "true" (any case), as
// Jersey's boolean parameter with @DefaultValue("true"); then the transformations,
// predicates, converters and header converters Sluice ships follow, in
// Kafka Connect's order, each entry with a version (the plugin's, else the
// Runner's Config.Version).
func TestRESTPluginList(t *testing.T) {
	e := restEnv(t, false)
	h := e.r.Handler()
	for _, c := range []struct{ query, golden string }{
		{"", "plugins"},
		{"?connectorsOnly=true", "plugins"},
		{"?connectorsOnly=TRUE", "plugins"},
		{"?connectorsOnly=false", "plugins_all"},
		{"?connectorsOnly=False", "plugins_all"},
		{"?connectorsOnly=yes", "plugins_all"},
		{"?connectorsOnly=", "plugins"},    // blank: the default
		{"?connectorsOnly=%20", "plugins"}, // blank: the default
		{"?connectorsOnly=%20true", "plugins_all"},
		{"?connectorsOnly=false&connectorsOnly=true", "plugins_all"}, // the first value
	} {
		w := do(h, "GET", "/connector-plugins"+c.query, "")
		if w.Code != 200 {
			t.Fatalf("%s: %d %s", c.query, w.Code, w.Body)
		}
		checkGolden(t, c.golden, w.Body.Bytes())
		var got []map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		for _, p := range got {
			if v, _ := p["version"].(string); v == "" || len(p) != 3 {
				t.Errorf("%s: entry %v: want class, type and a version", c.query, p)
			}
		}
	}
	// A plugin without a version reports the Runner's.
	if err := e.r.Register(connect.Plugin{Class: "com.example.NoVersionSink", Type: connect.TypeSink, New: e.f.plugins()[1].New}); err != nil {
		t.Fatal(err)
	}
	w := do(h, "GET", "/connector-plugins", "")
	if !strings.Contains(w.Body.String(), `{"class":"com.example.NoVersionSink","type":"sink","version":"3.9.0-sluice"}`) {
		t.Errorf("plugin without a version: %s", w.Body)
	}
}

// TestPluginListMatchesRegistries: the built-in components GET
// /connector-plugins?connectorsOnly=false lists are exactly those of the
// converter registry the source and sink parsers use (with Avro) and of the
// transforms registry, under Kafka Connect's class names; each type's
// entries are sorted by class, the types in Kafka Connect's order.
func TestPluginListMatchesRegistries(t *testing.T) {
	e := newEnv(t, runner.Config{Version: "v9"})
	// Sorted by class alone, this source would come before the sinks.
	if err := e.r.Register(connect.Plugin{Class: "com.aaa.FirstSourceConnector", Type: connect.TypeSource, New: e.f.plugins()[0].New}); err != nil {
		t.Fatal(err)
	}
	byType := map[string][]string{}
	var types []string
	for _, p := range e.r.PluginList(false) {
		if p.Version == "" {
			t.Errorf("%+v has no version", p)
		}
		if !slices.Contains(types, p.Type) {
			types = append(types, p.Type)
		}
		byType[p.Type] = append(byType[p.Type], p.Class)
	}
	if want := []string{"sink", "source", "transformation", "predicate", "converter", "header_converter"}; !slices.Equal(types, want) {
		t.Errorf("types in order %v, want %v", types, want)
	}
	if want := []string{"com.aaa.FirstSourceConnector", "com.example.FakeSourceConnector"}; !slices.Equal(byType["source"], want) {
		t.Errorf("sources %v, want %v", byType["source"], want)
	}
	for typ, cs := range byType {
		if !slices.IsSorted(cs) {
			t.Errorf("%s classes not sorted: %v", typ, cs)
		}
	}
	reg := converters.DefaultRegistry()
	wantConv, wantHeader := []string{avro.Class}, []string{}
	for _, n := range reg.Names() {
		if _, err := reg.New(n, nil, false); err == nil {
			wantConv = append(wantConv, n)
		}
		if _, err := reg.NewHeader(n, nil); err == nil {
			wantHeader = append(wantHeader, n)
		}
	}
	tr := transforms.NewRegistry()
	var wantTr, wantPred []string
	for _, n := range tr.Transformations() {
		wantTr = append(wantTr, transforms.KafkaTransformsPackage+n)
	}
	for _, n := range tr.Predicates() {
		wantPred = append(wantPred, transforms.KafkaPredicatesPackage+n)
	}
	for typ, want := range map[string][]string{
		runner.PluginTypeConverter: wantConv, runner.PluginTypeHeaderConverter: wantHeader,
		runner.PluginTypeTransformation: wantTr, runner.PluginTypePredicate: wantPred,
	} {
		slices.Sort(want)
		if !slices.Equal(byType[typ], want) {
			t.Errorf("%s: listed %v\nregistry %v", typ, byType[typ], want)
		}
	}
	for _, p := range e.r.PluginList(true) {
		if p.Type != connect.TypeSource && p.Type != connect.TypeSink {
			t.Errorf("connectorsOnly lists %+v", p)
		}
	}
}

// TestRESTPluginConfig: GET /connector-plugins/{plugin}/config lists the
// framework's keys, then the plugin's own, with order_in_group; it takes
// Kafka Connect's version parameter (400 "Invalid version specification: v"
// for a malformed one) and answers an empty list for a built-in converter,
// transformation or predicate, whose keys Sluice does not describe.
func TestRESTPluginConfig(t *testing.T) {
	e := restEnv(t, false)
	h := e.r.Handler()
	for _, q := range []string{"", "?version=latest", "?version=1.2.3", "?version=%5B1.0%2C2.0%29", "?version=%5B1.0%2C%29"} {
		w := do(h, "GET", "/connector-plugins/FakeSink/config"+q, "")
		if w.Code != 200 {
			t.Fatalf("%s: %d %s", q, w.Code, w.Body)
		}
		checkGolden(t, "plugin_config", w.Body.Bytes())
		if !strings.Contains(w.Body.String(), `"group":"Common","order_in_group":1,"width":"MEDIUM"`) || strings.Contains(w.Body.String(), `"order":`) {
			t.Errorf("%s: no order_in_group: %s", q, w.Body)
		}
		var keys []struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &keys); err != nil {
			t.Fatal(err)
		}
		if n := len(keys); n < 3 || keys[0].Name != "name" || keys[n-2].Name != "fake.tasks" || keys[n-1].Name != "fake.secret" {
			t.Errorf("keys %v: want the framework's first, the plugin's last", keys)
		}
	}
	for _, v := range []string{"[1.0", "(1.0)", "[2.0,1.0]", "[1.0,2.0)x", "1.0]", "[1.0)"} {
		w := do(h, "GET", "/connector-plugins/FakeSink/config?version="+urlQueryEscape(v), "")
		want := `{"error_code":400,"message":"Invalid version specification: ` + v + `"}`
		if w.Code != 400 || w.Body.String() != want {
			t.Errorf("version %q: %d %s, want 400 %s", v, w.Code, w.Body, want)
		}
	}
	for _, p := range []string{"JsonConverter", "org.apache.kafka.connect.storage.SimpleHeaderConverter", "Cast$Value",
		"org.apache.kafka.connect.transforms.predicates.TopicNameMatches", "io.confluent.connect.avro.AvroConverter"} {
		w := do(h, "GET", "/connector-plugins/"+p+"/config", "")
		if w.Code != 200 || w.Body.String() != "[]" {
			t.Errorf("%s: %d %s, want 200 []", p, w.Code, w.Body)
		}
	}
}

func urlQueryEscape(s string) string {
	r := strings.NewReplacer("[", "%5B", "]", "%5D", "(", "%28", ")", "%29", ",", "%2C")
	return r.Replace(s)
}

// TestValidVersionSpec: the version specifications Kafka Connect 4.3.1's
// PluginUtils.connectorVersionRequirement accepts and refuses (results
// taken from it, run on the connect-runtime 4.3.1 jar).
func TestValidVersionSpec(t *testing.T) {
	for v, ok := range map[string]bool{
		"1.0": true, "latest": true, "": true, " ": true, "abc": true, "[1.0,2.0)": true, "(,1.0]": true,
		"[1.0,)": true, "1.0,2.0": true, "[a,b]": true, "[1.0]": true, "[1.0,2.0),[3.0,)": true,
		"[1.0": false, "(1.0)": false, "[2.0,1.0]": false, "]1.0": false, "1.0]": false, "[1,2],3": false,
		"[1.0)": false, "[1.0,2.0)x": false, "[1.10,1.9]": false,
	} {
		if got := runner.ValidVersionSpec(v); got != ok {
			t.Errorf("ValidVersionSpec(%q) = %v, want %v", v, got, ok)
		}
	}
}

// TestStatusVersion: statuses carry the plugin's version on the connector
// and each task, the Runner's Config.Version for a pipeline built in Go.
func TestStatusVersion(t *testing.T) {
	e := restEnv(t, true)
	if err := e.r.AddPipeline("go", nil, e.f.goBuilder("go", connect.TypeSink, nil)); err != nil {
		t.Fatal(err)
	}
	e.waitState("go", connect.StateRunning, 1)
	h := e.r.Handler()
	for name, want := range map[string]string{"snk": "1.2.3", "go": "3.9.0-sluice"} {
		for _, path := range []string{"/connectors/" + name + "/status", "/connectors/" + name + "/tasks/0/status"} {
			w := do(h, "GET", path, "")
			if !strings.Contains(w.Body.String(), `"worker_id":"worker-1:sluice","version":"`+want+`"`) {
				t.Errorf("%s: %s; want version %s after worker_id", path, w.Body, want)
			}
		}
		w := do(h, "GET", "/connectors?expand=status", "")
		if !strings.Contains(w.Body.String(), `"connector":{"state":"RUNNING","worker_id":"worker-1:sluice","version":"`+want+`"}`) {
			t.Errorf("expand=status: %s; want %s's version %s", w.Body, name, want)
		}
	}
	rep, err := e.r.Restart("snk", runner.RestartOptions{IncludeTasks: true})
	if err != nil || rep.Version != "1.2.3" {
		t.Errorf("Restart report version %q, %v", rep.Version, err)
	}
}
