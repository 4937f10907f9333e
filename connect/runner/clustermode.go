package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/cluster"
	"github.com/sluicehq/sluice/internal/kafkaconf"
	"github.com/sluicehq/sluice/offsets"
)

// Target states as the config topic spells them.
const (
	targetStarted = "STARTED"
	targetPaused  = "PAUSED"
	targetStopped = "STOPPED"
)

// clusterRuntime is a Runner's cluster mode: the config and status topics,
// the group member and the leader's assignor. The config topic is the
// source of truth of which connectors exist, their configurations, task
// configurations and target states: the Runner's slots mirror it
// (reconcile), every mutation (REST or Go) is a write to it, and each slot
// runs only the tasks the group assigned to this member.
type clusterRuntime struct {
	r        *Runner
	cfg      ClusterConfig // with defaults
	workerID string
	log      *slog.Logger
	sarama   *sarama.Config
	brokers  []string
	protos   []int16
	assignor *cluster.Assignor

	// Set by run before anything else uses them.
	configLog *cluster.ConfigLog
	statusLog *cluster.StatusLog
	member    atomic.Pointer[cluster.Member] // read by the metrics callback

	// reconcileMu serializes reconcile and the member's callbacks, which
	// change slots' assignments.
	reconcileMu sync.Mutex

	mu       sync.Mutex
	declared map[string]declaration // connectors declared in Go (AddPipeline)
	// declOpen is set when run took the declarations to write: a later
	// declaration writes itself.
	declOpen  bool
	gen       cluster.Generation
	leaderURL string
	held      cluster.Work
	written   map[string]writtenStatus // status records last written by this member, by key
	work      map[string]int           // the config topic's connectors and task counts at the last reconcile
	ready     chan struct{}            // closed once the config topic was read and the member started
	stopped   chan struct{}            // closed when run returned
	// statusMu serializes writeStatuses and Revoke, so that a status
	// computed before a revocation is not written after it.
	statusMu  sync.Mutex
	readyOnce sync.Once

	taskWake   chan struct{} // wakes the task-configuration worker
	statusWake chan struct{} // wakes the status writer

	// loggers are the cluster-scope logger levels applied (loggers.go),
	// topics the active topics published (topics.go).
	loggers clusterLoggers
	topics  clusterTopics
}

// declaration is a connector declared in Go on this member.
type declaration struct {
	config map[string]string
	build  BuildFunc
}

func newClusterRuntime(r *Runner, c ClusterConfig) (*clusterRuntime, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("runner: cluster: %w", err)
	}
	c = c.withDefaults()
	workerID, err := workerIDOf(c.AdvertisedURL)
	if err != nil {
		return nil, fmt.Errorf("runner: cluster: %w", err)
	}
	brokers := c.Brokers
	if len(brokers) == 0 {
		brokers = kafkaconf.ParseBootstrap(r.cfg.Worker[keyBootstrapServers])
	}
	if len(brokers) == 0 {
		brokers = []string{defaultClusterBootstrap}
	}
	sc, err := offsets.ClientConfigFromProperties(r.cfg.Worker, c.Sarama)
	if err != nil {
		return nil, fmt.Errorf("runner: cluster: Kafka client configuration: %w", err)
	}
	first, err := cluster.ParseProtocol(c.Protocol)
	if err != nil {
		return nil, fmt.Errorf("runner: cluster: %w", err)
	}
	protos := []int16{first}
	for _, v := range []int16{cluster.ProtocolSessioned, cluster.ProtocolCompatible} {
		if v != first {
			protos = append(protos, v)
		}
	}
	log := r.base.With(LoggerAttr, LoggerDistributedHerder, "group", c.GroupID)
	cr := &clusterRuntime{
		r: r, cfg: c, workerID: workerID, log: log, sarama: sc, brokers: brokers, protos: protos,
		declared: map[string]declaration{}, written: map[string]writtenStatus{},
		ready: make(chan struct{}), stopped: make(chan struct{}),
		taskWake: make(chan struct{}, 1), statusWake: make(chan struct{}, 1),
		gen: cluster.Generation{ID: -1},
	}
	maxDelay := c.ScheduledRebalanceMaxDelay
	if maxDelay < 0 {
		maxDelay = 0
	}
	cr.assignor = &cluster.Assignor{MaxDelay: maxDelay, Logger: log}
	return cr, nil
}

func wake(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// run is Runner.Run's body in cluster mode: it opens the topics, joins the
// group and runs until ctx is done; then it leaves the group (stopping
// every local task) and closes the topics.
func (cr *clusterRuntime) run(ctx context.Context) error {
	defer close(cr.stopped)
	cfgLog, stLog, err := cr.open(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	cr.configLog, cr.statusLog = cfgLog, stLog
	defer func() {
		if err := stLog.Close(); err != nil {
			cr.log.Warn("closing the status topic", "topic", cr.cfg.StatusTopic, "error", err)
		}
		if err := cfgLog.Close(); err != nil {
			cr.log.Warn("closing the config topic", "topic", cr.cfg.ConfigTopic, "error", err)
		}
	}()
	msc := *cr.sarama
	msc.ClientID = "connect-" + cr.workerID // as Kafka Connect's member ids: connect-<host:port>-<uuid>
	m, err := cluster.NewMember(cluster.MemberConfig{
		Addrs: cr.brokers, Sarama: &msc, GroupID: cr.cfg.GroupID, URL: cr.cfg.AdvertisedURL,
		Protocols: cr.protos, SessionTimeout: cr.cfg.SessionTimeout, HeartbeatInterval: cr.cfg.HeartbeatInterval,
		RebalanceTimeout: cr.cfg.RebalanceTimeout, Logger: cr.r.base.With(LoggerAttr, loggerWorkerCoordinator), Handler: clusterHandler{cr},
	})
	if err != nil {
		return fmt.Errorf("runner: cluster: %w", err)
	}
	cr.member.Store(m)
	cfgLog.SetListener(cr.onConfig)
	cr.initLoggerLevels(cfgLog.Snapshot())
	cr.reconcile(cfgLog.Snapshot())
	declErr := cr.writeDeclared(ctx)

	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	if declErr != nil && ctx.Err() == nil {
		// Retried until written: a replica must not run as healthy without
		// the connectors it declares.
		wg.Go(func() { cr.retryDeclared(ctx, declErr) })
	}
	wg.Go(func() {
		if err := cfgLog.Run(bg); err != nil {
			cr.log.Error("reading the config topic", "topic", cr.cfg.ConfigTopic, "error", err)
		}
	})
	wg.Go(func() {
		if err := stLog.Run(bg); err != nil {
			cr.log.Error("reading the status topic", "topic", cr.cfg.StatusTopic, "error", err)
		}
	})
	wg.Go(func() { cr.taskConfigWorker(bg) })
	wg.Go(func() { cr.statusWriter(bg) })
	cr.readyOnce.Do(func() { close(cr.ready) })
	cr.log.Info("joining the cluster", "worker_id", cr.workerID, "url", cr.cfg.AdvertisedURL)
	merr := m.Run(ctx) // leaves the group (revoking everything) once ctx is done
	// Every local task stopped: write the last statuses before closing.
	cr.writeStatuses()
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	if err := stLog.Flush(fctx); err != nil {
		cr.log.Warn("writing the last statuses", "topic", cr.cfg.StatusTopic, "error", err)
	}
	cancel()
	stopBG()
	wg.Wait()
	if merr != nil {
		return fmt.Errorf("runner: cluster member: %w", merr)
	}
	return nil
}

// open opens the config and status topics, retrying while Kafka cannot be
// reached (backing off up to 30 s) until ctx is done.
func (cr *clusterRuntime) open(ctx context.Context) (*cluster.ConfigLog, *cluster.StatusLog, error) {
	backoff := 500 * time.Millisecond
	for {
		err := cr.ensureOffsetTopic(ctx)
		var cl *cluster.ConfigLog
		if err == nil {
			cl, err = cluster.OpenConfigLog(ctx, cluster.LogConfig{
				Addrs: cr.brokers, Sarama: cr.sarama, Topic: cr.cfg.ConfigTopic,
				Partitions: 1, ReplicationFactor: cr.cfg.ConfigReplicationFactor, Logger: cr.log,
			})
		}
		if err == nil {
			sl, serr := cluster.OpenStatusLog(ctx, cluster.LogConfig{
				Addrs: cr.brokers, Sarama: cr.sarama, Topic: cr.cfg.StatusTopic,
				Partitions: cr.cfg.StatusPartitions, ReplicationFactor: cr.cfg.StatusReplicationFactor, Logger: cr.log,
			})
			if serr == nil {
				return cl, sl, nil
			}
			_ = cl.Close()
			err = serr
		}
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		if !kafkaconf.Retriable(err) && !errors.Is(err, sarama.ErrOutOfBrokers) && !errors.Is(err, context.DeadlineExceeded) {
			return nil, nil, fmt.Errorf("runner: %w", err)
		}
		cr.log.Warn("cannot open the cluster's topics yet; retrying", "error", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// ensureOffsetTopic creates the offsets topic when missing, as Kafka
// Connect's workers create their three internal topics at startup (a
// source pipeline would create it too, but the first may start later).
func (cr *clusterRuntime) ensureOffsetTopic(ctx context.Context) error {
	sc := *cr.sarama
	sc.ClientID = "connect-cluster-offsets-" + cr.workerID
	client, err := sarama.NewClient(cr.brokers, &sc)
	if err != nil {
		return fmt.Errorf("offsets topic %s: %w", cr.cfg.OffsetTopic, err)
	}
	defer client.Close()
	_, err = cluster.EnsureTopic(ctx, client, cluster.TopicSpec{
		Name: cr.cfg.OffsetTopic, Property: keyOffsetTopic, Purpose: "source offsets",
		Partitions: cr.cfg.OffsetPartitions, ReplicationFactor: cr.cfg.OffsetReplicationFactor,
	}, cr.log)
	return err
}

// awaitReady waits until run opened the topics (so that a mutation can be
// written), or ctx is done.
func (cr *clusterRuntime) awaitReady(ctx context.Context) error {
	select {
	case <-cr.ready:
		return nil
	case <-cr.stopped:
		return &runnerError{kind: ErrStopped, msg: "The runner has stopped: it is no longer a member of cluster " + cr.cfg.GroupID}
	case <-ctx.Done():
		return fmt.Errorf("the cluster's config topic %s is not open yet: %w", cr.cfg.ConfigTopic, ctx.Err())
	}
}

// --- mutations: each is a write to the config topic, then a read to its
// end so that the caller sees its own write applied on this member.

// mutate runs write against the config topic and waits until this member
// applied it.
func (cr *clusterRuntime) mutate(ctx context.Context, write func(ctx context.Context, l *cluster.ConfigLog) error) error {
	ctx, cancel := context.WithTimeout(ctx, defaultClusterHTTPTimeout)
	defer cancel()
	if err := cr.awaitReady(ctx); err != nil {
		return err
	}
	if err := write(ctx, cr.configLog); err != nil {
		return fmt.Errorf("writing to the config topic %s: %w", cr.cfg.ConfigTopic, err)
	}
	if _, err := cr.configLog.ReadToEnd(ctx); err != nil {
		return fmt.Errorf("reading back the config topic %s: %w", cr.cfg.ConfigTopic, err)
	}
	cr.reconcile(cr.configLog.Snapshot())
	return nil
}

// declare records a connector declared in Go and, once Run opened the
// config topic, writes its configuration unless the topic holds an equal
// one.
func (cr *clusterRuntime) declare(name string, config map[string]string, build BuildFunc) error {
	cr.mu.Lock()
	cr.declared[name] = declaration{config: config, build: build}
	open := cr.declOpen
	cr.mu.Unlock()
	if !open {
		return nil // run writes it
	}
	if err := cr.awaitReady(context.Background()); err != nil {
		return err
	}
	cur, ok := cr.configLog.Snapshot().Connectors[name]
	if ok && maps.Equal(cur.Config, config) {
		cr.reconcile(cr.configLog.Snapshot())
		return nil
	}
	return cr.mutate(context.Background(), func(ctx context.Context, l *cluster.ConfigLog) error {
		return l.PutConnectorConfig(ctx, name, config)
	})
}

// writeDeclared writes the connectors declared before Run whose
// configuration the config topic does not hold as declared: every replica
// declaring the same connectors converges on one record per connector.
func (cr *clusterRuntime) writeDeclared(ctx context.Context) error {
	cr.mu.Lock()
	decl := maps.Clone(cr.declared)
	cr.declOpen = true
	cr.mu.Unlock()
	snap := cr.configLog.Snapshot()
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(decl)) {
		if cur, ok := snap.Connectors[name]; ok && maps.Equal(cur.Config, decl[name].config) {
			continue
		}
		if err := cr.configLog.PutConnectorConfig(ctx, name, decl[name].config); err != nil {
			errs = append(errs, fmt.Errorf("connector %s: %w", name, err))
		}
	}
	if len(errs) == 0 {
		if _, err := cr.configLog.ReadToEnd(ctx); err != nil {
			errs = append(errs, err)
		}
		cr.reconcile(cr.configLog.Snapshot())
	}
	return errors.Join(errs...)
}

// retryDeclared writes the declared connectors again until it succeeds or
// ctx is done, backing off up to 30 s.
func (cr *clusterRuntime) retryDeclared(ctx context.Context, err error) {
	backoff := time.Second
	for err != nil && ctx.Err() == nil {
		cr.log.Error("writing the connectors declared in Go to the config topic failed; retrying", "topic", cr.cfg.ConfigTopic, "error", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
		err = cr.writeDeclared(ctx)
	}
}

func (cr *clusterRuntime) exists(name string) bool {
	select {
	case <-cr.ready:
		_, ok := cr.configLog.Snapshot().Connectors[name]
		return ok
	default:
		_, err := cr.r.slot(name)
		return err == nil
	}
}

func (cr *clusterRuntime) putConfig(ctx context.Context, name string, config map[string]string, initial string) error {
	return cr.mutate(ctx, func(ctx context.Context, l *cluster.ConfigLog) error {
		if initial != "" && initial != targetStarted {
			// As Kafka Connect (KIP-980): the target state with the
			// connector, so that it never runs before it is paused or
			// stopped.
			return l.PutConnectorConfigWithState(ctx, name, config, initial)
		}
		return l.PutConnectorConfig(ctx, name, config)
	})
}

func (cr *clusterRuntime) setTarget(ctx context.Context, name string, t connect.State) error {
	v := targetStarted
	switch t {
	case connect.StatePaused:
		v = targetPaused
	case connect.StateStopped:
		v = targetStopped
	}
	return cr.mutate(ctx, func(ctx context.Context, l *cluster.ConfigLog) error { return l.PutTargetState(ctx, name, v) })
}

func (cr *clusterRuntime) remove(ctx context.Context, name string) error {
	err := cr.mutate(ctx, func(ctx context.Context, l *cluster.ConfigLog) error { return l.RemoveConnector(ctx, name) })
	if err == nil {
		cr.statusLog.DeleteConnector(name)
		cr.deleteActiveTopics(name, nil) // deleted with the connector
	}
	return err
}

func (cr *clusterRuntime) requestRestart(ctx context.Context, name string, opts RestartOptions) error {
	return cr.mutate(ctx, func(ctx context.Context, l *cluster.ConfigLog) error {
		return l.RequestRestart(ctx, name, opts.IncludeTasks, opts.OnlyFailed)
	})
}

// --- reconcile: slots mirror the config topic.

func targetOf(s string) connect.State {
	switch s {
	case targetPaused:
		return connect.StatePaused
	case targetStopped:
		return connect.StateStopped
	}
	return connect.StateRunning
}

// onConfig is the config topic's listener.
func (cr *clusterRuntime) onConfig(snap cluster.ConfigSnapshot, restarts []cluster.RestartRequest) {
	cr.applyLoggerLevels(snap)
	cr.reconcile(snap)
	for _, rr := range restarts {
		cr.restartLocal(rr)
	}
}

// definitionOf returns how this member builds a connector of the config
// topic: the BuildFunc declared here, else the plugin connector.class
// names, else a builder that fails saying why.
func (cr *clusterRuntime) definitionOf(name string, config map[string]string) (*connect.Plugin, BuildFunc) {
	cr.mu.Lock()
	d, ok := cr.declared[name]
	cr.mu.Unlock()
	if ok {
		if !maps.Equal(d.config, config) {
			cr.log.Warn("connector declared in Go on this member has another configuration in the config topic (another member wrote it); running the config topic's", "connector", name)
		}
		return nil, d.build
	}
	class := strings.TrimSpace(config["connector.class"])
	if p := cr.r.lookupPlugin(class); class != "" && p != nil {
		return p, nil
	}
	err := fmt.Errorf("connector %s is not known on worker %s: it was declared in Go (Runner.AddPipeline) on other members only, or its connector.class %q names no plugin registered here", name, cr.workerID, class)
	return nil, func(context.Context) (connect.Pipeline, error) { return nil, err }
}

// reconcile makes the slots mirror snap: connectors created, reconfigured,
// given a new target state or new task configurations, or removed.
func (cr *clusterRuntime) reconcile(snap cluster.ConfigSnapshot) {
	cr.reconcileMu.Lock()
	defer cr.reconcileMu.Unlock()
	r := cr.r
	// The leader rebalances when the work the config topic describes
	// changes: connectors created or deleted, task counts.
	work := make(map[string]int, len(snap.Connectors))
	for name, cc := range snap.Connectors {
		work[name] = len(cc.TaskConfigs)
		if cc.Inconsistent {
			work[name] = 0
		}
	}
	cr.mu.Lock()
	changedWork := !maps.Equal(work, cr.work)
	cr.work = work
	cr.mu.Unlock()
	for _, name := range slices.Sorted(maps.Keys(snap.Connectors)) {
		cc := snap.Connectors[name]
		target := targetOf(cc.TargetState)
		s, err := r.slot(name)
		if err != nil {
			p, build := cr.definitionOf(name, cc.Config)
			s = newSlot(r, name, maps.Clone(cc.Config), p, build, target)
			s.clustered = true
			s.pendingStart = false
			s.clusterTasks = cloneConfigs(cc.TaskConfigs)
			if err := r.addSlot(s); err != nil {
				if old := r.slotAny(name); old != nil && old.isRemoved() {
					// Deleted and created again while the old one stops:
					// add it once the name is free.
					go func() {
						<-old.done
						if cr.configLog != nil {
							cr.reconcile(cr.configLog.Snapshot())
						}
					}()
					continue
				}
				cr.log.Warn("connector of the config topic not added", "connector", name, "error", err)
				continue
			}
			s.log.Info("connector added from the config topic", "config", s.logConfig(), "target_state", string(target))
			continue
		}
		old, _, _ := s.definition()
		if !maps.Equal(old, cc.Config) {
			p, build := cr.definitionOf(name, cc.Config)
			s.reconfigure(maps.Clone(cc.Config), p, build)
			s.forceTaskConfigs()
			wake(cr.taskWake)
		}
		if s.targetState() != target {
			s.setTarget(target)
			s.forceTaskConfigs()
			wake(cr.taskWake)
			wake(cr.statusWake)
		}
		if s.setClusterTasks(cc.TaskConfigs) {
			s.applyAssignment()
			wake(cr.taskWake) // an owner checks them against what it computed
		}
	}
	for _, s := range r.liveSlots() {
		if _, ok := snap.Connectors[s.name]; ok || !s.clustered {
			continue
		}
		s.remove()
		s.log.Info("connector deleted from the config topic")
		r.mu.Lock()
		started := r.started
		r.mu.Unlock()
		if started {
			// The slot's goroutine frees the name once it stopped.
			continue
		}
		r.mu.Lock()
		if r.slots[s.name] == s {
			delete(r.slots, s.name)
		}
		r.mu.Unlock()
	}
	// A connector just read may already be assigned here.
	cr.mu.Lock()
	held := cr.held.Clone()
	cr.mu.Unlock()
	cr.applyHeld(held)
	if m := cr.member.Load(); changedWork && m != nil {
		cr.mu.Lock()
		leader := cr.gen.LeaderID != "" && cr.gen.LeaderID == cr.gen.MemberID
		cr.mu.Unlock()
		if leader {
			// The leader rebalances when the set of work changes: new or
			// deleted connectors, task counts.
			m.Rejoin()
		}
	}
	wake(cr.taskWake)
}

func cloneConfigs(cs []map[string]string) []map[string]string {
	out := make([]map[string]string, len(cs))
	for i, c := range cs {
		out[i] = maps.Clone(c)
	}
	return out
}

// applyHeld sets every slot's local share from the member's held work.
func (cr *clusterRuntime) applyHeld(held cluster.Work) {
	for _, s := range cr.r.liveSlots() {
		if !s.clustered {
			continue
		}
		ids := held[s.name]
		owns := slices.Contains(ids, cluster.ConnectorTask)
		var tasks []int
		for _, id := range ids {
			if id >= 0 {
				tasks = append(tasks, int(id))
			}
		}
		s.setLocal(tasks, owns)
		s.applyAssignment()
	}
}

// --- the group member's handler.

type clusterHandler struct{ cr *clusterRuntime }

func (h clusterHandler) ConfigOffset() int64 { return h.cr.configLog.Offset() }

func (h clusterHandler) Assign(ctx context.Context, gen cluster.Generation, members []cluster.MemberMetadata) (map[string]cluster.Assignment, error) {
	cr := h.cr
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second) // worker.sync.timeout.ms
	if _, err := cr.configLog.ReadToEnd(rctx); err != nil {
		cr.log.Warn("leader could not read the config topic to its end before assigning", "error", err)
	}
	cancel()
	snap := cr.configLog.Snapshot()
	conns := make(map[string]int, len(snap.Connectors))
	for name, cc := range snap.Connectors {
		n := len(cc.TaskConfigs)
		if cc.Inconsistent {
			n = 0
		}
		conns[name] = n
	}
	return cr.assignor.Assign(cluster.AssignInput{
		Generation: gen.ID, LastCompletedGeneration: cr.member.Load().Stats().Generation,
		LeaderID: gen.MemberID, LeaderURL: cr.cfg.AdvertisedURL,
		Protocol: gen.Protocol, ConfigOffset: snap.Offset, Connectors: conns, Members: members,
	})
}

func (h clusterHandler) Revoke(_ context.Context, revoked cluster.Work) {
	cr := h.cr
	cr.mu.Lock()
	cr.held = cr.held.Minus(revoked)
	held := cr.held.Clone()
	gen := cr.gen.ID
	cr.mu.Unlock()
	cr.log.Info("work revoked", "revoked", workString(revoked))
	cr.statusMu.Lock() // no RUNNING written for revoked work meanwhile
	defer cr.statusMu.Unlock()
	cr.reconcileMu.Lock()
	cr.applyHeld(held)
	cr.reconcileMu.Unlock()
	// A deleted connector's slot is gone from the live ones: wait until
	// its tasks stopped too.
	for name := range revoked {
		if s := cr.r.slotAny(name); s != nil && s.isRemoved() {
			<-s.done
		}
	}
	// As Kafka Connect: stopped work is UNASSIGNED until its next owner
	// reports it (a deleted connector's statuses stay deleted).
	snap := cr.configLog.Snapshot()
	for name, ids := range revoked {
		if _, ok := snap.Connectors[name]; !ok {
			continue
		}
		for _, id := range ids {
			st := cluster.Status{State: string(connect.StateUnassigned), WorkerID: cr.workerID, Generation: gen}
			if id == cluster.ConnectorTask {
				cr.putStatus(connectorStatusKey(name), st, true, func() { cr.statusLog.PutConnectorSafe(name, st) })
			} else {
				cr.putStatus(taskStatusKey(name, int(id)), st, true, func() { cr.statusLog.PutTaskSafe(name, int(id), st) })
			}
		}
	}
}

func (h clusterHandler) Assigned(ctx context.Context, gen cluster.Generation, held cluster.Work, a cluster.Assignment) {
	cr := h.cr
	if cr.configLog.Offset() < a.ConfigOffset {
		rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		_, err := cr.configLog.ReadToEnd(rctx)
		cancel()
		if err != nil || cr.configLog.Offset() < a.ConfigOffset {
			// As Kafka Connect: no work starts from a configuration older
			// than the one the leader assigned from.
			cr.log.Warn("behind the leader's config offset; not starting the new work, rejoining", "offset", cr.configLog.Offset(), "leader_offset", a.ConfigOffset, "error", err)
			cr.member.Load().Rejoin()
			return
		}
	}
	cr.mu.Lock()
	cr.gen, cr.leaderURL, cr.held = gen, a.LeaderURL, held.Clone()
	cr.mu.Unlock()
	cr.log.Info("assignment received", "generation", gen.ID, "leader", gen.LeaderID, "assigned", workString(a.Assigned), "revoked", workString(a.Revoked), "held", workString(held))
	cr.reconcile(cr.configLog.Snapshot())
	cr.reconcileMu.Lock()
	cr.applyHeld(held)
	cr.reconcileMu.Unlock()
	wake(cr.taskWake)
	wake(cr.statusWake)
}

func workString(w cluster.Work) string {
	var b strings.Builder
	for i, name := range w.Connectors() {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s%v", name, w[name])
	}
	return "[" + b.String() + "]"
}

// --- task configurations: computed by the member that owns the connector.

// taskConfigWorker computes and writes the task configurations of the
// connectors this member owns whenever their configuration or target state
// changed (Kafka Connect's connector reconfiguration), until ctx is done.
func (cr *clusterRuntime) taskConfigWorker(ctx context.Context) {
	retry := time.NewTimer(time.Hour)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-cr.taskWake:
		case <-retry.C:
		}
		failed := false
		for _, s := range cr.r.liveSlots() {
			if !s.clustered || ctx.Err() != nil {
				continue
			}
			if err := cr.updateTaskConfigs(ctx, s); err != nil && ctx.Err() == nil {
				failed = true
				s.log.Error("computing the connector's task configurations", "error", s.scrub(err.Error()))
			}
		}
		if failed {
			retry.Reset(5 * time.Second)
		}
	}
}

// updateTaskConfigs writes s's task configurations when this member owns
// the connector and they are not up to date: computed by the connector for
// a running or paused one, none for a stopped one (KIP-875).
func (cr *clusterRuntime) updateTaskConfigs(ctx context.Context, s *slot) error {
	s.mu.Lock()
	// Up to date: computed for this definition and either failed or
	// committed as computed (another owner's late write is overwritten).
	upToDate := s.tcValid && s.tcGen == s.gen && (s.connErr != nil || slices.EqualFunc(s.clusterTasks, s.tcWant, maps.Equal))
	owns, gen, target := s.ownsConn, s.gen, s.target
	build := s.buildFuncLocked()
	committed := cloneConfigs(s.clusterTasks)
	s.mu.Unlock()
	if !owns || upToDate {
		return nil
	}
	var want []map[string]string
	if target != connect.StateStopped {
		p, err := s.buildPipeline(ctx, build)
		if err == nil {
			ta, ok := p.(connect.TaskAssignable)
			if !ok {
				err = fmt.Errorf("connector %s: its pipeline (%T) cannot run in cluster mode: it does not implement connect.TaskAssignable", s.name, p)
			} else {
				want, err = ta.ComputeTaskConfigs(ctx)
			}
		}
		s.countStartup(err) // the connector's start, as its owner computes the task configs
		if err != nil {
			// The connector is FAILED until restarted or reconfigured, as
			// Kafka Connect's.
			s.setConnErr(err, gen)
			wake(cr.statusWake)
			s.log.Error("connector failed: cannot compute its task configurations", "error", s.scrub(err.Error()))
			return nil
		}
	}
	if want == nil {
		want = []map[string]string{}
	}
	s.mu.Lock()
	want = withTaskClass(cloneConfigs(want), s.plugin)
	still := s.ownsConn && s.gen == gen
	s.mu.Unlock()
	if !still {
		return nil // moved or redefined meanwhile: the owner of the current definition writes
	}
	if !slices.EqualFunc(want, committed, maps.Equal) {
		wctx, cancel := context.WithTimeout(ctx, defaultClusterHTTPTimeout)
		err := cr.configLog.PutTaskConfigs(wctx, s.name, want)
		cancel()
		if err != nil {
			return fmt.Errorf("connector %s: writing %d task configurations to the config topic %s: %w", s.name, len(want), cr.cfg.ConfigTopic, err)
		}
		s.log.Info("task configurations written", "tasks", len(want))
	}
	s.setTaskConfigsComputed(want, gen)
	wake(cr.statusWake)
	return nil
}

// --- restarts.

// restartLocal carries out the part of a restart request that concerns
// this member: the connector if it owns it, its local tasks.
func (cr *clusterRuntime) restartLocal(rr cluster.RestartRequest) {
	s, err := cr.r.slot(rr.Connector)
	if err != nil || !s.clustered {
		return
	}
	rep := cr.report(s)
	connFailed := rep.State == connect.StateFailed
	s.mu.Lock()
	owns := s.ownsConn
	s.mu.Unlock()
	if owns && (!rr.OnlyFailed || connFailed) {
		s.log.Info("connector restarting (restart request from the config topic)")
		s.forceTaskConfigs()
		wake(cr.taskWake)
	}
	if !rr.IncludeTasks {
		return
	}
	var ids []int
	for _, t := range rep.Tasks {
		if s.runsLocally(t.ID) && (!rr.OnlyFailed || t.State == connect.StateFailed) {
			ids = append(ids, t.ID)
		}
	}
	if len(ids) > 0 {
		s.log.Info("tasks restarting (restart request from the config topic)", "tasks", ids)
		_ = s.restartLocalTasks(ids) // failures are logged and shown in the status
	}
}

// forwardTaskRestart asks the member running the task to restart it.
func (cr *clusterRuntime) forwardTaskRestart(ctx context.Context, name string, id int, owner string) error {
	u, err := url.Parse(cr.cfg.AdvertisedURL)
	if err != nil {
		return err
	}
	target := u.Scheme + "://" + owner + "/connectors/" + url.PathEscape(name) + "/tasks/" + strconv.Itoa(id) + "/restart?forward=false"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := cr.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("forwarding the restart of task %s-%d to worker %s: %w", name, id, owner, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("forwarding the restart of task %s-%d to worker %s: %s: %s", name, id, owner, resp.Status, bytes.TrimSpace(body))
	}
	return nil
}

// --- statuses.

func connectorStatusKey(name string) string    { return "status-connector-" + name }
func taskStatusKey(name string, id int) string { return "status-task-" + name + "-" + strconv.Itoa(id) }

// writtenStatus is a status record this member wrote, and when.
type writtenStatus struct {
	st cluster.Status
	at time.Time
}

// statusRewriteAfter is how long a status this member wrote may read back
// otherwise (another member's older write landed after it) before it is
// written again.
const statusRewriteAfter = 3 * time.Second

// putStatus calls write unless this member last wrote the same status
// under key and the status topic shows it (or showed it so recently
// that the write may still be on its way).
func (cr *clusterRuntime) putStatus(key string, st cluster.Status, shown bool, write func()) {
	cr.mu.Lock()
	if prev, ok := cr.written[key]; ok && prev.st == st && (shown || time.Since(prev.at) < statusRewriteAfter) {
		cr.mu.Unlock()
		return
	}
	cr.written[key] = writtenStatus{st: st, at: time.Now()}
	cr.mu.Unlock()
	write()
}

// statusWriter writes the statuses of the work this member runs when they
// change, until ctx is done.
func (cr *clusterRuntime) statusWriter(ctx context.Context) {
	t := time.NewTicker(defaultClusterStatusRefresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-cr.statusWake:
		}
		cr.writeStatuses()
		cr.writeActiveTopics()
	}
}

// clusterState maps a Sluice state to the status topic's: Kafka Connect
// has no stalled state (a stalled task is RUNNING).
func clusterState(s connect.State) string {
	if s == "" {
		return string(connect.StateUnassigned)
	}
	return string(s)
}

// writeStatuses writes the statuses of the connectors and tasks this member
// runs that changed since it last wrote them.
func (cr *clusterRuntime) writeStatuses() {
	cr.statusMu.Lock()
	defer cr.statusMu.Unlock()
	cr.mu.Lock()
	gen := cr.gen.ID
	cr.mu.Unlock()
	version := cr.r.cfg.Version
	for _, s := range cr.r.liveSlots() {
		if !s.clustered {
			continue
		}
		s.mu.Lock()
		owns, local := s.ownsConn, slices.Clone(s.localTasks)
		s.mu.Unlock()
		if owns {
			state, trace := s.localConnectorState()
			st := cluster.Status{State: clusterState(state), Trace: trace, WorkerID: cr.workerID, Generation: gen, Version: version}
			cur, ok := cr.statusLog.Connector(s.name)
			cr.putStatus(connectorStatusKey(s.name), st, ok && cur == st, func() { cr.statusLog.PutConnector(s.name, st) })
		}
		if len(local) == 0 {
			continue
		}
		rep := s.report()
		shown := cr.statusLog.Tasks(s.name)
		for _, t := range rep.Tasks {
			if !slices.Contains(local, t.ID) {
				continue
			}
			st := cluster.Status{State: clusterState(t.State), Trace: rep.scrub(ErrorTrace(t.Err)), WorkerID: cr.workerID, Generation: gen, Version: version}
			if t.State == connect.StateStopped || t.State == connect.StateUnassigned {
				continue // between incarnations: the last state stands
			}
			cur, ok := shown[t.ID]
			cr.putStatus(taskStatusKey(s.name, t.ID), st, ok && cur == st, func() { cr.statusLog.PutTask(s.name, t.ID, st) })
		}
	}
}

// remoteError is the failure of a connector or task on another member, as
// the status topic holds it (its trace).
type remoteError struct{ trace string }

func (e *remoteError) Error() string { return e.trace }

// report is a connector's cluster-wide status: the connector's and each
// task's state from the member that runs it (live for this member's, from
// the status topic for the others').
func (cr *clusterRuntime) report(s *slot) ConnectorReport {
	local := s.report()
	s.mu.Lock()
	owns, ids, n, connErr := s.ownsConn, slices.Clone(s.localTasks), len(s.clusterTasks), s.connErr
	target := s.target
	s.mu.Unlock()
	rep := local
	rep.Tasks = nil
	switch {
	case owns:
		rep.WorkerID = cr.workerID
		var trace string
		rep.State, trace = s.localConnectorState()
		if trace != "" {
			rep.Err = &remoteError{trace: trace}
		}
		if connErr != nil {
			rep.Err = scrubErr(connErr, rep.secrets)
		} else if rep.State != connect.StateFailed {
			rep.Err = nil
		}
	default:
		st, ok := cr.statusLog.Connector(s.name)
		rep.State, rep.Err, rep.WorkerID = connect.StateUnassigned, nil, ""
		if ok {
			rep.State, rep.WorkerID = connect.State(st.State), st.WorkerID
			if st.Trace != "" {
				rep.Err = &remoteError{trace: st.Trace}
			}
		}
		if target == connect.StateStopped && rep.State != connect.StateStopped && n == 0 {
			rep.State = connect.StateStopped
		}
	}
	remote := cr.statusLog.Tasks(s.name)
	for id := range n {
		if slices.Contains(ids, id) {
			if i := slices.IndexFunc(local.Tasks, func(t TaskReport) bool { return t.ID == id }); i >= 0 {
				t := local.Tasks[i]
				t.WorkerID = cr.workerID
				rep.Tasks = append(rep.Tasks, t)
				continue
			}
		}
		t := TaskReport{TaskStatus: connect.TaskStatus{ID: id, State: connect.StateUnassigned, Lag: -1}, Remote: true}
		if st, ok := remote[id]; ok && !slices.Contains(ids, id) {
			t.State, t.WorkerID = connect.State(st.State), st.WorkerID
			if st.Trace != "" {
				t.Err = &remoteError{trace: st.Trace}
			}
		}
		rep.Tasks = append(rep.Tasks, t)
	}
	return rep
}

// metrics of the member, for connect-coordinator-metrics.
func (cr *clusterRuntime) stats() (cluster.MemberStats, bool) {
	m := cr.member.Load()
	if m == nil {
		return cluster.MemberStats{}, false
	}
	return m.Stats(), true
}

// clusterTarget is the config topic's spelling of an initial state.
func clusterTarget(initial connect.State) string {
	switch initial {
	case connect.StatePaused:
		return targetPaused
	case connect.StateStopped:
		return targetStopped
	}
	return targetStarted
}

// restartingReport marks in rep what a restart with opts restarts, as the
// body of Kafka Connect's 202 response.
func restartingReport(rep ConnectorReport, opts RestartOptions) ConnectorReport {
	if rep.Target == connect.StateStopped {
		return rep
	}
	if !opts.OnlyFailed || rep.State == connect.StateFailed {
		rep.State, rep.Err = connect.StateRestarting, nil
	}
	if !opts.IncludeTasks {
		return rep
	}
	for i := range rep.Tasks {
		if !opts.OnlyFailed || rep.Tasks[i].State == connect.StateFailed {
			rep.Tasks[i].State, rep.Tasks[i].Err, rep.Tasks[i].Stalled = connect.StateRestarting, nil, false
		}
	}
	return rep
}

// restartTask restarts task id of s where it runs: in place when this
// member runs it, else (unless forward is false: the request was
// forwarded already) forwarded to the member the status topic names.
func (cr *clusterRuntime) restartTask(s *slot, id int, forward bool) error {
	rep := cr.report(s)
	i := slices.IndexFunc(rep.Tasks, func(t TaskReport) bool { return t.ID == id })
	if i < 0 {
		return &runnerError{kind: ErrTaskNotFound, msg: fmt.Sprintf("Unknown task: %s-%d", s.name, id)}
	}
	if s.runsLocally(id) {
		s.log.Info("task restarting", "task", id)
		return s.restartLocalTasks([]int{id})
	}
	t := rep.Tasks[i]
	if !forward || t.WorkerID == "" || t.WorkerID == cr.workerID || t.State == connect.StateUnassigned {
		return &runnerError{kind: ErrRebalancing, msg: fmt.Sprintf("Cannot restart task %s-%d: it is not running on any worker known here (a rebalance is under way); retry", s.name, id)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), defaultClusterHTTPTimeout)
	defer cancel()
	return cr.forwardTaskRestart(ctx, s.name, id, t.WorkerID)
}
