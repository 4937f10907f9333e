package cluster

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// Assignor is the leader's incremental cooperative assignor (Kafka Connect's
// IncrementalCooperativeAssignor, KIP-415): given the members of a new
// generation, what each of them says it holds (Metadata.Allocation) and the
// leader's config snapshot, it computes for every member the work to start
// (Assignment.Assigned) and the work to stop (Assignment.Revoked). Work that
// stays with its owner appears in neither list, so a rebalance never stops
// it.
//
// The rules, in the order they apply:
//
//   - deleted work (held by a member, or assigned by the leader last time,
//     but not in the config snapshot) is revoked from whoever holds it;
//   - work held by several members is revoked from all but the first of them
//     in member id order;
//   - lost work (assigned in the previous generation to a member that no
//     longer reports it) is reassigned at once when MaxDelay <= 0 or when no
//     member departed; otherwise it is held back until MaxDelay has passed
//     since the departure was first seen (every assignment then carries the
//     remaining time in Delay, and members rejoin when it elapses), and then
//     handed round-robin to the members that joined with nothing during the
//     delay, or spread as new work if there are none. A departed member
//     that rejoins within the delay under the same member id, reporting
//     its work, keeps it and ends the delay; a restarted process has a new
//     member id and joins empty, so it is a candidate for the lost work;
//   - when no delay is running, members holding more than their share
//     (ceil or floor of configured/members, counted separately for connector
//     instances and for tasks) have the excess revoked; the freed work is
//     assigned in the next round, when the members rejoin after stopping it
//     (work a member was only about to get in this round is spread at once
//     instead);
//     Two revoking rounds in a row are throttled as Kafka Connect does: the
//     second one is postponed by an exponential backoff (40 ms, 1.6 s, 64 s,
//     capped at MaxDelay; not postponed when MaxDelay <= 0) and carried in
//     Delay;
//   - new and freed work goes, one unit at a time in (connector, task id)
//     order, to the member holding the fewest connectors (for connector
//     instances) or tasks (for tasks), ties broken by member id.
//
// The same input and state always give the same output. An Assignor keeps
// state between calls (the previous assignment, the delay and its candidate
// members, the revocation rounds) and is meant to be kept by the member for
// as long as it may become leader. It is not safe for concurrent use.
type Assignor struct {
	// MaxDelay is scheduled.rebalance.max.delay.ms: how long lost work is
	// held back for its departed owner. Zero or negative reassigns it at once.
	MaxDelay time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Logger receives what the assignor decides; nil discards.
	Logger *slog.Logger

	// previous is the work the leader assigned in the last generation it
	// computed (minus what it revoked, plus the lost work held back).
	previous set
	// revokedInPrevious is set when the last round revoked for load balance.
	revokedInPrevious bool
	// successiveRevoking counts consecutive revoking rounds (backoff).
	successiveRevoking int
	// candidates are members that joined with nothing while a delay ran.
	candidates map[string]bool
	// scheduled is when the running delay ends (zero: none); delay the
	// value (ms) sent in assignments.
	scheduled time.Time
	delay     int32
	// prevGeneration is the generation of the last computed assignment, -1
	// (after init) if none; prevMembers the members of that generation.
	prevGeneration int32
	prevMembers    []string
	initialized    bool
}

// AssignInput is what the leader knows when it computes a generation's
// assignments.
type AssignInput struct {
	// Generation is the generation being formed (JoinGroup's generation id).
	Generation int32
	// LastCompletedGeneration is the generation of this member's last
	// successful SyncGroup, -1 if none (Kafka Connect's
	// lastCompletedGenerationId). If it is not the generation the Assignor
	// last computed, the Assignor forgets its view of the previous assignment
	// (that generation never completed, or another member led since) and
	// works from the members' allocations alone: lost work is then not
	// detected for that round, it is assigned at once. Zero (Kafka never
	// completes a generation 0) means unknown: the view is then kept only if
	// Generation follows the generation the Assignor last computed.
	LastCompletedGeneration int32
	// LeaderID and LeaderURL are the leader's member id and advertised URL.
	LeaderID, LeaderURL string
	// Protocol is the voted protocol: ProtocolCompatible or
	// ProtocolSessioned. ProtocolDefault (eager) is not supported.
	Protocol int16
	// ConfigOffset is the offset of the leader's config snapshot.
	ConfigOffset int64
	// Connectors maps each connector in the config snapshot to its committed
	// task count (0 if it has no task configs yet).
	Connectors map[string]int
	// Members are the members of the generation with their metadata.
	Members []MemberMetadata
}

// unit is one connector instance (id ConnectorTask) or one task.
type unit struct {
	connector string
	id        int32
}

func (u unit) String() string {
	if u.id == ConnectorTask {
		return u.connector
	}
	return fmt.Sprintf("%s-%d", u.connector, u.id)
}

func compareUnits(a, b unit) int {
	if c := strings.Compare(a.connector, b.connector); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

type set map[unit]struct{}

func (s set) add(u unit)      { s[u] = struct{}{} }
func (s set) has(u unit) bool { _, ok := s[u]; return ok }
func (s set) addAll(o set)    { maps.Copy(s, o) }
func (s set) sorted() []unit  { return slices.SortedFunc(maps.Keys(s), compareUnits) }
func (s set) count(conn bool) int {
	n := 0
	for u := range s {
		if (u.id == ConnectorTask) == conn {
			n++
		}
	}
	return n
}

// minus returns the units of s in none of others.
func (s set) minus(others ...set) set {
	r := set{}
	for u := range s {
		in := false
		for _, o := range others {
			if o.has(u) {
				in = true
				break
			}
		}
		if !in {
			r.add(u)
		}
	}
	return r
}

func (s set) work() Work {
	w := Work{}
	for _, u := range s.sorted() {
		w[u.connector] = append(w[u.connector], u.id)
	}
	return w
}

func (s set) String() string {
	us := s.sorted()
	names := make([]string, len(us))
	for i, u := range us {
		names[i] = u.String()
	}
	return "[" + strings.Join(names, ", ") + "]"
}

func workSet(w Work) set {
	s := set{}
	for c, ids := range w {
		for _, id := range ids {
			s.add(unit{c, id})
		}
	}
	return s
}

func (a *Assignor) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Assignor) log() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (a *Assignor) maxDelayMs() int64 {
	if a.MaxDelay <= 0 {
		return 0
	}
	return min(a.MaxDelay.Milliseconds(), math.MaxInt32)
}

// Assign computes the assignments of generation in.Generation: one
// Assignment per member id in in.Members, each with Version in.Protocol,
// the leader's id and URL, ConfigOffset in.ConfigOffset, the Assigned and
// Revoked deltas, and Delay (ms until the leader expects the next rebalance,
// 0 if none).
//
// If a member reports a ConfigOffset beyond in.ConfigOffset, the leader's
// snapshot is stale: every assignment carries Error AssignmentConfigMismatch
// and ConfigOffset the highest offset reported, with no work, and the
// Assignor's state is left as it was (the members rejoin once the leader has
// read further).
//
// Assign returns an error, and changes no state, for an unsupported
// protocol (ProtocolDefault, eager rebalancing, is not supported), no
// members, or an empty or repeated member id.
func (a *Assignor) Assign(in AssignInput) (map[string]Assignment, error) {
	if in.Protocol != ProtocolCompatible && in.Protocol != ProtocolSessioned {
		return nil, fmt.Errorf("cluster: assignor: generation %d: protocol version %d is not supported (only %d compatible and %d sessioned, incremental cooperative)",
			in.Generation, in.Protocol, ProtocolCompatible, ProtocolSessioned)
	}
	if len(in.Members) == 0 {
		return nil, fmt.Errorf("cluster: assignor: generation %d: no members", in.Generation)
	}
	ids := make([]string, 0, len(in.Members))
	held := make(map[string]set, len(in.Members))
	maxOffset := in.ConfigOffset
	for _, m := range in.Members {
		if m.MemberID == "" {
			return nil, fmt.Errorf("cluster: assignor: generation %d: a member has an empty member id", in.Generation)
		}
		if _, dup := held[m.MemberID]; dup {
			return nil, fmt.Errorf("cluster: assignor: generation %d: member %q appears twice", in.Generation, m.MemberID)
		}
		ids = append(ids, m.MemberID)
		s := set{}
		if m.Allocation != nil {
			s = workSet(m.Allocation.Assigned)
		}
		held[m.MemberID] = s
		maxOffset = max(maxOffset, m.ConfigOffset)
	}
	slices.Sort(ids)
	log := a.log()
	if !a.initialized {
		a.prevGeneration = -1
		a.candidates = map[string]bool{}
		a.initialized = true
	}

	if maxOffset > in.ConfigOffset {
		log.Warn("Leader's config snapshot is behind a member's; assignments carry a config mismatch error",
			"generation", in.Generation, "leader_config_offset", in.ConfigOffset, "member_config_offset", maxOffset)
		out := make(map[string]Assignment, len(ids))
		for _, id := range ids {
			out[id] = Assignment{Version: in.Protocol, Error: AssignmentConfigMismatch,
				Leader: in.LeaderID, LeaderURL: in.LeaderURL, ConfigOffset: maxOffset,
				Assigned: Work{}, Revoked: Work{}}
		}
		return out, nil
	}

	now := a.now()
	trusted := in.LastCompletedGeneration == a.prevGeneration
	if in.LastCompletedGeneration == 0 {
		// Not given: trust the view if no generation went by that this
		// Assignor did not compute.
		trusted = in.Generation == a.prevGeneration+1
	}
	if !trusted {
		if len(a.previous) > 0 {
			log.Debug("Clearing the view of previous assignments due to generation mismatch",
				"previous_generation", a.prevGeneration, "last_completed_generation", in.LastCompletedGeneration,
				"previous_assignment", a.previous.String())
		}
		a.previous = set{}
	}
	if a.previous == nil {
		a.previous = set{}
	}

	configured := set{}
	for c, n := range in.Connectors {
		configured.add(unit{c, ConnectorTask})
		for i := range int32(max(n, 0)) {
			configured.add(unit{c, i})
		}
	}
	active := set{}
	for _, s := range held {
		active.addAll(s)
	}

	deleted := set{}
	deleted.addAll(a.previous.minus(configured))
	deleted.addAll(active.minus(configured))
	lost := a.previous.minus(active, deleted)
	created := configured.minus(a.previous, active)

	toRevoke := make(map[string]set, len(ids))
	next := make(map[string]set, len(ids))
	owner := map[unit]string{}
	for _, id := range ids {
		r := set{}
		for u := range held[id] {
			if deleted.has(u) {
				r.add(u)
			} else if o, dup := owner[u]; dup {
				log.Debug("Duplicated connector or task to revoke", "unit", u.String(), "member", id, "kept_by", o)
				r.add(u)
			} else {
				owner[u] = id
			}
		}
		toRevoke[id] = r
		next[id] = held[id].minus(r)
	}
	if len(deleted) > 0 {
		log.Debug("Deleted connectors and tasks to revoke from each worker", "deleted", deleted.String())
	}

	toAssign := set{}
	toAssign.addAll(created)
	toAssign.addAll(a.handleLost(lost, ids, next, now))

	if a.delay == 0 {
		lb := loadBalancingRevocations(configured, ids, held, next)
		switch {
		case a.revokedInPrevious && len(lb) > 0:
			a.successiveRevoking++
			d := a.backoff(a.successiveRevoking)
			if d != 0 {
				a.delay = int32(d)
				a.scheduled = now.Add(time.Duration(d) * time.Millisecond)
				log.Debug("Consecutive revoking rebalances observed; skipping revocations in the current round",
					"delay_ms", d, "rounds", a.successiveRevoking)
			} else {
				log.Debug("Revoking assignments immediately since scheduled.rebalance.max.delay.ms is 0")
				applyRevocations(lb, held, toRevoke, next, toAssign)
			}
		case len(lb) > 0:
			log.Debug("Performing allocation-balancing revocation immediately as no revocations took place during the previous rebalance")
			applyRevocations(lb, held, toRevoke, next, toAssign)
			a.revokedInPrevious = true
		case a.revokedInPrevious:
			log.Debug("Previous round had revocations but this round didn't; resetting the revocation backoff")
			a.revokedInPrevious = false
			a.successiveRevoking = 0
		}
	} else {
		log.Debug("Delayed rebalance is active; no load-balancing revocations", "delay_ms", a.delay)
		a.revokedInPrevious = false
	}

	assignBalanced(toAssign, ids, next)

	// Remember the view for the next round: what members will hold, plus the
	// lost work still held back for its departed owner.
	a.previous = set{}
	for _, id := range ids {
		a.previous.addAll(next[id])
	}
	a.previous.addAll(lost)
	out := make(map[string]Assignment, len(ids))
	for _, id := range ids {
		out[id] = Assignment{
			Version:      in.Protocol,
			Error:        AssignmentNoError,
			Leader:       in.LeaderID,
			LeaderURL:    in.LeaderURL,
			ConfigOffset: in.ConfigOffset,
			Assigned:     next[id].minus(held[id]).work(),
			Revoked:      toRevoke[id].work(),
			Delay:        a.delay,
		}
	}
	a.prevGeneration = in.Generation
	a.prevMembers = ids
	if log.Enabled(context.Background(), slog.LevelDebug) {
		for _, id := range ids {
			log.Debug("Assignment", "generation", in.Generation, "member", id,
				"assigned", next[id].minus(held[id]).String(), "revoked", toRevoke[id].String(), "delay_ms", a.delay)
		}
	}
	return out, nil
}

// handleLost decides what happens to lost work (Kafka Connect's
// handleLostAssignments): it returns the lost work to spread as new work,
// assigns it directly to candidate members in next, or holds it back and
// sets the delay.
func (a *Assignor) handleLost(lost set, ids []string, next map[string]set, now time.Time) set {
	log := a.log()
	if len(lost) == 0 && !a.revokedInPrevious {
		a.resetDelay()
		return nil
	}
	if len(lost) > 0 {
		log.Debug("Found connectors and tasks missing from previous assignments", "lost", lost.String())
	}
	departed := false
	for _, m := range a.prevMembers {
		if _, ok := next[m]; !ok {
			departed = true
			break
		}
	}
	if a.scheduled.IsZero() && !departed {
		if len(lost) > 0 {
			log.Debug("No worker seems to have departed the group during the rebalance; reassigning missing tasks as new tasks")
		}
		return lost
	}
	if a.maxDelayMs() == 0 {
		if len(lost) > 0 {
			log.Debug("Scheduled rebalance delays are disabled (scheduled.rebalance.max.delay.ms = 0); reassigning all lost connectors and tasks immediately")
		}
		return lost
	}
	if !a.scheduled.IsZero() && !now.Before(a.scheduled) {
		var cands []string
		for _, id := range ids {
			if a.candidates[id] {
				cands = append(cands, id)
			}
		}
		var spread set
		if len(cands) > 0 {
			log.Info("Delayed rebalance expired. Assigning lost tasks to candidate workers",
				"candidates", strings.Join(cands, ","), "lost", lost.String())
			// Connectors and tasks each round-robin over the candidates.
			ci, ti := 0, 0
			for _, u := range lost.sorted() {
				if u.id == ConnectorTask {
					next[cands[ci%len(cands)]].add(u)
					ci++
				} else {
					next[cands[ti%len(cands)]].add(u)
					ti++
				}
			}
		} else {
			log.Info("Delayed rebalance expired. No candidate worker found; reassigning lost tasks as new tasks",
				"lost", lost.String())
			spread = lost
		}
		a.resetDelay()
		a.revokedInPrevious = false
		return spread
	}
	for _, id := range ids {
		if len(next[id]) == 0 {
			a.candidates[id] = true
		}
	}
	if now.Before(a.scheduled) {
		a.delay = a.remaining(now)
		log.Info("Delayed rebalance in progress. Task reassignment is postponed", "delay_ms", a.delay, "lost", lost.String())
	} else {
		a.delay = int32(a.maxDelayMs())
		log.Info("Delayed rebalance in progress. Task reassignment is postponed; rebalance delay set to the max", "delay_ms", a.delay, "lost", lost.String())
	}
	a.scheduled = now.Add(time.Duration(a.delay) * time.Millisecond)
	return nil
}

// remaining is the time left until the scheduled rebalance, in ms rounded
// up, at most MaxDelay.
func (a *Assignor) remaining(now time.Time) int32 {
	d := a.scheduled.Sub(now)
	if d <= 0 {
		return 0
	}
	ms := int64((d + time.Millisecond - 1) / time.Millisecond)
	return int32(min(ms, a.maxDelayMs()))
}

func (a *Assignor) resetDelay() {
	clear(a.candidates)
	a.scheduled = time.Time{}
	a.delay = 0
}

// backoff is Kafka Connect's consecutiveRevokingRebalancesBackoff:
// ExponentialBackoff(initial 1 ms, multiplier 40, max MaxDelay, no jitter),
// or 0 when MaxDelay <= 0.
func (a *Assignor) backoff(attempts int) int64 {
	maxMs := a.maxDelayMs()
	if maxMs <= 1 {
		return maxMs
	}
	d := math.Pow(40, float64(attempts))
	return int64(min(d, float64(maxMs)))
}

// loadBalancingRevocations returns, for members holding more than their
// share of connector instances or of tasks, the excess to revoke. The share
// is floor(configured/members), one more for the first configured%members
// members in order of load (most loaded first, ties by member id).
func loadBalancingRevocations(configured set, ids []string, held, next map[string]set) map[string]set {
	if len(configured) == 0 {
		return nil
	}
	empty := true
	for _, id := range ids {
		if len(next[id]) > 0 {
			empty = false
			break
		}
	}
	if empty {
		return nil
	}
	out := map[string]set{}
	for _, conn := range []bool{true, false} {
		total := configured.count(conn)
		base, extras := total/len(ids), total%len(ids)
		load := func(id string) int { return next[id].count(conn) }
		over, atCeil := 0, 0
		for _, id := range ids {
			switch l := load(id); {
			case l > base+1:
				over++
			case l == base+1:
				atCeil++
			}
		}
		if over == 0 && atCeil <= extras {
			continue
		}
		order := slices.Clone(ids)
		slices.SortStableFunc(order, func(x, y string) int { return cmp.Compare(load(y), load(x)) })
		for _, id := range order {
			l := load(id)
			if l <= base {
				break
			}
			allowed := base
			if extras > 0 {
				allowed++
				extras--
			}
			if l <= allowed {
				continue
			}
			// Work assigned in this very round (not held yet) is taken
			// back first: moving it stops nothing.
			var mine, fresh []unit
			for _, u := range next[id].sorted() {
				if (u.id == ConnectorTask) != conn {
					continue
				}
				if held[id].has(u) {
					mine = append(mine, u)
				} else {
					fresh = append(fresh, u)
				}
			}
			mine = append(mine, fresh...)
			r := out[id]
			if r == nil {
				r = set{}
				out[id] = r
			}
			for _, u := range mine[allowed:] {
				r.add(u)
			}
		}
	}
	return out
}

// applyRevocations removes the load-balancing revocations lb from next:
// what a member holds goes to its Revoked list (and is assigned in a later
// round, once stopped), what it was only about to get in this round goes
// back to toAssign.
func applyRevocations(lb map[string]set, held, toRevoke, next map[string]set, toAssign set) {
	for id, r := range lb {
		for u := range r {
			if held[id].has(u) {
				toRevoke[id].add(u)
			} else {
				toAssign.add(u)
			}
		}
		next[id] = next[id].minus(r)
	}
}

// assignBalanced gives each unit of work, in order, to the member holding
// the fewest units of its kind (connector instances or tasks), ties broken
// by member id.
func assignBalanced(work set, ids []string, next map[string]set) {
	if len(work) == 0 {
		return
	}
	conns := make(map[string]int, len(ids))
	tasks := make(map[string]int, len(ids))
	for _, id := range ids {
		conns[id] = next[id].count(true)
		tasks[id] = next[id].count(false)
	}
	for _, u := range work.sorted() {
		loads := tasks
		if u.id == ConnectorTask {
			loads = conns
		}
		best := ids[0]
		for _, id := range ids[1:] {
			if loads[id] < loads[best] {
				best = id
			}
		}
		next[best].add(u)
		loads[best]++
	}
}
