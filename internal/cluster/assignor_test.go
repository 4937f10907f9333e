package cluster

import (
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"
)

// sim is a group of members around one leader's Assignor: each round is a
// generation in which every member rejoins with what it holds, the leader
// assigns, and the members apply the deltas (stop Revoked, start Assigned),
// checking the protocol's invariants on the way.
type sim struct {
	t          *testing.T
	a          *Assignor
	clock      time.Time
	gen        int32
	offset     int64
	connectors map[string]int
	held       map[string]Work // member id → what it runs
	order      []string        // join order (Members order in the input)
	// omitLastCompleted leaves AssignInput.LastCompletedGeneration zero.
	omitLastCompleted bool
	last              map[string]Assignment
}

func newSim(t *testing.T, maxDelay time.Duration, connectors map[string]int, members ...string) *sim {
	t.Helper()
	s := &sim{t: t, clock: time.Date(2026, 12, 6, 16, 0, 0, 0, time.UTC), offset: 42,
		connectors: connectors, held: map[string]Work{}}
	s.a = &Assignor{MaxDelay: maxDelay, Now: func() time.Time { return s.clock }}
	for _, m := range members {
		s.join(m)
	}
	return s
}

func (s *sim) join(id string) {
	s.held[id] = Work{}
	s.order = append(s.order, id)
}

// leave removes a member (a crash or a LeaveGroup: for the leader both are
// a member that no longer joins).
func (s *sim) leave(id string) {
	delete(s.held, id)
	s.order = slices.DeleteFunc(s.order, func(m string) bool { return m == id })
}

func (s *sim) input() AssignInput {
	in := AssignInput{Generation: s.gen + 1, LastCompletedGeneration: s.gen, LeaderID: s.order[0],
		LeaderURL: "http://" + s.order[0] + ":8083/", Protocol: ProtocolSessioned, ConfigOffset: s.offset,
		Connectors: maps.Clone(s.connectors)}
	if s.gen == 0 {
		in.LastCompletedGeneration = -1
	}
	if s.omitLastCompleted {
		in.LastCompletedGeneration = 0
	}
	// Members are listed in reverse join order: the assignor must not
	// depend on it.
	for _, id := range slices.Backward(s.order) {
		md := MemberMetadata{MemberID: id, Metadata: Metadata{Version: ProtocolSessioned,
			URL: "http://" + id + ":8083/", ConfigOffset: s.offset}}
		if len(s.held[id]) > 0 {
			md.Allocation = &Assignment{Version: ProtocolSessioned, Assigned: s.held[id].Clone(), Revoked: Work{}}
		}
		in.Members = append(in.Members, md)
	}
	return in
}

// round runs one generation, checks the invariants and applies the deltas;
// it returns the assignments.
func (s *sim) round() map[string]Assignment {
	s.t.Helper()
	in := s.input()
	out, err := s.a.Assign(in)
	if err != nil {
		s.t.Fatalf("generation %d: %v", in.Generation, err)
	}
	s.gen = in.Generation
	if len(out) != len(s.held) {
		s.t.Fatalf("generation %d: %d assignments for %d members", s.gen, len(out), len(s.held))
	}
	var delay int32 = -1
	for id, held := range s.held {
		as, ok := out[id]
		if !ok {
			s.t.Fatalf("generation %d: no assignment for member %s", s.gen, id)
		}
		if as.Version != ProtocolSessioned || as.Error != AssignmentNoError || as.Leader != in.LeaderID ||
			as.LeaderURL != in.LeaderURL || as.ConfigOffset != s.offset {
			s.t.Fatalf("generation %d: member %s: header %+v", s.gen, id, as)
		}
		if delay >= 0 && as.Delay != delay {
			s.t.Fatalf("generation %d: members got different delays %d and %d", s.gen, delay, as.Delay)
		}
		delay = as.Delay
		for c, ids := range as.Assigned {
			for _, n := range ids {
				if held.Has(c, n) {
					s.t.Errorf("generation %d: member %s assigned %s/%d it already holds", s.gen, id, c, n)
				}
				if as.Revoked.Has(c, n) {
					s.t.Errorf("generation %d: member %s: %s/%d both assigned and revoked", s.gen, id, c, n)
				}
				if _, ok := s.connectors[c]; !ok || n >= int32(s.connectors[c]) {
					s.t.Errorf("generation %d: member %s assigned %s/%d, not in the config", s.gen, id, c, n)
				}
			}
		}
		for c, ids := range as.Revoked {
			for _, n := range ids {
				if !held.Has(c, n) {
					s.t.Errorf("generation %d: member %s told to revoke %s/%d it does not hold", s.gen, id, c, n)
				}
			}
		}
	}
	s.last = out
	for id := range s.held {
		s.held[id] = s.held[id].Minus(out[id].Revoked).Union(out[id].Assigned)
	}
	s.checkNoDuplicates()
	return out
}

// converge runs rounds while some member was told to revoke (a member
// rejoins right after a revocation), at most max rounds; it returns the
// rounds run.
func (s *sim) converge(max int) int {
	s.t.Helper()
	for n := 1; n <= max; n++ {
		revoked := false
		for _, as := range s.round() {
			if len(as.Revoked) > 0 {
				revoked = true
			}
		}
		if !revoked {
			return n
		}
	}
	s.t.Fatalf("no convergence in %d rounds", max)
	return 0
}

func (s *sim) checkNoDuplicates() {
	s.t.Helper()
	owner := map[unit]string{}
	for id, w := range s.held {
		for u := range workSet(w) {
			if o, dup := owner[u]; dup {
				s.t.Errorf("generation %d: %s owned by %s and %s", s.gen, u, o, id)
			}
			owner[u] = id
		}
	}
}

// checkComplete checks that every configured connector and task is owned
// by exactly one member.
func (s *sim) checkComplete() {
	s.t.Helper()
	s.checkNoDuplicates()
	all := Work{}
	for _, w := range s.held {
		all = all.Union(w)
	}
	want := Work{}
	for c, n := range s.connectors {
		want.Add(c, ConnectorTask)
		for i := range int32(n) {
			want.Add(c, i)
		}
	}
	if !reflect.DeepEqual(all, want) {
		s.t.Fatalf("generation %d: owned %v, want %v", s.gen, all, want)
	}
}

func (s *sim) counts(id string) (connectors, tasks int) { return s.held[id].Count() }

func (s *sim) checkTasks(want ...int) {
	s.t.Helper()
	var got []int
	for _, id := range s.order {
		_, n := s.counts(id)
		got = append(got, n)
	}
	if !slices.Equal(got, want) {
		s.t.Fatalf("generation %d: tasks per member %v, want %v (%v)", s.gen, got, want, s.held)
	}
}

func twoConnectors() map[string]int { return map[string]int{"sink": 6, "source": 6} }

func TestAssignOneMemberGetsEverything(t *testing.T) {
	s := newSim(t, 0, twoConnectors(), "a")
	out := s.round()
	want := Work{"sink": {-1, 0, 1, 2, 3, 4, 5}, "source": {-1, 0, 1, 2, 3, 4, 5}}
	if !reflect.DeepEqual(out["a"].Assigned, want) || len(out["a"].Revoked) != 0 || out["a"].Delay != 0 {
		t.Fatalf("assignment %+v, want all of %v", out["a"], want)
	}
	s.checkComplete()
	// A second round changes nothing.
	out = s.round()
	if len(out["a"].Assigned) != 0 || len(out["a"].Revoked) != 0 {
		t.Fatalf("stable round: %+v", out["a"])
	}
}

func TestAssignThreeMembersSpreadEvenly(t *testing.T) {
	s := newSim(t, 0, twoConnectors(), "a", "b", "c")
	if n := s.converge(1); n != 1 {
		t.Fatalf("%d rounds", n)
	}
	s.checkComplete()
	s.checkTasks(4, 4, 4)
	var withConnector int
	for _, id := range s.order {
		if c, _ := s.counts(id); c > 1 {
			t.Fatalf("member %s runs %d connectors", id, c)
		} else if c == 1 {
			withConnector++
		}
	}
	if withConnector != 2 {
		t.Fatalf("connectors on %d members, want 2: %v", withConnector, s.held)
	}
}

func TestAssignFourthMemberRevokesOnlyTheExcess(t *testing.T) {
	s := newSim(t, 10*time.Second, twoConnectors(), "a", "b", "c")
	s.converge(1)
	before := map[string]Work{}
	for id, w := range s.held {
		before[id] = w.Clone()
	}
	s.join("d")

	// Round 1: the excess is revoked from the over-loaded members, d gets
	// nothing yet; nobody is told to revoke more than one task.
	out := s.round()
	if len(out["d"].Assigned) != 0 {
		t.Fatalf("d assigned %v in the revoking round", out["d"].Assigned)
	}
	revokedFrom := map[string]Work{}
	for _, id := range []string{"a", "b", "c"} {
		c, n := out[id].Revoked.Count()
		if c != 0 || n != 1 {
			t.Fatalf("member %s revoked %v, want exactly one task", id, out[id].Revoked)
		}
		if len(out[id].Assigned) != 0 {
			t.Fatalf("member %s assigned %v in the revoking round", id, out[id].Assigned)
		}
		revokedFrom[id] = out[id].Revoked
	}
	// Round 2 (the members rejoin after the revocation): d gets the freed
	// tasks, nothing else moves.
	out = s.round()
	for id, as := range out {
		if len(as.Revoked) != 0 {
			t.Fatalf("member %s revoked %v in the second round", id, as.Revoked)
		}
		if id != "d" && len(as.Assigned) != 0 {
			t.Fatalf("member %s assigned %v in the second round", id, as.Assigned)
		}
	}
	s.checkComplete()
	s.checkTasks(3, 3, 3, 3)
	// Work that stayed was never revoked: each old member holds exactly
	// what it held before minus what was revoked from it.
	for _, id := range []string{"a", "b", "c"} {
		if want := before[id].Minus(revokedFrom[id]); !reflect.DeepEqual(s.held[id], want) {
			t.Fatalf("member %s holds %v, want %v", id, s.held[id], want)
		}
	}
	// And it stays converged.
	if n := s.converge(1); n != 1 {
		t.Fatalf("not stable")
	}
}

func TestAssignDepartureWithoutDelayReassignsAtOnce(t *testing.T) {
	s := newSim(t, 0, twoConnectors(), "a", "b", "c")
	s.converge(1)
	lostWork := s.held["c"].Clone()
	s.leave("c")
	out := s.round()
	got := out["a"].Assigned.Union(out["b"].Assigned)
	if !reflect.DeepEqual(got, lostWork) || out["a"].Delay != 0 {
		t.Fatalf("assigned %v (delay %d), want c's work %v at once", got, out["a"].Delay, lostWork)
	}
	s.converge(3)
	s.checkComplete()
	s.checkTasks(6, 6)
}

func TestAssignDepartureWithDelayHoldsLostWork(t *testing.T) {
	t.Run("last completed generation given", func(t *testing.T) { testDepartureWithDelay(t, false) })
	t.Run("last completed generation unknown", func(t *testing.T) { testDepartureWithDelay(t, true) })
}

func testDepartureWithDelay(t *testing.T, omitLastCompleted bool) {
	s := newSim(t, 10*time.Second, twoConnectors(), "a", "b", "c")
	s.omitLastCompleted = omitLastCompleted
	s.converge(1)
	lostWork := s.held["c"].Clone()
	s.leave("c")

	out := s.round()
	for id, as := range out {
		if len(as.Assigned) != 0 || len(as.Revoked) != 0 || as.Delay != 10000 {
			t.Fatalf("member %s: %+v, want nothing moved and delay 10000", id, as)
		}
	}
	// A rebalance during the delay (e.g. a member restarting its join)
	// reports the remaining time.
	s.clock = s.clock.Add(4 * time.Second)
	out = s.round()
	for id, as := range out {
		if len(as.Assigned) != 0 || len(as.Revoked) != 0 || as.Delay != 6000 {
			t.Fatalf("member %s: %+v, want nothing moved and delay 6000", id, as)
		}
	}
	// At the deadline the lost work is spread over the members.
	s.clock = s.clock.Add(6 * time.Second)
	out = s.round()
	got := out["a"].Assigned.Union(out["b"].Assigned)
	if !reflect.DeepEqual(got, lostWork) || out["a"].Delay != 0 {
		t.Fatalf("assigned %v (delay %d), want c's work %v", got, out["a"].Delay, lostWork)
	}
	s.converge(3)
	s.checkComplete()
	s.checkTasks(6, 6)
}

func TestAssignDelayedLostWorkGoesToNewEmptyMember(t *testing.T) {
	s := newSim(t, 10*time.Second, twoConnectors(), "a", "b", "c")
	s.converge(1)
	lostWork := s.held["c"].Clone()
	s.leave("c")
	s.round()
	// c restarts with a new member id while the delay runs.
	s.clock = s.clock.Add(3 * time.Second)
	s.join("c2")
	out := s.round()
	for id, as := range out {
		if len(as.Assigned) != 0 || len(as.Revoked) != 0 || as.Delay != 7000 {
			t.Fatalf("member %s: %+v, want nothing moved and delay 7000", id, as)
		}
	}
	// New work created during the delay is not held back: it goes to the
	// least loaded member, c2, which is then no longer empty.
	s.clock = s.clock.Add(time.Second)
	s.connectors["extra"] = 2
	out = s.round()
	if as := out["c2"]; as.Delay != 6000 || !reflect.DeepEqual(as.Assigned, Work{"extra": {-1, 0, 1}}) {
		t.Fatalf("c2: %+v, want extra's connector and tasks with delay 6000", as)
	}
	// At the deadline the lost work goes to c2, the member that joined empty
	// during the delay, although it is not the least loaded (2 tasks, a and b
	// 4): all of it but what exceeds c2's share (ceil(14/3) = 5 tasks), which
	// goes to the least loaded. Spreading it as new work would instead have
	// given c2 two tasks and a and b one each.
	s.clock = s.clock.Add(6 * time.Second)
	out = s.round()
	if out["c2"].Delay != 0 {
		t.Fatalf("delay %d after the deadline", out["c2"].Delay)
	}
	got := Work{}
	for id, as := range out {
		if len(as.Revoked) != 0 {
			t.Fatalf("member %s revoked %v", id, as.Revoked)
		}
		got = got.Union(as.Assigned)
	}
	if !reflect.DeepEqual(got, lostWork) {
		t.Fatalf("assigned %v, want the lost work %v", got, lostWork)
	}
	if _, n := out["c2"].Assigned.Count(); n != 3 || len(out["b"].Assigned) != 0 {
		t.Fatalf("c2 assigned %v, b %v: want 3 of the lost tasks on c2, none on b", out["c2"].Assigned, out["b"].Assigned)
	}
	if n := s.converge(1); n != 1 {
		t.Fatalf("not stable")
	}
	s.checkComplete()
	s.checkTasks(5, 4, 5)
}

func TestAssignMemberBackWithSameIDKeepsItsWork(t *testing.T) {
	s := newSim(t, 10*time.Second, twoConnectors(), "a", "b", "c")
	s.converge(1)
	cWork := s.held["c"].Clone()
	s.leave("c")
	s.round()
	s.clock = s.clock.Add(time.Second)
	// c rejoins with the same member id and its allocation: nothing is lost
	// any more, the delay ends.
	s.join("c")
	s.held["c"] = cWork
	out := s.round()
	for id, as := range out {
		if len(as.Assigned) != 0 || len(as.Revoked) != 0 || as.Delay != 0 {
			t.Fatalf("member %s: %+v, want nothing moved and no delay", id, as)
		}
	}
	s.checkComplete()
}

func TestAssignDeletedConnectorRevoked(t *testing.T) {
	s := newSim(t, 10*time.Second, twoConnectors(), "a", "b", "c")
	s.converge(1)
	delete(s.connectors, "sink")
	out := s.round()
	revoked := Work{}
	for id, as := range out {
		if len(as.Assigned) != 0 || as.Delay != 0 {
			t.Fatalf("member %s: %+v", id, as)
		}
		for c := range as.Revoked {
			if c != "sink" {
				t.Fatalf("member %s: revoked %v", id, as.Revoked)
			}
		}
		revoked = revoked.Union(as.Revoked)
	}
	if want := (Work{"sink": {-1, 0, 1, 2, 3, 4, 5}}); !reflect.DeepEqual(revoked, want) {
		t.Fatalf("revoked %v, want %v", revoked, want)
	}
	s.converge(3)
	s.checkComplete()
}

func TestAssignTaskCountShrinkRevokesHighIDs(t *testing.T) {
	s := newSim(t, 10*time.Second, twoConnectors(), "a", "b", "c")
	s.converge(1)
	s.connectors["source"] = 4
	out := s.round()
	revoked := Work{}
	for id, as := range out {
		if len(as.Assigned) != 0 {
			t.Fatalf("member %s assigned %v", id, as.Assigned)
		}
		revoked = revoked.Union(as.Revoked)
	}
	if want := (Work{"source": {4, 5}}); !reflect.DeepEqual(revoked, want) {
		t.Fatalf("revoked %v, want %v", revoked, want)
	}
	s.converge(3)
	s.checkComplete()
	// And growing it again assigns the new ids.
	s.connectors["source"] = 8
	out = s.round()
	assigned := Work{}
	for _, as := range out {
		assigned = assigned.Union(as.Assigned)
	}
	if want := (Work{"source": {4, 5, 6, 7}}); !reflect.DeepEqual(assigned, want) {
		t.Fatalf("assigned %v, want %v", assigned, want)
	}
	s.converge(3)
	s.checkComplete()
}

func TestAssignDuplicatesRevokedFromAllButOne(t *testing.T) {
	a := &Assignor{}
	in := AssignInput{Generation: 5, LastCompletedGeneration: 4, LeaderID: "a", Protocol: ProtocolCompatible,
		ConfigOffset: 3, Connectors: map[string]int{"src": 2},
		Members: []MemberMetadata{
			{MemberID: "b", Metadata: Metadata{Allocation: &Assignment{Assigned: Work{"src": {-1, 0, 1}}}}},
			{MemberID: "a", Metadata: Metadata{Allocation: &Assignment{Assigned: Work{"src": {0}}}}},
			{MemberID: "c", Metadata: Metadata{Allocation: &Assignment{Assigned: Work{"src": {0, 1}}}}},
		}}
	out, err := a.Assign(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(out["a"].Revoked) != 0 {
		t.Fatalf("a (first holder by id) revoked %v", out["a"].Revoked)
	}
	if want := (Work{"src": {0}}); !reflect.DeepEqual(out["b"].Revoked, want) {
		t.Fatalf("b revoked %v, want %v", out["b"].Revoked, want)
	}
	if want := (Work{"src": {0, 1}}); !reflect.DeepEqual(out["c"].Revoked, want) {
		t.Fatalf("c revoked %v, want %v", out["c"].Revoked, want)
	}
	for id, as := range out {
		if len(as.Assigned) != 0 {
			t.Fatalf("member %s assigned %v", id, as.Assigned)
		}
	}
}

func TestAssignConfigMismatch(t *testing.T) {
	mk := func() *sim {
		s := newSim(t, 10*time.Second, twoConnectors(), "a", "b", "c")
		s.converge(1)
		s.leave("c") // a delay is running: state that must survive untouched
		s.round()
		return s
	}
	s, twin := mk(), mk()
	in := s.input()
	in.Members[1].ConfigOffset = s.offset + 5
	out, err := s.a.Assign(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 {
		t.Fatalf("%d assignments", len(out))
	}
	for id, as := range out {
		want := Assignment{Version: ProtocolSessioned, Error: AssignmentConfigMismatch, Leader: in.LeaderID,
			LeaderURL: in.LeaderURL, ConfigOffset: s.offset + 5, Assigned: Work{}, Revoked: Work{}}
		if !reflect.DeepEqual(as, want) {
			t.Fatalf("member %s: %+v, want %+v", id, as, want)
		}
	}
	// The state is unchanged: the next rounds match the twin's, which never
	// saw the mismatch.
	for range 2 {
		s.clock = s.clock.Add(6 * time.Second)
		twin.clock = twin.clock.Add(6 * time.Second)
		if got, want := s.round(), twin.round(); !reflect.DeepEqual(got, want) {
			t.Fatalf("after a mismatch %+v, without %+v", got, want)
		}
	}
}

func TestAssignDeterministic(t *testing.T) {
	in := AssignInput{Generation: 9, LastCompletedGeneration: -1, LeaderID: "m1", LeaderURL: "http://m1/",
		Protocol: ProtocolCompatible, ConfigOffset: 11,
		Connectors: map[string]int{"x": 5, "y": 3, "z": 0, "w": 7}}
	for _, id := range []string{"m3", "m1", "m4", "m2"} {
		in.Members = append(in.Members, MemberMetadata{MemberID: id, Metadata: Metadata{Version: 1, ConfigOffset: 11}})
	}
	in.Members[2].Allocation = &Assignment{Assigned: Work{"x": {-1, 0, 1, 2, 3, 4}, "w": {0, 1, 2, 3, 4}}}
	first, err := (&Assignor{}).Assign(in)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		shuffled := in
		shuffled.Members = slices.Clone(in.Members)
		slices.Reverse(shuffled.Members)
		got, err := (&Assignor{}).Assign(shuffled)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, first) {
			t.Fatalf("different output for the same input:\n%+v\n%+v", got, first)
		}
		got, err = (&Assignor{}).Assign(in)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, first) {
			t.Fatalf("different output for the same input:\n%+v\n%+v", got, first)
		}
	}
}

func TestAssignGenerationMismatchDropsPreviousView(t *testing.T) {
	s := newSim(t, 10*time.Second, twoConnectors(), "a", "b", "c")
	s.converge(1)
	s.round() // generation 2: generation 1 is not "unknown" (0)
	lostWork := s.held["c"].Clone()
	s.leave("c")
	// The last generation this leader computed never completed: it must not
	// trust its view, so c's work is not known as lost, only as unassigned,
	// and is assigned at once.
	for _, tc := range []struct {
		name                  string
		generation, completed int32
	}{
		{"last completed generation not the last computed", s.gen + 1, s.gen - 1},
		{"no completed generation", s.gen + 1, -1},
		{"last completed generation unknown, a generation went by", s.gen + 2, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := *s.a // the same state, twice
			in := s.input()
			in.Generation, in.LastCompletedGeneration = tc.generation, tc.completed
			out, err := a.Assign(in)
			if err != nil {
				t.Fatal(err)
			}
			got := out["a"].Assigned.Union(out["b"].Assigned)
			if !reflect.DeepEqual(got, lostWork) || out["a"].Delay != 0 {
				t.Fatalf("assigned %v (delay %d), want %v at once", got, out["a"].Delay, lostWork)
			}
		})
	}
}

func TestAssignConsecutiveRevocationsThrottled(t *testing.T) {
	for _, tc := range []struct {
		name     string
		maxDelay time.Duration
		delay    int32
	}{
		{"backoff", 10 * time.Second, 40},
		{"no delay", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, tc.maxDelay, twoConnectors(), "a", "b", "c")
			s.converge(1)
			s.join("d")
			s.round() // revokes one task from each of a, b, c
			s.join("e")
			out := s.round() // a second revoking round would be needed
			revoked := 0
			for _, as := range out {
				if as.Delay != tc.delay {
					t.Fatalf("delay %d, want %d", as.Delay, tc.delay)
				}
				_, n := as.Revoked.Count()
				revoked += n
			}
			if tc.delay > 0 && revoked != 0 {
				t.Fatalf("revoked %d tasks in a consecutive revoking round", revoked)
			}
			if tc.delay == 0 && revoked == 0 {
				t.Fatal("no revocation in a consecutive round with no backoff")
			}
			s.clock = s.clock.Add(time.Duration(tc.delay) * time.Millisecond)
			s.converge(4)
			s.checkComplete()
			for _, id := range s.order {
				if _, n := s.counts(id); n < 2 || n > 3 {
					t.Fatalf("member %s runs %d tasks, want 2 or 3: %v", id, n, s.held)
				}
			}
		})
	}
}

func TestAssignRejectsBadInput(t *testing.T) {
	member := func(id string) MemberMetadata { return MemberMetadata{MemberID: id} }
	for _, tc := range []struct {
		name string
		in   AssignInput
	}{
		{"eager", AssignInput{Protocol: ProtocolDefault, Members: []MemberMetadata{member("a")}}},
		{"unknown protocol", AssignInput{Protocol: 3, Members: []MemberMetadata{member("a")}}},
		{"no members", AssignInput{Protocol: ProtocolCompatible}},
		{"empty id", AssignInput{Protocol: ProtocolCompatible, Members: []MemberMetadata{member("")}}},
		{"repeated id", AssignInput{Protocol: ProtocolCompatible, Members: []MemberMetadata{member("a"), member("a")}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if out, err := (&Assignor{}).Assign(tc.in); err == nil {
				t.Fatalf("no error: %+v", out)
			}
		})
	}
}

func TestAssignNewLeaderRevokesDeletedWork(t *testing.T) {
	// A leader with no view of the previous assignment (it just became
	// leader) still revokes what members hold of deleted connectors and
	// tasks.
	out, err := (&Assignor{MaxDelay: time.Minute}).Assign(AssignInput{Generation: 7, LastCompletedGeneration: 6,
		LeaderID: "a", Protocol: ProtocolSessioned, ConfigOffset: 9, Connectors: map[string]int{"kept": 1},
		Members: []MemberMetadata{
			{MemberID: "a", Metadata: Metadata{Allocation: &Assignment{Assigned: Work{"gone": {-1, 0}, "kept": {-1, 0, 1}}}}},
			{MemberID: "b", Metadata: Metadata{Allocation: &Assignment{Assigned: Work{"gone": {1}}}}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Work{"gone": {-1, 0}, "kept": {1}}); !reflect.DeepEqual(out["a"].Revoked, want) {
		t.Fatalf("a revoked %v, want %v", out["a"].Revoked, want)
	}
	if want := (Work{"gone": {1}}); !reflect.DeepEqual(out["b"].Revoked, want) {
		t.Fatalf("b revoked %v, want %v", out["b"].Revoked, want)
	}
	if len(out["a"].Assigned)+len(out["b"].Assigned) != 0 {
		t.Fatalf("assigned %v and %v", out["a"].Assigned, out["b"].Assigned)
	}
}

func TestAssignNoBalancingRevocationsDuringDelay(t *testing.T) {
	s := newSim(t, 10*time.Second, twoConnectors(), "a", "b", "c")
	s.converge(1)
	s.leave("c")
	s.round()
	// Two members join while c's work is held back: a and b hold more than
	// 12/4 tasks, but nothing is revoked until the delay is over.
	s.clock = s.clock.Add(time.Second)
	s.join("d")
	s.join("e")
	for id, as := range s.round() {
		if len(as.Revoked) != 0 || len(as.Assigned) != 0 || as.Delay != 9000 {
			t.Fatalf("member %s: %+v, want nothing moved and delay 9000", id, as)
		}
	}
	s.clock = s.clock.Add(9 * time.Second)
	s.converge(4)
	s.checkComplete()
	s.checkTasks(3, 3, 3, 3)
}

func TestAssignMissingWorkWithoutDepartureReassignedAtOnce(t *testing.T) {
	// A member that did not get its last assignment (its SyncGroup failed)
	// rejoins without the work: no member departed, so the work is assigned
	// again at once, delay or not.
	s := newSim(t, 10*time.Second, twoConnectors(), "a", "b", "c")
	s.converge(1)
	missing := s.held["b"].Clone()
	s.held["b"] = Work{}
	out := s.round()
	if !reflect.DeepEqual(out["b"].Assigned, missing) || out["b"].Delay != 0 {
		t.Fatalf("b: %+v, want %v again at once", out["b"], missing)
	}
	s.checkComplete()
}
