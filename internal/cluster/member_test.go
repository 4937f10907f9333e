package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/internal/kafkatest"
)

// rrHandler spreads a fixed Work round-robin over the members, sorted by
// id, cooperatively: a round revokes what a member must give up and assigns
// only work no other member reports holding; the second round hands out
// what was freed.
type rrHandler struct {
	work Work
	// assignHook, if set, may change the assignments the leader returns.
	assignHook func(gen Generation, out map[string]Assignment) error
	// slowRevoke, if set, is how long the first Revoke takes.
	slowRevoke time.Duration

	mu       sync.Mutex
	held     Work
	gen      Generation
	revokes  []Work
	assigned []Assignment
}

func (h *rrHandler) ConfigOffset() int64 { return 0 }

func (h *rrHandler) Assign(_ context.Context, gen Generation, members []MemberMetadata) (map[string]Assignment, error) {
	ids := make([]string, 0, len(members))
	prev := map[string]Work{}
	owner := map[string]string{} // "c/id" -> member
	for _, m := range members {
		ids = append(ids, m.MemberID)
		w := Work{}
		if m.Allocation != nil {
			w = m.Allocation.Assigned
		}
		prev[m.MemberID] = w
		for c, tids := range w {
			for _, id := range tids {
				owner[fmt.Sprint(c, "/", id)] = m.MemberID
			}
		}
	}
	slices.Sort(ids)
	target := map[string]Work{}
	for _, id := range ids {
		target[id] = Work{}
	}
	i := 0
	for _, c := range h.work.Connectors() {
		for _, id := range h.work[c] {
			target[ids[i%len(ids)]].Add(c, id)
			i++
		}
	}
	out := map[string]Assignment{}
	for _, id := range ids {
		assigned := target[id].Minus(prev[id])
		for c, tids := range assigned {
			for _, tid := range tids {
				if o, ok := owner[fmt.Sprint(c, "/", tid)]; ok && o != id {
					assigned.Remove(c, tid)
				}
			}
		}
		out[id] = Assignment{Leader: gen.LeaderID, ConfigOffset: 0,
			Assigned: assigned, Revoked: prev[id].Minus(target[id])}
	}
	if h.assignHook != nil {
		if err := h.assignHook(gen, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (h *rrHandler) Revoke(_ context.Context, revoked Work) {
	h.mu.Lock()
	d := h.slowRevoke
	h.slowRevoke = 0
	h.mu.Unlock()
	time.Sleep(d)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.held = h.held.Minus(revoked)
	h.revokes = append(h.revokes, revoked)
}

func (h *rrHandler) Assigned(_ context.Context, gen Generation, held Work, a Assignment) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.held, h.gen = held, gen
	h.assigned = append(h.assigned, a)
}

func (h *rrHandler) state() (Work, Generation) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.held.Clone(), h.gen
}

// memberTestWork is 3 connectors with 4 tasks each, plus their instances.
func memberTestWork() Work {
	w := Work{}
	for _, c := range []string{"alpha", "beta", "gamma"} {
		for id := int32(-1); id < 4; id++ {
			w.Add(c, id)
		}
	}
	return w
}

type memberUnderTest struct {
	m      *Member
	h      *rrHandler
	cancel context.CancelFunc
	done   chan error
}

func startTestMember(t *testing.T, addrs []string, group string, work Work, hook func(Generation, map[string]Assignment) error) *memberUnderTest {
	t.Helper()
	h := &rrHandler{work: work, assignHook: hook}
	conf := kafkatest.SaramaConfig(t)
	m, err := NewMember(MemberConfig{
		Addrs: addrs, Sarama: conf, GroupID: group, URL: "http://" + t.Name() + "/",
		SessionTimeout: 6 * time.Second, HeartbeatInterval: 500 * time.Millisecond, RebalanceTimeout: 10 * time.Second,
		Logger:  slog.New(slog.DiscardHandler),
		Handler: h,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tm := &memberUnderTest{m: m, h: h, cancel: cancel, done: make(chan error, 1)}
	go func() { tm.done <- m.Run(ctx) }()
	t.Cleanup(func() { tm.stop(t) })
	return tm
}

// stop cancels the member and waits for Run to return nil.
func (tm *memberUnderTest) stop(t *testing.T) {
	t.Helper()
	if tm.cancel == nil {
		return
	}
	tm.cancel()
	tm.cancel = nil
	select {
	case err := <-tm.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("Run did not return after its context was cancelled")
	}
}

func memberGroupID(t *testing.T) string {
	return strings.ReplaceAll(kafkatest.Topic(t), "/", "-") + "-group"
}

// waitMembers polls cond until it is true or a generous deadline passes.
func waitMembers(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		ok, s := cond()
		if ok {
			return
		}
		last = s
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s; last state: %s", what, last)
}

// membersConverged reports whether ms hold work exactly, disjointly, in shares
// that differ by at most one, all in the same generation, and their
// handlers agree with their Stats.
func membersConverged(work Work, ms ...*memberUnderTest) (bool, string) {
	union := Work{}
	total := 0
	var gens []int32
	var sizes []int
	var desc []string
	for _, tm := range ms {
		held, gen := tm.h.state()
		st := tm.m.Stats()
		n := 0
		for c, ids := range held {
			for _, id := range ids {
				if union.Has(c, id) {
					return false, fmt.Sprintf("%s/%d held twice", c, id)
				}
				union.Add(c, id)
				n++
			}
		}
		total += n
		sizes = append(sizes, n)
		gens = append(gens, gen.ID)
		desc = append(desc, fmt.Sprintf("gen %d held %v (stats gen %d held %v rebalancing %v)", gen.ID, held, st.Generation, st.Held, st.Rebalancing))
		if st.Generation != gen.ID || st.Rebalancing || fmt.Sprint(st.Held) != fmt.Sprint(held) {
			return false, strings.Join(desc, "; ")
		}
	}
	s := strings.Join(desc, "; ")
	if fmt.Sprint(union) != fmt.Sprint(work) {
		return false, s
	}
	if slices.Max(sizes)-slices.Min(sizes) > 1 || slices.Min(gens) != slices.Max(gens) {
		return false, s
	}
	return true, s
}

func TestMemberGroupLifecycle(t *testing.T) {
	addrs := kafkatest.Brokers(t)
	group := memberGroupID(t)
	work := memberTestWork()
	a := startTestMember(t, addrs, group, work, nil)
	b := startTestMember(t, addrs, group, work, nil)
	c := startTestMember(t, addrs, group, work, nil)
	waitMembers(t, "3 members to converge", func() (bool, string) { return membersConverged(work, a, b, c) })

	d := startTestMember(t, addrs, group, work, nil)
	waitMembers(t, "a 4th member to get its share", func() (bool, string) { return membersConverged(work, a, b, c, d) })
	if held, _ := d.h.state(); len(held) == 0 {
		t.Fatalf("the 4th member holds nothing")
	}

	// b leaves: it revokes everything it held, the others take its work.
	bHeld, _ := b.h.state()
	b.stop(t)
	if held, _ := b.h.state(); len(held) != 0 {
		t.Errorf("after Run returned b still holds %v", held)
	}
	b.h.mu.Lock()
	lastRevoke := b.h.revokes[len(b.h.revokes)-1]
	b.h.mu.Unlock()
	if fmt.Sprint(lastRevoke) != fmt.Sprint(bHeld) {
		t.Errorf("b's last Revoke was %v, want everything it held: %v", lastRevoke, bHeld)
	}
	waitMembers(t, "the others to take the leaver's work", func() (bool, string) { return membersConverged(work, a, c, d) })

	for _, tm := range []*memberUnderTest{a, c, d} {
		st := tm.m.Stats()
		if st.Joins < 2 || st.Syncs < 2 || st.Rebalances < 2 || st.Heartbeats < 1 || st.LastRebalance.IsZero() ||
			st.LastHeartbeat.IsZero() || st.JoinTimeTotal <= 0 || st.SyncTimeTotal <= 0 || st.RebalanceTimeMax <= 0 ||
			st.MemberID == "" || st.LeaderID == "" || st.LeaderURL == "" || st.Protocol != ProtocolSessioned {
			t.Errorf("stats: %+v", st)
		}
	}
}

// A member that stops heartbeating without leaving (a crashed process) is
// dropped by the group after the session timeout; when it notices, it
// revokes everything it held.
func TestMemberFrozenIsDropped(t *testing.T) {
	t.Parallel() // slow: waits out session timeouts
	addrs := kafkatest.Brokers(t)
	group := memberGroupID(t)
	work := memberTestWork()
	a := startTestMember(t, addrs, group, work, nil)
	b := startTestMember(t, addrs, group, work, nil)
	c := startTestMember(t, addrs, group, work, nil)
	waitMembers(t, "3 members to converge", func() (bool, string) { return membersConverged(work, a, b, c) })

	cHeld, _ := c.h.state()
	c.m.frozen.Store(true)
	waitMembers(t, "the others to rebalance without the frozen member", func() (bool, string) { return membersConverged(work, a, b) })
	waitMembers(t, "the frozen member to revoke everything", func() (bool, string) {
		c.h.mu.Lock()
		defer c.h.mu.Unlock()
		n := len(c.h.revokes)
		return len(c.h.held) == 0 && n > 0 && fmt.Sprint(c.h.revokes[n-1]) == fmt.Sprint(cHeld),
			fmt.Sprintf("held %v revokes %v", c.h.held, c.h.revokes)
	})
	if st := c.m.Stats(); len(st.Held) != 0 {
		t.Errorf("frozen member's stats still hold %v", st.Held)
	}

	c.m.frozen.Store(false)
	waitMembers(t, "the thawed member to come back", func() (bool, string) { return membersConverged(work, a, b, c) })
}

// The member heartbeats while its handler stops revoked work: a Revoke
// slower than the session timeout does not cost it its membership.
func TestMemberHeartbeatsDuringRevoke(t *testing.T) {
	t.Parallel() // slow: waits out session timeouts
	addrs := kafkatest.Brokers(t)
	group := memberGroupID(t)
	work := memberTestWork()
	a := startTestMember(t, addrs, group, work, nil)
	b := startTestMember(t, addrs, group, work, nil)
	waitMembers(t, "2 members to converge", func() (bool, string) { return membersConverged(work, a, b) })
	idA, idB := a.m.Stats().MemberID, b.m.Stats().MemberID
	for _, tm := range []*memberUnderTest{a, b} {
		tm.h.mu.Lock()
		tm.h.slowRevoke = 7500 * time.Millisecond // session timeout: 6 s
		tm.h.revokes = nil
		tm.h.mu.Unlock()
	}
	c := startTestMember(t, addrs, group, work, nil)
	waitMembers(t, "3 members to converge", func() (bool, string) { return membersConverged(work, a, b, c) })
	for _, tm := range []*memberUnderTest{a, b} {
		tm.h.mu.Lock()
		if len(tm.h.revokes) != 1 {
			t.Errorf("revocations: %v, want one partial revocation", tm.h.revokes)
		}
		tm.h.mu.Unlock()
	}
	if a.m.Stats().MemberID != idA || b.m.Stats().MemberID != idB {
		t.Errorf("member ids changed: %s %s -> %s %s", idA, idB, a.m.Stats().MemberID, b.m.Stats().MemberID)
	}
}

// Rejoin starts a new generation.
func TestMemberRejoin(t *testing.T) {
	addrs := kafkatest.Brokers(t)
	group := memberGroupID(t)
	work := memberTestWork()
	a := startTestMember(t, addrs, group, work, nil)
	b := startTestMember(t, addrs, group, work, nil)
	waitMembers(t, "2 members to converge", func() (bool, string) { return membersConverged(work, a, b) })
	_, gen := a.h.state()
	before := a.m.Stats().Rebalances
	b.m.Rejoin()
	waitMembers(t, "a new generation", func() (bool, string) {
		ok, s := membersConverged(work, a, b)
		_, g := a.h.state()
		return ok && g.ID > gen.ID, s
	})
	if after := a.m.Stats().Rebalances; after <= before {
		t.Errorf("rebalances %d -> %d", before, after)
	}
}

// An assignment with a Delay schedules a rebalance after it; one with
// AssignmentConfigMismatch is not applied and the members rejoin.
func TestMemberDelayAndConfigMismatch(t *testing.T) {
	addrs := kafkatest.Brokers(t)
	group := memberGroupID(t)
	work := memberTestWork()
	var mu sync.Mutex
	calls := 0
	hook := func(gen Generation, out map[string]Assignment) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		for id, a := range out {
			switch calls {
			case 1:
				a.Error = AssignmentConfigMismatch
			case 2:
				a.Delay = 1000
			}
			out[id] = a
		}
		return nil
	}
	a := startTestMember(t, addrs, group, work, hook)
	// The leader's third Assign call can come before the member applied
	// the second generation's assignment: wait for both.
	waitMembers(t, "the scheduled rebalance", func() (bool, string) {
		ok, s := membersConverged(work, a)
		mu.Lock()
		n := calls
		mu.Unlock()
		a.h.mu.Lock()
		k := len(a.h.assigned)
		a.h.mu.Unlock()
		return ok && n >= 3 && k >= 2, fmt.Sprintf("%d assign calls, %d assignments applied; %s", n, k, s)
	})
	a.h.mu.Lock()
	defer a.h.mu.Unlock()
	for _, as := range a.h.assigned {
		if as.Error != AssignmentNoError {
			t.Errorf("Assigned was called with a mismatch assignment: %+v", as)
		}
	}
	if len(a.h.assigned) < 2 || a.h.assigned[0].Delay != 1000 {
		t.Errorf("assignments: %+v", a.h.assigned)
	}
	if st := a.m.Stats(); st.FailedRebalances < 1 {
		t.Errorf("the mismatch did not count as a failed rebalance: %+v", st)
	}
}

// An Assign error makes the leader rejoin; the group still converges.
func TestMemberAssignError(t *testing.T) {
	addrs := kafkatest.Brokers(t)
	group := memberGroupID(t)
	work := memberTestWork()
	var mu sync.Mutex
	calls := 0
	hook := func(Generation, map[string]Assignment) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			return errors.New("boom")
		}
		return nil
	}
	a := startTestMember(t, addrs, group, work, hook)
	waitMembers(t, "convergence after an Assign error", func() (bool, string) { return membersConverged(work, a) })
	if st := a.m.Stats(); st.FailedRebalances < 1 {
		t.Errorf("the Assign error did not count as a failed rebalance: %+v", st)
	}
}

// A group whose members speak another protocol type refuses the member for
// good: Run returns the error.
func TestMemberInconsistentProtocol(t *testing.T) {
	addrs := kafkatest.Brokers(t)
	group := memberGroupID(t)
	conf := kafkatest.SaramaConfig(t)
	client, err := sarama.NewClient(addrs, conf)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	coord, err := client.Coordinator(group)
	if err != nil {
		t.Fatal(err)
	}
	// A "consumer" member joins first and stays for its session.
	memberID := ""
	for i := 0; ; i++ {
		jr := sarama.NewJoinGroupRequest(conf.Version)
		jr.GroupId, jr.MemberId, jr.ProtocolType = group, memberID, "consumer"
		jr.SessionTimeout, jr.RebalanceTimeout = 30000, 10000
		jr.AddGroupProtocol("range", []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
		resp, err := coord.JoinGroup(jr)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Err == sarama.ErrMemberIdRequired && i == 0 {
			memberID = resp.MemberId
			continue
		}
		if resp.Err != sarama.ErrNoError {
			t.Fatal(resp.Err)
		}
		break
	}
	m, err := NewMember(MemberConfig{Addrs: addrs, Sarama: conf, GroupID: group, Handler: &rrHandler{},
		SessionTimeout: 6 * time.Second, HeartbeatInterval: time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = m.Run(ctx)
	if !errors.Is(err, sarama.ErrInconsistentGroupProtocol) {
		t.Fatalf("Run: %v, want INCONSISTENT_GROUP_PROTOCOL", err)
	}
}

func TestMemberConfigValidate(t *testing.T) {
	ok := MemberConfig{Addrs: []string{"x:1"}, GroupID: "g", Handler: &rrHandler{}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	old := sarama.NewConfig()
	old.Version = sarama.V2_0_0_0
	bad := map[string]func(c *MemberConfig){
		"no addrs":      func(c *MemberConfig) { c.Addrs = nil },
		"no group":      func(c *MemberConfig) { c.GroupID = "" },
		"no handler":    func(c *MemberConfig) { c.Handler = nil },
		"old version":   func(c *MemberConfig) { c.Sarama = old },
		"eager":         func(c *MemberConfig) { c.Protocols = []int16{ProtocolSessioned, ProtocolDefault} },
		"unknown":       func(c *MemberConfig) { c.Protocols = []int16{7} },
		"twice":         func(c *MemberConfig) { c.Protocols = []int16{1, 1} },
		"heartbeat":     func(c *MemberConfig) { c.HeartbeatInterval = 20 * time.Second },
		"negative time": func(c *MemberConfig) { c.RebalanceTimeout = -1 },
	}
	for name, f := range bad {
		c := ok
		f(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: no error", name)
		}
		if _, err := NewMember(c); err == nil {
			t.Errorf("%s: NewMember accepted it", name)
		}
	}
}

// A member whose coordinator becomes unreachable revokes everything once
// the session timeout has passed (it may no longer be a member), and Run
// still returns promptly when cancelled. The broker must be stopped, so
// this runs on the in-process broker only.
func TestMemberCoordinatorUnreachable(t *testing.T) {
	t.Parallel() // slow: waits out session timeouts
	broker, err := kafkatest.StartBroker()
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			broker.Close()
		}
	}()
	work := memberTestWork()
	a := startTestMember(t, broker.Addrs(), memberGroupID(t), work, nil)
	waitMembers(t, "the member to take the work", func() (bool, string) { return membersConverged(work, a) })
	held, _ := a.h.state()
	broker.Close()
	stopped = true
	waitMembers(t, "the member to revoke everything", func() (bool, string) {
		a.h.mu.Lock()
		defer a.h.mu.Unlock()
		n := len(a.h.revokes)
		return len(a.h.held) == 0 && n > 0 && fmt.Sprint(a.h.revokes[n-1]) == fmt.Sprint(held),
			fmt.Sprintf("held %v revokes %v", a.h.held, a.h.revokes)
	})
	a.stop(t)
}

// The leader heartbeats while its Assign runs: an Assign slower than the
// session timeout costs nobody their membership.
func TestMemberHeartbeatsDuringAssign(t *testing.T) {
	t.Parallel() // slow: waits out session timeouts
	addrs := kafkatest.Brokers(t)
	group := memberGroupID(t)
	work := memberTestWork()
	var mu sync.Mutex
	slow, slowLeader := false, ""
	hook := func(gen Generation, _ map[string]Assignment) error {
		mu.Lock()
		s := slow
		if s {
			slow, slowLeader = false, gen.LeaderID
		}
		mu.Unlock()
		if s {
			time.Sleep(7500 * time.Millisecond) // session timeout: 6 s
		}
		return nil
	}
	a := startTestMember(t, addrs, group, work, hook)
	waitMembers(t, "the first member to take the work", func() (bool, string) { return membersConverged(work, a) })
	idA := a.m.Stats().MemberID
	mu.Lock()
	slow = true
	mu.Unlock()
	b := startTestMember(t, addrs, group, work, hook)
	waitMembers(t, "2 members to converge", func() (bool, string) { return membersConverged(work, a, b) })
	mu.Lock()
	defer mu.Unlock()
	if slowLeader != idA {
		t.Fatalf("the slow Assign ran on leader %q, not on the first member %q", slowLeader, idA)
	}
	if got := a.m.Stats().MemberID; got != idA {
		t.Errorf("the leader lost its membership: member id %s -> %s", idA, got)
	}
	a.h.mu.Lock()
	defer a.h.mu.Unlock()
	if len(a.h.revokes) != 1 {
		t.Errorf("leader's revocations: %v, want one partial revocation", a.h.revokes)
	}
}

// Cancelling Run's context interrupts a JoinGroup the coordinator holds
// for the whole rebalance: Run returns without waiting the rebalance
// timeout out.
func TestMemberCancelDuringJoin(t *testing.T) {
	addrs := kafkatest.Brokers(t)
	group := memberGroupID(t)
	conf := kafkatest.SaramaConfig(t)
	client, err := sarama.NewClient(addrs, conf)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	coord, err := client.Coordinator(group)
	if err != nil {
		t.Fatal(err)
	}
	// A silent "connect" member with a long rebalance timeout: once it
	// stops answering, a new member's JoinGroup waits for it for a minute.
	memberID := ""
	for i := 0; ; i++ {
		jr := sarama.NewJoinGroupRequest(conf.Version)
		jr.GroupId, jr.MemberId, jr.ProtocolType = group, memberID, protocolType
		jr.SessionTimeout, jr.RebalanceTimeout = 45000, 60000
		jr.AddGroupProtocol(ProtocolName(ProtocolSessioned), EncodeMetadata(Metadata{Version: 2, ConfigOffset: -1}))
		resp, err := coord.JoinGroup(jr)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Err == sarama.ErrMemberIdRequired && i == 0 {
			memberID = resp.MemberId
			continue
		}
		if resp.Err != sarama.ErrNoError {
			t.Fatal(resp.Err)
		}
		break
	}
	m, err := NewMember(MemberConfig{Addrs: addrs, Sarama: conf, GroupID: group, Handler: &rrHandler{work: memberTestWork()},
		SessionTimeout: 6 * time.Second, HeartbeatInterval: 500 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	waitMembers(t, "the JoinGroup to be under way", func() (bool, string) {
		return m.Stats().Rebalancing, "not rebalancing"
	})
	time.Sleep(time.Second)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("Run did not return within 30 s of its context being cancelled, during a JoinGroup held for 60 s")
	}
	if st := m.Stats(); st.Joins != 0 {
		t.Errorf("the JoinGroup completed (%+v): the test did not block it", st)
	}
	if err := m.Run(context.Background()); err == nil {
		t.Errorf("a second Run did not fail")
	}
}
