// Package cluster holds the pieces of Sluice's cluster mode that speak
// Kafka Connect's distributed-mode formats: the "connect" group protocol
// (member metadata and assignments, byte-compatible with Kafka Connect's
// ConnectProtocol and IncrementalCooperativeConnectProtocol), the group
// member that joins, syncs and heartbeats through Kafka's group
// coordinator, the incremental cooperative assignor the leader runs, and
// the config and status topics. connect/runner builds cluster mode on them.
package cluster

import (
	"maps"
	"slices"
)

// ConnectorTask is the task id that stands for the connector instance
// itself in an assignment (Kafka Connect's CONNECTOR_TASK).
const ConnectorTask int32 = -1

// Protocol versions of the connect group protocol.
const (
	// ProtocolDefault is V0, eager rebalancing ("default").
	ProtocolDefault int16 = 0
	// ProtocolCompatible is V1, incremental cooperative (KIP-415, "compatible").
	ProtocolCompatible int16 = 1
	// ProtocolSessioned is V2, V1 plus signed internal requests (KIP-507, "sessioned").
	ProtocolSessioned int16 = 2
)

// Assignment errors (Kafka Connect's ConnectProtocol.Assignment).
const (
	AssignmentNoError        int16 = 0
	AssignmentConfigMismatch int16 = 1
)

// Work is a set of connectors and tasks: for each connector name, its task
// ids, where ConnectorTask stands for the connector instance. A nil or empty
// Work holds nothing. Task id slices are kept sorted.
type Work map[string][]int32

// Clone returns a deep copy of w.
func (w Work) Clone() Work {
	if w == nil {
		return nil
	}
	c := make(Work, len(w))
	for k, v := range w {
		c[k] = slices.Clone(v)
	}
	return c
}

// Has reports whether w holds task id of connector.
func (w Work) Has(connector string, id int32) bool {
	return slices.Contains(w[connector], id)
}

// Add adds task id of connector to w (a no-op if present).
func (w Work) Add(connector string, id int32) {
	ids := w[connector]
	i, found := slices.BinarySearch(ids, id)
	if found {
		return
	}
	w[connector] = slices.Insert(ids, i, id)
}

// Remove removes task id of connector from w (a no-op if absent); a
// connector left with no ids is deleted.
func (w Work) Remove(connector string, id int32) {
	ids := w[connector]
	i, found := slices.BinarySearch(ids, id)
	if !found {
		return
	}
	ids = slices.Delete(ids, i, i+1)
	if len(ids) == 0 {
		delete(w, connector)
		return
	}
	w[connector] = ids
}

// Union returns a new Work holding w and o.
func (w Work) Union(o Work) Work {
	c := w.Clone()
	if c == nil {
		c = Work{}
	}
	for k, ids := range o {
		for _, id := range ids {
			c.Add(k, id)
		}
	}
	return c
}

// Minus returns a new Work holding what w holds and o does not.
func (w Work) Minus(o Work) Work {
	c := w.Clone()
	if c == nil {
		c = Work{}
	}
	for k, ids := range o {
		for _, id := range ids {
			c.Remove(k, id)
		}
	}
	return c
}

// Count returns the number of connector instances and of tasks in w.
func (w Work) Count() (connectors, tasks int) {
	for _, ids := range w {
		for _, id := range ids {
			if id == ConnectorTask {
				connectors++
			} else {
				tasks++
			}
		}
	}
	return connectors, tasks
}

// Connectors returns the names in w, sorted.
func (w Work) Connectors() []string {
	return slices.Sorted(maps.Keys(w))
}

// Assignment is what the leader hands a member in SyncGroup: Kafka Connect's
// ConnectProtocol.Assignment (V0) or ExtendedAssignment (V1/V2). Under V1
// and V2 Assigned and Revoked are deltas: the member keeps what it held,
// minus Revoked, plus Assigned. Under V0 Assigned is the whole assignment.
type Assignment struct {
	// Version is the protocol version the assignment is encoded with.
	Version int16
	// Error is AssignmentNoError or AssignmentConfigMismatch (the leader
	// could not read the config topic far enough: rejoin).
	Error int16
	// Leader is the leader's member id, LeaderURL its advertised REST URL.
	Leader, LeaderURL string
	// ConfigOffset is the config topic offset the assignment was computed
	// from: a member must have read the config topic up to it before it
	// starts the assigned work.
	ConfigOffset int64
	Assigned     Work
	Revoked      Work
	// Delay is the time, in milliseconds, after which the leader scheduled
	// the next rebalance (a delayed reassignment of lost work); 0 if none.
	Delay int32
}

// Metadata is what a member sends with JoinGroup for one protocol version:
// its advertised REST URL, the config topic offset it has read up to, and
// (V1/V2) the assignment it holds, so that a new leader can rebuild the
// previous assignment.
type Metadata struct {
	Version      int16
	URL          string
	ConfigOffset int64
	// Allocation is the member's current assignment (nil for none); its
	// Assigned is the whole set of work the member runs.
	Allocation *Assignment
}

// MemberMetadata is one member's metadata as the leader sees it in the
// JoinGroup response.
type MemberMetadata struct {
	MemberID string
	Metadata
}
