package connect_test

import (
	"errors"
	"testing"

	"github.com/sluicehq/sluice/connect"
)

func TestPipelineStatusTaskErrors(t *testing.T) {
	e0, e2 := errors.New("task 0 broke"), errors.New("task 2 broke")
	s := connect.PipelineStatus{Tasks: []connect.TaskStatus{
		{ID: 0, State: connect.StateFailed, Err: e0},
		{ID: 1, State: connect.StateRunning},
		{ID: 2, State: connect.StateFailed, Err: e2},
	}}
	err := s.TaskErrors()
	if !errors.Is(err, e0) || !errors.Is(err, e2) || err.Error() != "task 0 broke\ntask 2 broke" {
		t.Errorf("TaskErrors() = %v", err)
	}
	if s.AllTasksFailed() {
		t.Error("AllTasksFailed with a RUNNING task")
	}
	s.Tasks[1].State, s.Tasks[1].Err = connect.StateFailed, errors.New("x")
	if !s.AllTasksFailed() {
		t.Error("!AllTasksFailed with every task FAILED")
	}
	if (connect.PipelineStatus{}).AllTasksFailed() || (connect.PipelineStatus{}).TaskErrors() != nil {
		t.Error("a pipeline without tasks: AllTasksFailed or TaskErrors")
	}
}
