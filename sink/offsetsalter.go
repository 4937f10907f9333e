package sink

import (
	"context"
	"maps"

	"github.com/sluicehq/sluice/connect"
)

var _ connect.ConnectorOffsetsAlterer = (*Pipeline)(nil)

// AlterConnectorOffsets asks Config.OffsetsAlterer, when set, about an
// offsets alter or reset request (offsets with nil Offset reset; sink
// partitions are {"kafka_topic","kafka_partition"}, offsets
// {"kafka_offset"}), with the connector's properties; it returns false
// without one. The Runner calls it before AlterOffsets or ResetOffsets,
// with the pipeline not running.
func (p *Pipeline) AlterConnectorOffsets(ctx context.Context, offsets []connect.OffsetEntry) (bool, error) {
	if p.cfg.OffsetsAlterer == nil {
		return false, nil
	}
	return p.cfg.OffsetsAlterer.AlterOffsets(ctx, maps.Clone(p.cfg.Properties), offsets)
}
