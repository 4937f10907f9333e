package runner

import (
	"context"
	"errors"
	"maps"
	"slices"

	"github.com/sluicehq/sluice/connect"
)

// The slot's cluster-mode state lives in these fields of slot (see
// slot.go): clustered, clusterTasks, localTasks, ownsConn, assigned,
// tcValid, tcGen, connErr, assignMu.

// targetState returns the slot's target state.
func (s *slot) targetState() connect.State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.target
}

// forceTaskConfigs makes the owner of the connector compute its task
// configurations again (a restart, a reconfiguration, a target state
// change), and clears a failure to compute them.
func (s *slot) forceTaskConfigs() {
	s.mu.Lock()
	s.tcValid = false
	s.connErr = nil
	s.mu.Unlock()
}

// setConnErr records the outcome of computing the task configurations for
// the definition of generation gen.
func (s *slot) setConnErr(err error, gen uint64) {
	s.mu.Lock()
	s.connErr = err
	s.tcValid, s.tcGen = true, gen
	s.mu.Unlock()
}

// setTaskConfigsComputed records the task configurations the owner
// computed (and wrote) for the definition of generation gen.
func (s *slot) setTaskConfigsComputed(want []map[string]string, gen uint64) {
	s.mu.Lock()
	s.connErr = nil
	s.tcValid, s.tcGen, s.tcWant = true, gen, cloneConfigs(want)
	s.mu.Unlock()
}

// setClusterTasks records the committed task configurations of the config
// topic; it reports whether they changed.
func (s *slot) setClusterTasks(cs []map[string]string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if slices.EqualFunc(cs, s.clusterTasks, maps.Equal) {
		return false
	}
	s.clusterTasks = cloneConfigs(cs)
	return true
}

// setLocal records the share of the connector the group assigned to this
// member: task ids and whether it owns the connector instance.
func (s *slot) setLocal(tasks []int, owns bool) {
	s.mu.Lock()
	s.localTasks, s.ownsConn = tasks, owns
	s.mu.Unlock()
}

// desiredLocked returns the tasks this member must run: its assigned ids
// that have a committed configuration.
func (s *slot) desiredLocked() map[int]map[string]string {
	out := make(map[int]map[string]string, len(s.localTasks))
	for _, id := range s.localTasks {
		if id < len(s.clusterTasks) {
			out[id] = maps.Clone(s.clusterTasks[id])
		}
	}
	return out
}

// applyAssignment makes the running incarnation run exactly the desired
// tasks: tasks no longer assigned stop (it returns once they stopped),
// new ones start, kept ones run on untouched. With no task to run the
// incarnation stops; with tasks and none running one starts.
func (s *slot) applyAssignment() {
	s.assignMu.Lock()
	defer s.assignMu.Unlock()
	s.mu.Lock()
	want := s.desiredLocked()
	if maps.EqualFunc(want, s.assigned, maps.Equal) && (len(want) == 0 || s.runningLocked() || s.pendingStart || s.busy) {
		s.mu.Unlock()
		return
	}
	s.assigned = want
	switch {
	case len(want) == 0:
		s.pendingStart = false
		if s.cancel != nil {
			s.cancel()
		}
		s.mu.Unlock()
		_ = s.waitIdle(context.Background())
		return
	case s.runningLocked():
		ta, _ := s.pipe.(connect.TaskAssignable)
		ctx := s.runCtx
		s.mu.Unlock()
		if ta != nil {
			if err := ta.AssignTasks(ctx, maps.Clone(want)); err != nil && ctx.Err() == nil {
				s.log.Error("changing the connector's local tasks", "error", s.scrub(err.Error()))
			}
		}
		if ctx.Err() != nil {
			// The incarnation is stopping (a restart, a reconfiguration):
			// AssignTasks did not wait for the tasks to stop, so wait for
			// the incarnation itself, or a revoked task could still run
			// when its next owner starts it.
			_ = s.waitIdle(context.Background())
		}
		return
	case s.target != connect.StateStopped:
		s.pendingStart = true
		s.signal()
	}
	s.mu.Unlock()
}

// restartLocalTasks restarts the given local tasks in place: they stop and
// start again with their configuration, the connector's other tasks run
// on.
func (s *slot) restartLocalTasks(ids []int) error {
	s.assignMu.Lock()
	defer s.assignMu.Unlock()
	s.mu.Lock()
	ta, _ := s.pipe.(connect.TaskAssignable)
	if !s.runningLocked() || ta == nil {
		s.mu.Unlock()
		return nil
	}
	ctx := s.runCtx
	for _, id := range ids {
		s.taskRestarts[id]++
	}
	s.mu.Unlock()
	var errs []error
	for _, id := range ids {
		if err := ta.RestartAssignedTask(ctx, id); err != nil && ctx.Err() == nil {
			s.log.Error("restarting a task", "task", id, "error", s.scrub(err.Error()))
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// runsLocally reports whether task id is assigned to this member.
func (s *slot) runsLocally(id int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Contains(s.localTasks, id)
}

// localConnectorState is the connector instance's state on the member that
// owns it: STOPPED, FAILED (its task configurations could not be
// computed), PAUSED or RUNNING as its target says; and its failure trace.
func (s *slot) localConnectorState() (connect.State, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.target == connect.StateStopped:
		return connect.StateStopped, ""
	case s.connErr != nil:
		return connect.StateFailed, s.secrets.Scrub(ErrorTrace(s.connErr))
	case s.buildErr != nil:
		return connect.StateFailed, s.secrets.Scrub(ErrorTrace(s.buildErr))
	case s.target == connect.StatePaused:
		return connect.StatePaused, ""
	}
	return connect.StateRunning, ""
}

// statusReport is the connector's status as Runner.Status and the REST
// API show it: cluster-wide in cluster mode, this Runner's otherwise.
func (s *slot) statusReport() ConnectorReport {
	var rep ConnectorReport
	if s.clustered && s.r.cluster != nil {
		rep = s.r.cluster.report(s)
	} else {
		rep = s.report()
	}
	rep.Version = s.version()
	return rep
}

// clusterTaskConfigs returns the committed task configurations, masked as
// taskConfigs masks them.
func (s *slot) clusterTaskConfigs() []map[string]string {
	s.mu.Lock()
	cs, secrets := cloneConfigs(s.clusterTasks), s.secrets.Load()
	s.mu.Unlock()
	for _, c := range cs {
		for k, v := range c {
			c[k] = secrets.Scrub(v)
		}
	}
	return cs
}

// ownsConnector reports whether this member runs the connector instance
// (cluster mode).
func (s *slot) ownsConnector() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ownsConn
}

// hasLocalWork reports whether this member runs the connector instance or
// any of its tasks (cluster mode), or had tasks of it run here (their
// counters stay reported).
func (s *slot) hasLocalWork() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ownsConn || len(s.localTasks) > 0 || len(s.acc) > 0
}
