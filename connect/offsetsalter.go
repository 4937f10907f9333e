package connect

import "context"

// OffsetsAlterer is implemented by connectors that take part in offsets
// alter and reset requests (PATCH and DELETE /connectors/{name}/offsets),
// as Kafka Connect's SourceConnector.alterOffsets and
// SinkConnector.alterOffsets (KIP-875). A source.Config.Connector or a
// sink.Config.OffsetsAlterer implementing it is asked before the framework
// changes its offset store, with the connector's configuration and the
// requested offsets (for a reset: every committed partition, each with a
// nil Offset); the connector is stopped meanwhile.
//
// AlterOffsets reports whether the connector manages its offsets itself
// and has applied the change (Kafka Connect's "return true"): the response
// then says "The offsets for this connector have been altered
// successfully". Connectors without it, or returning false, get Kafka
// Connect's longer "framework-managed offsets" message, which warns that
// offsets kept outside Kafka need changing by hand. An error refuses the
// request: the store is left unchanged. Return errors.ErrUnsupported for a
// connector whose offsets cannot be changed from outside.
type OffsetsAlterer interface {
	AlterOffsets(ctx context.Context, config map[string]string, offsets []OffsetEntry) (bool, error)
}

// ConnectorOffsetsAlterer is implemented by pipelines that hand offsets
// alter and reset requests to their connector first (source.Pipeline and
// sink.Pipeline do, through their connector's OffsetsAlterer). The Runner
// calls AlterConnectorOffsets before OffsetManager.AlterOffsets or
// ResetOffsets, with the connector stopped; it returns what the
// connector's OffsetsAlterer returns, false without one.
type ConnectorOffsetsAlterer interface {
	AlterConnectorOffsets(ctx context.Context, offsets []OffsetEntry) (bool, error)
}
