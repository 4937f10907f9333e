package runner

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/sluicehq/sluice/connect"
)

// TestStateInfoJSONMatchesKafkaConnect: a status's Kafka Connect fields are
// written in the order and shape Kafka Connect 4.3.1's Jackson mapper writes
// ConnectorStateInfo: connector {state, worker_id, version, trace}, task
// {id, state, worker_id, version, trace}, trace omitted when empty. The
// golden bytes are Kafka Connect's own output (ObjectMapper over
// connect-runtime-4.3.1's ConnectorStateInfo built with the same values).
func TestStateInfoJSONMatchesKafkaConnect(t *testing.T) {
	rep := ConnectorReport{
		Name: "c", Type: connect.TypeSink, State: connect.StateRunning, WorkerID: "w:8083", Version: "1.2",
		Tasks: []TaskReport{
			{TaskStatus: connect.TaskStatus{ID: 0, State: connect.StateFailed, Err: errors.New("boom\ntrace")}},
			{TaskStatus: connect.TaskStatus{ID: 1, State: connect.StateRunning}},
		},
	}
	info := stateInfo(rep)
	info.Sluice = nil
	for i := range info.Tasks {
		info.Tasks[i].Sluice = nil
	}
	got, err := json.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"name":"c","connector":{"state":"RUNNING","worker_id":"w:8083","version":"1.2"},"tasks":[{"id":0,"state":"FAILED","worker_id":"w:8083","version":"1.2","trace":"boom\ntrace"},{"id":1,"state":"RUNNING","worker_id":"w:8083","version":"1.2"}],"type":"sink"}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}

	rep.State, rep.Err = connect.StateFailed, errors.New("ctrace")
	got, err = json.Marshal(stateInfo(rep).Connector)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"state":"FAILED","worker_id":"w:8083","version":"1.2","trace":"ctrace"}`; string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestConfigKeyInfoJSONMatchesKafkaConnect: ConfigKeyInfo's fields and
// their order as Kafka Connect 4.3.1 writes them (order_in_group, not
// order), bytes from its own mapper.
func TestConfigKeyInfoJSONMatchesKafkaConnect(t *testing.T) {
	got, err := json.Marshal(keyInfo(connect.ConfigKey{Name: "n", Type: "STRING", Default: "d", Importance: "HIGH",
		Documentation: "doc", Group: "g", Order: 3, Width: "SHORT", DisplayName: "N", Dependents: []string{}}))
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"name":"n","type":"STRING","required":false,"default_value":"d","importance":"HIGH","documentation":"doc","group":"g","order_in_group":3,"width":"SHORT","display_name":"N","dependents":[]}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
