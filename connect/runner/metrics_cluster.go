package runner

import (
	"context"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/sluicehq/sluice/internal/cluster"
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
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	reg, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		m.observe(cr, o)
		return nil
	}, m.joinAvg, m.joinMax, m.syncAvg, m.syncMax, m.rebalanceAvg, m.rebalanceMax, m.rebalanceTotalTime,
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
}

func (m *coordinatorMetrics) close() {
	if m != nil && m.reg != nil {
		_ = m.reg.Unregister()
	}
}
