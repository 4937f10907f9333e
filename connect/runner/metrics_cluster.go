package runner

import (
	"context"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/sluicehq/sluice/internal/cluster"
	"github.com/sluicehq/sluice/internal/winstat"
)

// ClusterStatus is a cluster member's view of its membership (see
// Runner.ClusterStatus).
type ClusterStatus struct {
	// GroupID is the cluster's group id; WorkerID this member's worker_id
	// and URL its advertised REST URL.
	GroupID, WorkerID, URL string
	// MemberID is this member's id in the group, LeaderID the leader's and
	// LeaderURL the leader's REST URL, as of Generation, the last
	// completed group generation (-1 before the first). Leader is true
	// when this member leads.
	MemberID, LeaderID, LeaderURL string
	Generation                    int32
	Leader                        bool
	// Protocol is the connect subprotocol the group voted ("sessioned",
	// "compatible").
	Protocol string
	// Connectors are the connectors whose connector instance this member
	// runs; Tasks the tasks it runs, as "<connector>-<id>".
	Connectors, Tasks []string
	// Rebalances counts completed rebalances, FailedRebalances those that
	// failed; Rebalancing is true while one is under way; LastRebalance
	// is when the last one completed.
	Rebalances, FailedRebalances int64
	Rebalancing                  bool
	LastRebalance                time.Time
}

// ClusterStatus returns this member's view of its cluster membership, and
// false when the Runner is not in cluster mode. Safe from any goroutine.
func (r *Runner) ClusterStatus() (ClusterStatus, bool) {
	cr := r.cluster
	if cr == nil {
		return ClusterStatus{}, false
	}
	out := ClusterStatus{GroupID: cr.cfg.GroupID, WorkerID: cr.workerID, URL: cr.cfg.AdvertisedURL, Generation: -1}
	st, ok := cr.stats()
	if !ok {
		return out, true
	}
	out.MemberID, out.LeaderID, out.LeaderURL, out.Generation = st.MemberID, st.LeaderID, st.LeaderURL, st.Generation
	out.Leader = st.MemberID != "" && st.MemberID == st.LeaderID
	if st.Generation >= 0 {
		out.Protocol = cluster.ProtocolName(st.Protocol)
	}
	for _, name := range st.Held.Connectors() {
		for _, id := range st.Held[name] {
			if id == cluster.ConnectorTask {
				out.Connectors = append(out.Connectors, name)
			} else {
				out.Tasks = append(out.Tasks, name+"-"+strconv.Itoa(int(id)))
			}
		}
	}
	out.Rebalances, out.FailedRebalances, out.Rebalancing, out.LastRebalance = st.Rebalances, st.FailedRebalances, st.Rebalancing, st.LastRebalance
	return out, true
}

// coordinatorMetrics are Kafka Connect's connect-coordinator-metrics of a
// cluster member, with the attributes "group" and "member".
type coordinatorMetrics struct {
	reg metric.Registration

	joinAvg, joinMax, syncAvg, syncMax               metric.Float64Observable
	rebalanceAvg, rebalanceMax, rebalanceTotalTime   metric.Float64Observable
	lastRebalanceAgo, lastHeartbeatAgo               metric.Float64Observable
	rebalances, failedRebalances, joins, syncs, hbts metric.Int64Observable
	assignedConnectors, assignedTasks, generation    metric.Int64Observable

	// Kafka Connect's connect-worker-rebalance-metrics (no attributes but
	// the string values'), and the state behind its windowed rebalance
	// time (rebalTime: each completed rebalance, guarded by mu).
	protocol, leaderName, epoch, rebalancing metric.Int64Observable
	completedRebalances                      metric.Int64Observable
	rebalTimeMax, rebalTimeAvg, sinceLast    metric.Float64Observable
	mu                                       sync.Mutex
	seenRebalances                           int64
	seenRebalanceTime                        time.Duration
	rebalTime                                winstat.Stat
}

func newCoordinatorMetrics(meter metric.Meter, cr *clusterRuntime) (*coordinatorMetrics, error) {
	m := &coordinatorMetrics{}
	var errs []error
	fg := func(name, desc, unit string) metric.Float64Observable {
		g, err := meter.Float64ObservableGauge(name, metric.WithDescription(desc), metric.WithUnit(unit))
		errs = append(errs, err)
		return g
	}
	ic := func(name, desc string) metric.Int64Observable {
		c, err := meter.Int64ObservableCounter(name, metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	ig := func(name, desc string) metric.Int64Observable {
		g, err := meter.Int64ObservableGauge(name, metric.WithDescription(desc))
		errs = append(errs, err)
		return g
	}
	m.joinAvg = fg("join-time-avg", "The average time taken for a group rejoin", "ms")
	m.joinMax = fg("join-time-max", "The max time taken for a group rejoin", "ms")
	m.syncAvg = fg("sync-time-avg", "The average time taken for a group sync", "ms")
	m.syncMax = fg("sync-time-max", "The max time taken for a group sync", "ms")
	m.rebalanceAvg = fg("rebalance-latency-avg", "The average time taken for a group to complete a successful rebalance, which may be composed of several failed re-trials until it succeeded", "ms")
	m.rebalanceMax = fg("rebalance-latency-max", "The max time taken for a group to complete a successful rebalance, which may be composed of several failed re-trials until it succeeded", "ms")
	m.rebalanceTotalTime = fg("rebalance-latency-total", "The total number of milliseconds this consumer has spent in successful rebalances since creation", "ms")
	m.lastRebalanceAgo = fg("last-rebalance-seconds-ago", "The number of seconds since the last successful rebalance event", "s")
	m.lastHeartbeatAgo = fg("last-heartbeat-seconds-ago", "The number of seconds since the last coordinator heartbeat was sent", "s")
	m.rebalances = ic("rebalance-total", "The total number of successful rebalance events, each event is composed of several failed re-trials until it succeeded")
	m.failedRebalances = ic("failed-rebalance-total", "The total number of failed rebalance events")
	m.joins = ic("join-total", "The total number of group joins")
	m.syncs = ic("sync-total", "The total number of group syncs")
	m.hbts = ic("heartbeat-total", "The total number of heartbeats")
	m.assignedConnectors = ig("assigned-connectors", "The number of connector instances currently assigned to this consumer")
	m.assignedTasks = ig("assigned-tasks", "The number of tasks currently assigned to this consumer")
	m.generation = ig("connect-generation", "The group generation this member last joined (Sluice; the epoch of Kafka Connect's connect-worker-rebalance-metrics)")
	kfg := func(name string) metric.Float64Observable {
		g, err := meter.Float64ObservableGauge(name, metric.WithDescription(kcDescription[name]))
		errs = append(errs, err)
		return g
	}
	kig := func(name, desc string) metric.Int64Observable {
		g, err := meter.Int64ObservableGauge(name, metric.WithDescription(desc))
		errs = append(errs, err)
		return g
	}
	m.protocol = kig("connect-protocol", kcDescription["connect-protocol"]+" (Sluice: 1, with the protocol as attribute protocol.)")
	m.leaderName = kig("leader-name", kcDescription["leader-name"]+" (Sluice: 1, with the leader's URL as attribute leader.)")
	m.epoch = kig("epoch", kcDescription["epoch"])
	m.rebalancing = kig("rebalancing", kcDescription["rebalancing"]+" (1 while rebalancing, else 0.)")
	m.completedRebalances = ic("completed-rebalances-total", kcDescription["completed-rebalances-total"])
	m.rebalTimeMax, m.rebalTimeAvg = kfg("rebalance-max-time-ms"), kfg("rebalance-avg-time-ms")
	m.sinceLast = kfg("time-since-last-rebalance-ms")
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	reg, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		m.observe(cr, o)
		return nil
	}, m.protocol, m.leaderName, m.epoch, m.rebalancing, m.completedRebalances, m.rebalTimeMax, m.rebalTimeAvg, m.sinceLast, m.joinAvg, m.joinMax, m.syncAvg, m.syncMax, m.rebalanceAvg, m.rebalanceMax, m.rebalanceTotalTime,
		m.lastRebalanceAgo, m.lastHeartbeatAgo, m.rebalances, m.failedRebalances, m.joins, m.syncs, m.hbts,
		m.assignedConnectors, m.assignedTasks, m.generation)
	if err != nil {
		return nil, err
	}
	m.reg = reg
	return m, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func avgMS(total time.Duration, n int64) float64 {
	if n == 0 {
		return 0
	}
	return ms(total) / float64(n)
}

func (m *coordinatorMetrics) observe(cr *clusterRuntime, o metric.Observer) {
	st, ok := cr.stats()
	if !ok {
		return
	}
	attrs := metric.WithAttributeSet(attribute.NewSet(attribute.String("group", cr.cfg.GroupID), attribute.String("member", st.MemberID), attribute.String("worker_id", cr.workerID)))
	o.ObserveFloat64(m.joinAvg, avgMS(st.JoinTimeTotal, st.Joins), attrs)
	o.ObserveFloat64(m.joinMax, ms(st.JoinTimeMax), attrs)
	o.ObserveFloat64(m.syncAvg, avgMS(st.SyncTimeTotal, st.Syncs), attrs)
	o.ObserveFloat64(m.syncMax, ms(st.SyncTimeMax), attrs)
	o.ObserveFloat64(m.rebalanceAvg, avgMS(st.RebalanceTimeTotal, st.Rebalances), attrs)
	o.ObserveFloat64(m.rebalanceMax, ms(st.RebalanceTimeMax), attrs)
	o.ObserveFloat64(m.rebalanceTotalTime, ms(st.RebalanceTimeTotal), attrs)
	now := time.Now()
	if !st.LastRebalance.IsZero() {
		o.ObserveFloat64(m.lastRebalanceAgo, now.Sub(st.LastRebalance).Seconds(), attrs)
	}
	if !st.LastHeartbeat.IsZero() {
		o.ObserveFloat64(m.lastHeartbeatAgo, now.Sub(st.LastHeartbeat).Seconds(), attrs)
	}
	o.ObserveInt64(m.rebalances, st.Rebalances, attrs)
	o.ObserveInt64(m.failedRebalances, st.FailedRebalances, attrs)
	o.ObserveInt64(m.joins, st.Joins, attrs)
	o.ObserveInt64(m.syncs, st.Syncs, attrs)
	o.ObserveInt64(m.hbts, st.Heartbeats, attrs)
	conns, tasks := st.Held.Count()
	o.ObserveInt64(m.assignedConnectors, int64(conns), attrs)
	o.ObserveInt64(m.assignedTasks, int64(tasks), attrs)
	o.ObserveInt64(m.generation, int64(st.Generation), attrs)
	m.observeRebalance(o, now, st)
}

// observeRebalance reports connect-worker-rebalance-metrics. Rebalance
// times enter the window as the collections see them: each rebalance
// completed since the previous collection, at the time the last one
// completed, with their average duration (exact when one rebalance
// completed in between, the usual case).
func (m *coordinatorMetrics) observeRebalance(o metric.Observer, now time.Time, st cluster.MemberStats) {
	m.mu.Lock()
	if n := st.Rebalances - m.seenRebalances; n > 0 {
		each := (st.RebalanceTimeTotal - m.seenRebalanceTime) / time.Duration(n)
		for range n {
			m.rebalTime.Record(st.LastRebalance, ms(each))
		}
		m.seenRebalances, m.seenRebalanceTime = st.Rebalances, st.RebalanceTimeTotal
	}
	m.mu.Unlock()
	if st.Generation >= 0 {
		o.ObserveInt64(m.protocol, 1, metric.WithAttributes(attribute.String("protocol", strings.ToUpper(cluster.ProtocolName(st.Protocol)))))
		o.ObserveInt64(m.leaderName, 1, metric.WithAttributes(attribute.String("leader", st.LeaderURL)))
	}
	o.ObserveInt64(m.epoch, int64(st.Generation))
	rebalancing := int64(0)
	if st.Rebalancing {
		rebalancing = 1
	}
	o.ObserveInt64(m.rebalancing, rebalancing)
	o.ObserveInt64(m.completedRebalances, st.Rebalances)
	mx, avg, _ := m.rebalTime.Measure(now)
	o.ObserveFloat64(m.rebalTimeMax, mx)
	o.ObserveFloat64(m.rebalTimeAvg, avg)
	since := math.Inf(1) // Kafka Connect's value before the first rebalance
	if !st.LastRebalance.IsZero() {
		since = ms(now.Sub(st.LastRebalance))
	}
	o.ObserveFloat64(m.sinceLast, since)
}

func (m *coordinatorMetrics) close() {
	if m != nil && m.reg != nil {
		_ = m.reg.Unregister()
	}
}
