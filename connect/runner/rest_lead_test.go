package runner_test

import (
	"encoding/json"
	"testing"
)

// TestRESTValidateNamesTheClassAsWritten: Kafka Connect names a validate
// answer after connector.class as the request wrote it
// (AbstractHerder.validateConnectorConfig), so a client that sent the short
// name gets the short name back; without connector.class the plugin's class.
func TestRESTValidateNamesTheClassAsWritten(t *testing.T) {
	e := restEnv(t, false)
	for _, c := range []struct{ body, want string }{
		{`{"connector.class":"FakeSinkConnector","name":"v","topics":"t"}`, "FakeSinkConnector"},
		{`{"connector.class":"com.example.FakeSinkConnector","name":"v","topics":"t"}`, "com.example.FakeSinkConnector"},
		{`{"name":"v","topics":"t"}`, "com.example.FakeSinkConnector"},
	} {
		w := do(e.r.Handler(), "PUT", "/connector-plugins/FakeSinkConnector/config/validate", c.body)
		if w.Code != 200 {
			t.Fatalf("validate %s: %d %s", c.body, w.Code, w.Body)
		}
		var v struct{ Name string }
		if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		if v.Name != c.want {
			t.Errorf("validate %s: name %q, want %q", c.body, v.Name, c.want)
		}
	}
}
