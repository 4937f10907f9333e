package source

import (
	"context"
	"maps"

	"github.com/sluicehq/sluice/connect"
)

var _ connect.ConnectorOffsetsAlterer = (*Pipeline)(nil)

// AlterConnectorOffsets asks the pipeline's Connector, when it implements
// [connect.OffsetsAlterer], about an offsets alter or reset request
// (offsets with nil Offset reset), with the connector's properties; it
// returns false without one. The Runner calls it before AlterOffsets or
// ResetOffsets, with the pipeline not running.
func (p *Pipeline) AlterConnectorOffsets(ctx context.Context, offsets []connect.OffsetEntry) (bool, error) {
	oa, ok := p.cfg.Connector.(connect.OffsetsAlterer)
	if !ok {
		return false, nil
	}
	return oa.AlterOffsets(ctx, maps.Clone(p.cfg.Properties), offsets)
}
