package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/internal/kafkaconf"
)

// protocolType is the group protocol type of Kafka Connect workers.
const protocolType = "connect"

// Default timings, Kafka Connect's session.timeout.ms,
// heartbeat.interval.ms and rebalance.timeout.ms.
const (
	DefaultSessionTimeout    = 10 * time.Second
	DefaultHeartbeatInterval = 3 * time.Second
	DefaultRebalanceTimeout  = 60 * time.Second
)

// Backoffs between failed attempts (Kafka's retry.backoff.ms is 100 ms; a
// failing coordinator gets a little more room).
const (
	retryBackoff    = 100 * time.Millisecond
	maxRetryBackoff = 2 * time.Second
	// mismatchBackoff is the pause before rejoining after an assignment
	// with AssignmentConfigMismatch, leaving the owner time to read the
	// config topic further.
	mismatchBackoff = time.Second
)

// MemberConfig configures a Member.
type MemberConfig struct {
	// Addrs are the bootstrap brokers.
	Addrs []string
	// Sarama is the client configuration; it is copied. Nil means
	// kafkaconf's default (Kafka 4.0 protocol). Its Version must be at
	// least 2.1 (Kafka 4 refuses older request versions).
	Sarama *sarama.Config
	// GroupID is the group id (Kafka Connect's group.id); required.
	GroupID string
	// URL is this member's advertised REST URL, sent in its metadata; the
	// leader's becomes every member's LeaderURL.
	URL string
	// Protocols are the protocol versions offered, in preference order;
	// default {ProtocolSessioned, ProtocolCompatible}. ProtocolDefault (V0,
	// eager rebalancing) is not supported and refused by Validate.
	Protocols []int16
	// SessionTimeout, HeartbeatInterval and RebalanceTimeout are Kafka
	// Connect's session.timeout.ms, heartbeat.interval.ms and
	// rebalance.timeout.ms; defaults 10 s, 3 s and 60 s.
	SessionTimeout, HeartbeatInterval, RebalanceTimeout time.Duration
	// Logger receives the member's logs; default slog.Default().
	Logger *slog.Logger
	// Handler is told about assignments and revocations; required.
	Handler Handler
}

// withDefaults returns c with its zero fields defaulted.
func (c MemberConfig) withDefaults() MemberConfig {
	if c.Sarama == nil {
		c.Sarama = kafkaconf.NewSaramaConfig("")
	} else {
		cp := *c.Sarama
		c.Sarama = &cp
	}
	if len(c.Protocols) == 0 {
		c.Protocols = []int16{ProtocolSessioned, ProtocolCompatible}
	} else {
		c.Protocols = slices.Clone(c.Protocols)
	}
	if c.SessionTimeout == 0 {
		c.SessionTimeout = DefaultSessionTimeout
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if c.RebalanceTimeout == 0 {
		c.RebalanceTimeout = DefaultRebalanceTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports the first problem of c (after defaults): no bootstrap
// broker, no group id, no handler, a Sarama version older than 2.1, no or
// an unknown, repeated or V0 protocol, non-positive timings or a heartbeat
// interval not below the session timeout.
func (c MemberConfig) Validate() error {
	c = c.withDefaults()
	switch {
	case len(c.Addrs) == 0:
		return errors.New("cluster: member: no bootstrap broker")
	case c.GroupID == "":
		return errors.New("cluster: member: no group id")
	case c.Handler == nil:
		return fmt.Errorf("cluster: member of group %q: no handler", c.GroupID)
	case !c.Sarama.Version.IsAtLeast(sarama.V2_1_0_0):
		return fmt.Errorf("cluster: member of group %q: Kafka version %s is older than 2.1", c.GroupID, c.Sarama.Version)
	case c.SessionTimeout < 0 || c.HeartbeatInterval < 0 || c.RebalanceTimeout < 0:
		return fmt.Errorf("cluster: member of group %q: negative timeout", c.GroupID)
	case c.HeartbeatInterval >= c.SessionTimeout:
		return fmt.Errorf("cluster: member of group %q: heartbeat interval %v must be below the session timeout %v",
			c.GroupID, c.HeartbeatInterval, c.SessionTimeout)
	}
	seen := map[int16]bool{}
	for _, p := range c.Protocols {
		switch {
		case p == ProtocolDefault:
			return fmt.Errorf("cluster: member of group %q: protocol %q (eager rebalancing) is not supported", c.GroupID, ProtocolName(p))
		case ProtocolName(p) == "":
			return fmt.Errorf("cluster: member of group %q: unknown protocol version %d", c.GroupID, p)
		case seen[p]:
			return fmt.Errorf("cluster: member of group %q: protocol %q offered twice", c.GroupID, ProtocolName(p))
		}
		seen[p] = true
	}
	return nil
}

// Generation identifies one completed join of the group.
type Generation struct {
	// ID is the group generation id.
	ID int32
	// MemberID is this member's id, LeaderID the leader's.
	MemberID, LeaderID string
	// Protocol is the protocol version the group voted.
	Protocol int16
}

// Handler is what a Member tells about its assignments. A Member calls it
// from the goroutine running Run, one call at a time; heartbeats go on
// meanwhile. Calls may call Member.Rejoin and Member.Stats.
type Handler interface {
	// ConfigOffset returns the config topic offset this member has read
	// up to (sent in its metadata). Called before each JoinGroup.
	ConfigOffset() int64
	// Assign runs on the leader only, during the rebalance, with every
	// member's metadata (its own included; a member whose metadata does
	// not decode is listed with only its MemberID, Version and a
	// ConfigOffset of -1); it returns one Assignment per member id
	// (Leader, LeaderURL and ConfigOffset filled by the handler; Version
	// is set to gen.Protocol, and an empty Leader/LeaderURL to the
	// leader's). A member missing from the map gets an empty assignment.
	// An error: the member logs it and rejoins after a backoff, which
	// starts a new rebalance.
	Assign(ctx context.Context, gen Generation, members []MemberMetadata) (map[string]Assignment, error)
	// Revoke: the member must stop revoked before returning (the member
	// keeps heartbeating meanwhile). Called with the Revoked part of a new
	// assignment before Assigned; with everything the member held when
	// it loses its membership (session expired, unknown member id,
	// coordinator unreachable longer than the session timeout); and with
	// everything it holds when Run ends, with a context that is not
	// cancelled.
	Revoke(ctx context.Context, revoked Work)
	// Assigned is called after each successful SyncGroup with the
	// member's whole current assignment (previous − Revoked + Assigned)
	// and the assignment received. held and a are the handler's to keep.
	Assigned(ctx context.Context, gen Generation, held Work, a Assignment)
}

// MemberStats is a snapshot of a Member's state and counters, enough for
// Kafka Connect's connect-coordinator-metrics: join-time-avg/max
// (JoinTimeTotal/Joins, JoinTimeMax), sync-time-avg/max, rebalance-latency
// avg/max/total (RebalanceTime*/Rebalances), rebalance-total,
// failed-rebalance-total, last-rebalance-seconds-ago,
// last-heartbeat-seconds-ago, heartbeat-total, assigned-connectors and
// assigned-tasks (Held.Count()).
type MemberStats struct {
	// MemberID, LeaderID and LeaderURL are those of the last completed
	// generation ("" before the first, and MemberID after a reset).
	MemberID, LeaderID, LeaderURL string
	// Generation is the last completed generation id (-1 before).
	Generation int32
	// Protocol is the protocol version of the last completed generation.
	Protocol int16
	// Held is the work the member holds (a copy).
	Held Work
	// Joins and Syncs count successful JoinGroup and SyncGroup calls,
	// Heartbeats successful heartbeats (REBALANCE_IN_PROGRESS answers
	// included, as they keep the session).
	Joins, Syncs, Heartbeats int64
	// Rebalances counts completed rebalances (join, sync and handler
	// calls); FailedRebalances those that ended with an error.
	Rebalances, FailedRebalances int64
	// JoinTimeMax/Total, SyncTimeMax/Total time the successful JoinGroup
	// and SyncGroup calls; RebalanceTimeMax/Total the completed
	// rebalances, from the first JoinGroup to the end of Assigned.
	JoinTimeMax, JoinTimeTotal           time.Duration
	SyncTimeMax, SyncTimeTotal           time.Duration
	RebalanceTimeMax, RebalanceTimeTotal time.Duration
	// LastRebalance is when the last rebalance completed, LastHeartbeat
	// when the last heartbeat was answered (zero if never).
	LastRebalance, LastHeartbeat time.Time
	// Rebalancing is true while a rebalance is under way.
	Rebalancing bool
}

// Member is a member of a Kafka group of protocol type "connect", as a
// Kafka Connect worker is: it joins, syncs, heartbeats on its own
// connection in the background, and rejoins as the group and its
// assignments ask. Create it with NewMember, run it with Run (once).
type Member struct {
	cfg  MemberConfig
	log  *slog.Logger
	conf *sarama.Config // the client's config

	rejoin chan struct{} // Rejoin requests, capacity 1

	ran atomic.Bool // Run was called

	// frozen simulates a crashed process in tests: no heartbeat is sent
	// and no JoinGroup started while it is set.
	frozen atomic.Bool

	// Owned by the Run goroutine.
	client         sarama.Client
	memberID       string
	last           *Assignment // the last assignment received (leader fields)
	joinDialer     *trackingDialer
	rebalanceStart time.Time

	mu    sync.Mutex // guards stats
	stats MemberStats
}

// NewMember validates cfg and returns a Member; nothing is started until
// Run.
func NewMember(cfg MemberConfig) (*Member, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Member{
		cfg:    cfg,
		log:    cfg.Logger.With("group", cfg.GroupID),
		conf:   cfg.Sarama,
		rejoin: make(chan struct{}, 1),
		stats:  MemberStats{Generation: -1},
	}, nil
}

// Rejoin asks for a rebalance soon: the member rejoins the group once it
// is done with the current rebalance or handler call. Safe from any
// goroutine, including inside Handler calls; requests made before the
// next JoinGroup starts are coalesced.
func (m *Member) Rejoin() {
	select {
	case m.rejoin <- struct{}{}:
	default:
	}
}

// Stats returns a snapshot of the member's state and counters. Safe from
// any goroutine.
func (m *Member) Stats() MemberStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.stats
	s.Held = s.Held.Clone()
	return s
}

func (m *Member) update(f func(s *MemberStats)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f(&m.stats)
}

// held returns the work held (owned by the Run goroutine, but kept in
// stats so that Stats can copy it).
func (m *Member) held() Work {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stats.Held
}

func (m *Member) setHeld(w Work) {
	m.update(func(s *MemberStats) { s.Held = w })
}

// errFatal marks a broker answer that retrying cannot fix.
type errFatal struct{ err error }

func (e errFatal) Error() string { return e.err.Error() }
func (e errFatal) Unwrap() error { return e.err }

// fatalKError reports whether a group error code is permanent for this
// configuration.
func fatalKError(k sarama.KError) bool {
	switch k {
	case sarama.ErrInconsistentGroupProtocol, sarama.ErrGroupAuthorizationFailed, sarama.ErrInvalidSessionTimeout,
		sarama.ErrGroupMaxSizeReached, sarama.ErrInvalidGroupId, sarama.ErrUnsupportedVersion, sarama.ErrFencedInstancedId:
		return true
	}
	return false
}

// coordinatorKError reports whether a group error code means the
// coordinator moved or is not ready.
func coordinatorKError(k sarama.KError) bool {
	switch k {
	case sarama.ErrNotCoordinatorForConsumer, sarama.ErrConsumerCoordinatorNotAvailable, sarama.ErrOffsetsLoadInProgress:
		return true
	}
	return false
}

// Run joins the group and stays in it until ctx is done; then it revokes
// everything held (Handler.Revoke with a context that is not cancelled),
// leaves the group (best effort) and returns nil. It returns an error only
// for a failure retrying cannot fix: a client that cannot be created, or a
// broker answer such as INCONSISTENT_GROUP_PROTOCOL (the group's other
// members speak no protocol in Protocols), GROUP_AUTHORIZATION_FAILED,
// INVALID_SESSION_TIMEOUT or GROUP_MAX_SIZE_REACHED; it revokes what is
// held first. Broker and coordinator failures are retried with backoff.
// Run may be called once (a second call returns an error); no goroutine it
// starts outlives it.
func (m *Member) Run(ctx context.Context) error {
	if m.ran.Swap(true) {
		return fmt.Errorf("cluster: member of group %q: Run called twice", m.cfg.GroupID)
	}
	client, err := sarama.NewClient(m.cfg.Addrs, m.conf)
	if err != nil {
		return fmt.Errorf("cluster: member of group %q: %w", m.cfg.GroupID, err)
	}
	m.client = client
	defer client.Close()
	// JoinGroup and SyncGroup go on a connection of our own (JoinGroup
	// blocks for the whole rebalance), the heartbeats on another.
	// Cancelling ctx closes the first, which unblocks a JoinGroup.
	m.joinDialer = newTrackingDialer(m.conf)
	stop := context.AfterFunc(ctx, m.joinDialer.closeAll)
	defer stop()

	err = m.loop(ctx)
	// What is still held here was not revoked by member() (which does so
	// while heartbeating): revoke it before leaving.
	m.revokeAll(context.WithoutCancel(ctx), "leaving the group")
	if err == nil && m.memberID != "" {
		m.leave()
	}
	m.joinDialer.closeAll()
	m.update(func(s *MemberStats) { s.Rebalancing = false })
	return err
}

// loop is Run's state machine; it returns nil when ctx is done.
func (m *Member) loop(ctx context.Context) error {
	backoff := time.Duration(0)
	var conn *sarama.Broker
	closeConn := func() {
		if conn != nil {
			_ = conn.Close()
			conn = nil
		}
	}
	defer closeConn()
	fail := func(err error, msg string) {
		if backoff == 0 {
			backoff = retryBackoff
		} else {
			backoff = min(2*backoff, maxRetryBackoff)
		}
		m.log.Warn("cluster member: "+msg, "member", m.memberID, "err", err, "retry_in", backoff)
		m.update(func(s *MemberStats) { s.FailedRebalances++ })
	}
	lastContact := time.Now()
	for {
		if !m.sleep(ctx, backoff) {
			return nil
		}
		for m.frozen.Load() {
			if !m.sleep(ctx, 50*time.Millisecond) {
				return nil
			}
		}
		// Coordinator unreachable longer than the session: we are no
		// longer a member; stop the work (Kafka Connect's "to avoid
		// running tasks while not being a member").
		if time.Since(lastContact) > m.cfg.SessionTimeout && len(m.held()) > 0 {
			m.revokeAll(ctx, "coordinator unreachable longer than the session timeout")
		}
		if conn == nil {
			c, err := m.coordinatorConn(m.joinDialer, m.conf.Net.ReadTimeout+m.cfg.RebalanceTimeout)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				fail(err, "no coordinator")
				continue
			}
			conn = c
		}
		res, err := m.rebalance(ctx, conn)
		if ctx.Err() != nil {
			return nil
		}
		var fatal errFatal
		switch {
		case errors.As(err, &fatal):
			return err
		case err != nil:
			closeConn()
			_ = m.client.RefreshCoordinator(m.cfg.GroupID)
			fail(err, "rebalance failed")
			continue
		case res.retry != nil:
			lastContact = time.Now()
			if res.coordinator {
				closeConn()
				_ = m.client.RefreshCoordinator(m.cfg.GroupID)
			}
			if res.immediate {
				backoff = 0
				continue
			}
			fail(res.retry, "rebalance failed")
			continue
		}
		backoff = 0
		// A member of generation res.gen: heartbeat until something asks
		// for a new rebalance.
		next := m.member(ctx, res)
		lastContact = next.lastContact
		if ctx.Err() != nil {
			return nil
		}
		if next.backoff > 0 {
			backoff = next.backoff
		}
	}
}

// sleep waits d or until ctx is done; it reports whether ctx is still live.
func (m *Member) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// coordinatorConn opens a connection of our own to the group coordinator,
// with the given read timeout.
func (m *Member) coordinatorConn(d *trackingDialer, readTimeout time.Duration) (*sarama.Broker, error) {
	coord, err := m.client.Coordinator(m.cfg.GroupID)
	if err != nil {
		_ = m.client.RefreshCoordinator(m.cfg.GroupID)
		return nil, fmt.Errorf("finding the coordinator: %w", err)
	}
	conf := *m.conf
	conf.Net.ReadTimeout = readTimeout
	conf.Net.Proxy.Enable = true
	conf.Net.Proxy.Dialer = d
	b := sarama.NewBroker(coord.Addr())
	if err := b.Open(&conf); err != nil {
		return nil, fmt.Errorf("connecting to coordinator %s: %w", coord.Addr(), err)
	}
	if ok, err := b.Connected(); !ok {
		_ = b.Close()
		if err == nil {
			err = errors.New("not connected")
		}
		return nil, fmt.Errorf("connecting to coordinator %s: %w", coord.Addr(), err)
	}
	return b, nil
}

// rebalanceResult is what one join+sync round ended with.
type rebalanceResult struct {
	gen        Generation
	assignment Assignment
	// retry is set when the round must be retried (a retriable broker
	// answer); immediate asks to retry without backoff; coordinator asks
	// to look the coordinator up again.
	retry                  error
	immediate, coordinator bool
	// hb is the generation's heartbeater, running on success (member
	// stops it), nil or stopped otherwise.
	hb *heartbeater
}

// rebalance runs one JoinGroup and SyncGroup on conn. A transport error is
// returned as err; a retriable broker answer as res.retry; a fatal one as
// an errFatal.
func (m *Member) rebalance(ctx context.Context, conn *sarama.Broker) (rebalanceResult, error) {
	// Requests made until now are served by this round.
	select {
	case <-m.rejoin:
	default:
	}
	var res rebalanceResult
	m.update(func(s *MemberStats) {
		if !s.Rebalancing {
			m.rebalanceStart = time.Now()
		}
		s.Rebalancing = true
	})

	jr := sarama.NewJoinGroupRequest(m.conf.Version)
	jr.GroupId = m.cfg.GroupID
	jr.MemberId = m.memberID
	jr.ProtocolType = protocolType
	jr.SessionTimeout = int32(m.cfg.SessionTimeout / time.Millisecond)
	jr.RebalanceTimeout = int32(m.cfg.RebalanceTimeout / time.Millisecond)
	offset := m.cfg.Handler.ConfigOffset()
	held := m.held()
	for _, p := range m.cfg.Protocols {
		md := Metadata{Version: p, URL: m.cfg.URL, ConfigOffset: offset}
		if m.last != nil || len(held) > 0 {
			a := Assignment{Version: p, Assigned: held.Clone()}
			if m.last != nil {
				a.Leader, a.LeaderURL, a.ConfigOffset = m.last.Leader, m.last.LeaderURL, m.last.ConfigOffset
			}
			if a.Assigned == nil {
				a.Assigned = Work{}
			}
			md.Allocation = &a
		}
		jr.AddGroupProtocol(ProtocolName(p), EncodeMetadata(md))
	}
	t0 := time.Now()
	resp, err := conn.JoinGroup(jr)
	if err != nil {
		return res, fmt.Errorf("JoinGroup: %w", err)
	}
	switch kerr := resp.Err; {
	case kerr == sarama.ErrNoError:
	case kerr == sarama.ErrMemberIdRequired:
		// KIP-394: join again with the id the coordinator gave us.
		m.memberID = resp.MemberId
		res.retry, res.immediate = kerr, true
		return res, nil
	case kerr == sarama.ErrUnknownMemberId:
		m.lostMembership(ctx, "JoinGroup: unknown member id")
		res.retry, res.immediate = kerr, true
		return res, nil
	case fatalKError(kerr):
		return res, errFatal{fmt.Errorf("cluster: member %q of group %q: JoinGroup: %w", m.memberID, m.cfg.GroupID, kerr)}
	default:
		res.retry, res.coordinator = fmt.Errorf("JoinGroup: %w", kerr), coordinatorKError(kerr)
		return res, nil
	}
	joinTime := time.Since(t0)
	m.memberID = resp.MemberId
	proto, err := ParseProtocol(resp.GroupProtocol)
	if err != nil || proto == ProtocolDefault {
		return res, errFatal{fmt.Errorf("cluster: member %q of group %q: the group voted protocol %q", m.memberID, m.cfg.GroupID, resp.GroupProtocol)}
	}
	res.gen = Generation{ID: resp.GenerationId, MemberID: resp.MemberId, LeaderID: resp.LeaderId, Protocol: proto}
	// Heartbeats are due from now on: the leader's Assign may take a
	// while, and so may the handler calls after SyncGroup.
	hb := m.startHeartbeats(ctx, res.gen)
	defer func() {
		if res.hb == nil {
			hb.stop()
		}
	}()
	m.update(func(s *MemberStats) {
		s.Joins++
		s.JoinTimeTotal += joinTime
		s.JoinTimeMax = max(s.JoinTimeMax, joinTime)
	})
	m.log.Info("cluster member: joined", "member", m.memberID, "generation", res.gen.ID,
		"leader", res.gen.LeaderID, "protocol", resp.GroupProtocol, "members", len(resp.Members))

	sr := &sarama.SyncGroupRequest{GroupId: m.cfg.GroupID, GenerationId: res.gen.ID, MemberId: m.memberID}
	switch v := m.conf.Version; {
	case v.IsAtLeast(sarama.V2_5_0_0):
		sr.Version = 5
	case v.IsAtLeast(sarama.V2_4_0_0):
		sr.Version = 4
	case v.IsAtLeast(sarama.V2_3_0_0):
		sr.Version = 3
	default:
		sr.Version = 2
	}
	if sr.Version >= 5 {
		pt, pn := protocolType, resp.GroupProtocol
		sr.ProtocolType, sr.ProtocolName = &pt, &pn
	}
	if res.gen.LeaderID == m.memberID {
		if err := m.assign(ctx, res.gen, resp.Members, sr); err != nil {
			m.log.Error("cluster member: assignment failed", "member", m.memberID, "generation", res.gen.ID, "err", err)
			res.retry = err
			return res, nil
		}
	}
	t0 = time.Now()
	sresp, err := conn.SyncGroup(sr)
	if err != nil {
		return res, fmt.Errorf("SyncGroup: %w", err)
	}
	switch kerr := sresp.Err; {
	case kerr == sarama.ErrNoError:
	case kerr == sarama.ErrUnknownMemberId:
		m.lostMembership(ctx, "SyncGroup: unknown member id")
		res.retry, res.immediate = kerr, true
		return res, nil
	case kerr == sarama.ErrRebalanceInProgress || kerr == sarama.ErrIllegalGeneration:
		res.retry, res.immediate = kerr, true
		return res, nil
	case fatalKError(kerr):
		return res, errFatal{fmt.Errorf("cluster: member %q of group %q: SyncGroup: %w", m.memberID, m.cfg.GroupID, kerr)}
	default:
		res.retry, res.coordinator = fmt.Errorf("SyncGroup: %w", kerr), coordinatorKError(kerr)
		return res, nil
	}
	syncTime := time.Since(t0)
	m.update(func(s *MemberStats) {
		s.Syncs++
		s.SyncTimeTotal += syncTime
		s.SyncTimeMax = max(s.SyncTimeMax, syncTime)
	})
	a, err := DecodeAssignment(sresp.MemberAssignment)
	if err != nil {
		res.retry = fmt.Errorf("member %q generation %d: %w", m.memberID, res.gen.ID, err)
		return res, nil
	}
	res.assignment, res.hb = a, hb
	return res, nil
}

// assign runs the handler's Assign (leader) and fills sr.
func (m *Member) assign(ctx context.Context, gen Generation, members []sarama.GroupMember, sr *sarama.SyncGroupRequest) error {
	mds := make([]MemberMetadata, 0, len(members))
	for _, gm := range members {
		md, err := DecodeMetadata(gm.Metadata)
		if err != nil {
			m.log.Warn("cluster member: undecodable metadata", "member", gm.MemberId, "generation", gen.ID, "err", err)
			md = Metadata{Version: gen.Protocol, ConfigOffset: -1}
		}
		mds = append(mds, MemberMetadata{MemberID: gm.MemberId, Metadata: md})
	}
	out, err := m.cfg.Handler.Assign(ctx, gen, mds)
	if err != nil {
		return fmt.Errorf("cluster: leader %q of group %q generation %d: assign: %w", m.memberID, m.cfg.GroupID, gen.ID, err)
	}
	for _, gm := range members {
		a, ok := out[gm.MemberId]
		if !ok {
			m.log.Warn("cluster member: the assignor gave a member nothing", "member", gm.MemberId, "generation", gen.ID)
			a.ConfigOffset = -1
		}
		a.Version = gen.Protocol
		if a.Leader == "" {
			a.Leader = m.memberID
		}
		if a.LeaderURL == "" {
			a.LeaderURL = m.cfg.URL
		}
		sr.AddGroupAssignment(gm.MemberId, EncodeAssignment(a))
	}
	return nil
}

// memberResult is how a generation's membership ended.
type memberResult struct {
	lastContact time.Time
	backoff     time.Duration
}

// heartbeat events.
type hbEvent int

const (
	hbRebalance hbEvent = iota + 1 // REBALANCE_IN_PROGRESS: rejoin, keep work
	hbRejoin                       // ILLEGAL_GENERATION: rejoin, keep work
	hbFenced                       // UNKNOWN_MEMBER_ID: the membership is gone
	hbLost                         // no answer for longer than the session
)

// member applies res's assignment and stays a member of res.gen, with
// heartbeats on their own connection, until a rebalance is due.
func (m *Member) member(ctx context.Context, res rebalanceResult) memberResult {
	gen, a, hb := res.gen, res.assignment, res.hb
	defer hb.stop()
	out := func(backoff time.Duration) memberResult {
		return memberResult{lastContact: time.Unix(0, hb.lastOK.Load()), backoff: backoff}
	}

	if a.Error == AssignmentConfigMismatch {
		m.log.Warn("cluster member: the leader's config is ahead of ours; rejoining", "member", gen.MemberID,
			"generation", gen.ID, "leader_config_offset", a.ConfigOffset, "config_offset", m.cfg.Handler.ConfigOffset())
		m.update(func(s *MemberStats) { s.FailedRebalances++; s.Rebalancing = false })
		return out(mismatchBackoff)
	}
	prev := m.held()
	revoked := a.Revoked
	held := prev.Minus(revoked).Union(a.Assigned)
	m.last = &a
	m.update(func(s *MemberStats) {
		s.MemberID, s.LeaderID, s.LeaderURL = gen.MemberID, gen.LeaderID, a.LeaderURL
		s.Generation, s.Protocol = gen.ID, gen.Protocol
	})
	if len(revoked) > 0 {
		m.cfg.Handler.Revoke(ctx, revoked.Clone())
	}
	m.setHeld(held)
	m.cfg.Handler.Assigned(ctx, gen, held.Clone(), cloneAssignment(a))
	took := time.Since(m.rebalanceStart)
	m.update(func(s *MemberStats) {
		s.Rebalances++
		s.RebalanceTimeTotal += took
		s.RebalanceTimeMax = max(s.RebalanceTimeMax, took)
		s.LastRebalance = time.Now()
		s.Rebalancing = false
	})
	m.log.Info("cluster member: assignment applied", "member", gen.MemberID, "generation", gen.ID,
		"assigned", a.Assigned, "revoked", revoked, "delay_ms", a.Delay)
	if len(revoked) > 0 {
		// The cooperative second round: the revoked work is free now.
		return out(0)
	}
	var delay <-chan time.Time
	if a.Delay > 0 {
		t := time.NewTimer(time.Duration(a.Delay) * time.Millisecond)
		defer t.Stop()
		delay = t.C
	}
	select {
	case <-ctx.Done():
		m.revokeAll(context.WithoutCancel(ctx), "leaving the group")
	case <-m.rejoin:
	case <-delay:
		m.log.Info("cluster member: scheduled rebalance", "member", gen.MemberID, "generation", gen.ID)
	case ev := <-hb.events:
		switch ev {
		case hbFenced:
			m.lostMembership(ctx, "heartbeat: unknown member id")
		case hbLost:
			m.revokeAll(ctx, "no heartbeat answered for longer than the session timeout")
		}
	}
	return out(0)
}

// heartbeater runs a generation's heartbeats.
type heartbeater struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	events chan hbEvent
	lastOK atomic.Int64 // unix nanoseconds of the last answered heartbeat
}

// startHeartbeats starts heartbeating for gen. The heartbeats outlive ctx
// until stop: the final revocation, when Run ends, runs while they keep
// the session.
func (m *Member) startHeartbeats(ctx context.Context, gen Generation) *heartbeater {
	hctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	h := &heartbeater{cancel: cancel, events: make(chan hbEvent, 1)}
	h.lastOK.Store(time.Now().UnixNano())
	h.wg.Go(func() { m.heartbeats(hctx, gen, h.events, &h.lastOK) })
	return h
}

// stop stops the heartbeats and waits for their goroutine to end.
func (h *heartbeater) stop() {
	h.cancel()
	h.wg.Wait()
}

// heartbeats sends a heartbeat every HeartbeatInterval on a connection of
// its own until ctx is done, reporting on events (once) when the
// coordinator asks for a rebalance or the membership is gone. It keeps
// heartbeating after reporting a rebalance: the session must stay alive
// while the member finishes what it is doing.
func (m *Member) heartbeats(ctx context.Context, gen Generation, events chan<- hbEvent, lastOK *atomic.Int64) {
	dialer := newTrackingDialer(m.conf)
	stop := context.AfterFunc(ctx, dialer.closeAll)
	defer stop()
	var conn *sarama.Broker
	defer func() {
		if conn != nil {
			_ = conn.Close()
		}
	}()
	report := func(ev hbEvent) {
		select {
		case events <- ev:
		default:
		}
	}
	t := time.NewTicker(m.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if time.Since(time.Unix(0, lastOK.Load())) > m.cfg.SessionTimeout {
			report(hbLost)
			return
		}
		if m.frozen.Load() {
			continue
		}
		if conn == nil {
			c, err := m.coordinatorConn(dialer, min(m.conf.Net.ReadTimeout, m.cfg.SessionTimeout))
			if err != nil {
				if ctx.Err() == nil {
					m.log.Warn("cluster member: heartbeat: no coordinator", "member", gen.MemberID, "err", err)
				}
				continue
			}
			conn = c
		}
		req := &sarama.HeartbeatRequest{GroupId: m.cfg.GroupID, GenerationId: gen.ID, MemberId: gen.MemberID}
		switch v := m.conf.Version; {
		case v.IsAtLeast(sarama.V2_4_0_0):
			req.Version = 4
		case v.IsAtLeast(sarama.V2_3_0_0):
			req.Version = 3
		default:
			req.Version = 2
		}
		resp, err := conn.Heartbeat(req)
		if err != nil {
			if ctx.Err() == nil {
				m.log.Warn("cluster member: heartbeat failed", "member", gen.MemberID, "err", err)
			}
			_ = conn.Close()
			conn = nil
			_ = m.client.RefreshCoordinator(m.cfg.GroupID)
			continue
		}
		switch kerr := resp.Err; {
		case kerr == sarama.ErrNoError, kerr == sarama.ErrRebalanceInProgress:
			now := time.Now()
			lastOK.Store(now.UnixNano())
			m.update(func(s *MemberStats) { s.Heartbeats++; s.LastHeartbeat = now })
			if kerr == sarama.ErrRebalanceInProgress {
				report(hbRebalance)
			}
		case kerr == sarama.ErrIllegalGeneration:
			report(hbRejoin)
		case kerr == sarama.ErrUnknownMemberId || kerr == sarama.ErrFencedInstancedId:
			report(hbFenced)
			return
		case coordinatorKError(kerr):
			_ = conn.Close()
			conn = nil
			_ = m.client.RefreshCoordinator(m.cfg.GroupID)
		default:
			m.log.Warn("cluster member: heartbeat refused", "member", gen.MemberID, "generation", gen.ID, "err", kerr)
		}
	}
}

// lostMembership handles the coordinator forgetting us: everything held
// is revoked and the member id reset.
func (m *Member) lostMembership(ctx context.Context, why string) {
	m.revokeAll(ctx, why)
	m.memberID = ""
	m.update(func(s *MemberStats) { s.MemberID = "" })
}

// revokeAll revokes everything held, if anything, and forgets the last
// assignment.
func (m *Member) revokeAll(ctx context.Context, why string) {
	held := m.held()
	m.last = nil
	if len(held) == 0 {
		return
	}
	m.log.Warn("cluster member: revoking the whole assignment", "member", m.memberID, "reason", why, "held", held)
	m.cfg.Handler.Revoke(ctx, held.Clone())
	m.setHeld(nil)
}

// leave sends LeaveGroup, best effort.
func (m *Member) leave() {
	conn, err := m.coordinatorConn(newTrackingDialer(m.conf), m.conf.Net.ReadTimeout)
	if err != nil {
		m.log.Warn("cluster member: leaving the group", "member", m.memberID, "err", err)
		return
	}
	defer conn.Close()
	req := &sarama.LeaveGroupRequest{GroupId: m.cfg.GroupID, MemberId: m.memberID}
	switch v := m.conf.Version; {
	case v.IsAtLeast(sarama.V3_2_0_0):
		req.Version = 5
	case v.IsAtLeast(sarama.V2_4_0_0):
		req.Version = 4
	default:
		req.Version = 2
	}
	if req.Version >= 3 {
		mi := sarama.MemberIdentity{MemberId: m.memberID}
		if req.Version >= 5 {
			reason := "the member is stopping"
			mi.Reason = &reason
		}
		req.Members = []sarama.MemberIdentity{mi}
	}
	resp, err := conn.LeaveGroup(req)
	switch {
	case err != nil:
		m.log.Warn("cluster member: leaving the group", "member", m.memberID, "err", err)
	case resp.Err != sarama.ErrNoError:
		m.log.Warn("cluster member: leaving the group", "member", m.memberID, "err", resp.Err)
	default:
		m.log.Info("cluster member: left the group", "member", m.memberID)
	}
	m.memberID = ""
}

func cloneAssignment(a Assignment) Assignment {
	a.Assigned, a.Revoked = a.Assigned.Clone(), a.Revoked.Clone()
	return a
}

// trackingDialer dials the member's own coordinator connections (through
// the configured proxy dialer, if any) and remembers them so that Run can
// close them all when its context ends: closing the socket is the only way
// to interrupt a JoinGroup sarama is blocked in.
type trackingDialer struct {
	inner dialer

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

func newTrackingDialer(conf *sarama.Config) *trackingDialer {
	var inner dialer = &net.Dialer{
		Timeout:   conf.Net.DialTimeout,
		KeepAlive: conf.Net.KeepAlive,
		LocalAddr: conf.Net.LocalAddr,
	}
	if conf.Net.Proxy.Enable && conf.Net.Proxy.Dialer != nil {
		inner = conf.Net.Proxy.Dialer
	}
	return &trackingDialer{inner: inner, conns: map[net.Conn]struct{}{}}
}

// dialer is sarama's Net.Proxy.Dialer (golang.org/x/net/proxy.Dialer).
type dialer interface {
	Dial(network, addr string) (net.Conn, error)
}

// Dial implements sarama's Net.Proxy.Dialer.
func (d *trackingDialer) Dial(network, addr string) (net.Conn, error) {
	c, err := d.inner.Dial(network, addr)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		_ = c.Close()
		return nil, net.ErrClosed
	}
	tc := &trackedConn{Conn: c, d: d}
	d.conns[tc] = struct{}{}
	return tc, nil
}

// closeAll closes every open connection and refuses new ones.
func (d *trackingDialer) closeAll() {
	d.mu.Lock()
	conns := d.conns
	d.conns = map[net.Conn]struct{}{}
	d.closed = true
	d.mu.Unlock()
	for c := range conns {
		_ = c.(*trackedConn).Conn.Close()
	}
}

type trackedConn struct {
	net.Conn
	d *trackingDialer
}

func (c *trackedConn) Close() error {
	c.d.mu.Lock()
	delete(c.d.conns, c)
	c.d.mu.Unlock()
	return c.Conn.Close()
}
