package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestClusterProgress: the harness reads a member's last complete progress
// line, past log lines and a line cut short by a concurrent write.
func TestClusterProgress(t *testing.T) {
	path := filepath.Join(t.TempDir(), "member.log")
	log := strings.Join([]string{
		`time=2026-12-06T16:35:51.165Z level=INFO msg="runner started"`,
		`cluster-progress t=1 polled=10 consumed=20 first_consumed=0 last_consumed=0 gen=1 leader=true rebalances=1 tasks=source-0`,
		`cluster-task-start connector=source task=3 from=16268`,
		`cluster-progress t=2 polled=1500 consumed=2500 first_consumed=1796574955083197021 last_consumed=1796574955895389021 gen=3 leader=false rebalances=4 tasks=source-1,sink-3`,
		`time=2026-12-06T16:35:52.000Z level=INFO msg="assignment received"`,
		`cluster-progress t=3 polled=9999 consumed=9999 first_con`,
	}, "\n")
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	m := &clusterMember{child: &child{logPath: path}}
	p, err := m.progress()
	if err != nil {
		t.Fatal(err)
	}
	want := memberProgress{
		polled: 1500, consumed: 2500,
		firstConsumed: time.Unix(0, 1796574955083197021), lastConsumed: time.Unix(0, 1796574955895389021),
		rebalances: 4, leader: false, tasks: "source-1,sink-3",
	}
	if !p.firstConsumed.Equal(want.firstConsumed) || !p.lastConsumed.Equal(want.lastConsumed) {
		t.Errorf("first/last consumed = %v/%v, want %v/%v", p.firstConsumed, p.lastConsumed, want.firstConsumed, want.lastConsumed)
	}
	p.firstConsumed, p.lastConsumed, want.firstConsumed, want.lastConsumed = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if p != want {
		t.Errorf("progress = %+v, want %+v", p, want)
	}

	if err := os.WriteFile(path, []byte("time=... level=INFO msg=starting\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := m.progress(); err == nil {
		t.Error("a log without a progress line: no error")
	}
}

// TestClusterSpreadOver: tasks count as spread only when all are in the
// state wanted, and every given worker, and no other, holds an equal share.
func TestClusterSpreadOver(t *testing.T) {
	var tasks map[string][]restTask
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/connectors/"), "/status")
		ts, ok := tasks[name]
		if !ok {
			http.Error(w, `{"error_code":404}`, http.StatusNotFound)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"name": name, "tasks": ts})
	}))
	defer srv.Close()
	obs := &clusterMember{url: srv.URL}
	a, b, c := &clusterMember{workerID: "h:1"}, &clusterMember{workerID: "h:2"}, &clusterMember{workerID: "h:3"}
	on := func(state string, workers ...string) []restTask {
		out := make([]restTask, len(workers))
		for i, w := range workers {
			out[i] = restTask{ID: i, State: state, WorkerID: w}
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		tasks   map[string][]restTask
		workers []*clusterMember
		want    bool
	}{
		{"even over 3", map[string][]restTask{"source": on("RUNNING", "h:1", "h:2", "h:3", "h:1", "h:2", "h:3")}, []*clusterMember{a, b, c}, true},
		{"uneven", map[string][]restTask{"source": on("RUNNING", "h:1", "h:1", "h:1", "h:1", "h:2", "h:3")}, []*clusterMember{a, b, c}, false},
		{"one task not in the state", map[string][]restTask{"source": append(on("RUNNING", "h:1", "h:2", "h:3", "h:1", "h:2"), restTask{ID: 5, State: "UNASSIGNED", WorkerID: "h:3"})}, []*clusterMember{a, b, c}, false},
		{"a dead worker still listed", map[string][]restTask{"source": on("RUNNING", "h:1", "h:2", "h:3", "h:1", "h:2", "h:3")}, []*clusterMember{a, b}, false},
		{"fewer tasks than tasks.max", map[string][]restTask{"source": on("PAUSED", "h:1", "h:2")}, []*clusterMember{a, b}, false},
		{"two connectors, 12 tasks 6 each", map[string][]restTask{
			"source": on("RUNNING", "h:1", "h:1", "h:1", "h:1", "h:2", "h:2"),
			"sink":   on("RUNNING", "h:2", "h:2", "h:2", "h:2", "h:1", "h:1")}, []*clusterMember{a, b}, true},
	} {
		tasks = tc.tasks
		var names []string
		for n := range tc.tasks {
			names = append(names, n)
		}
		got, err := spreadOver(context.Background(), obs, names, tc.tasks[names[0]][0].State, tc.workers)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got != tc.want {
			t.Errorf("%s: spread = %v, want %v", tc.name, got, tc.want)
		}
	}
	tasks = nil
	if _, err := spreadOver(context.Background(), obs, []string{"source"}, "RUNNING", []*clusterMember{a}); err == nil {
		t.Error("a 404 from the REST status: no error")
	}
}
