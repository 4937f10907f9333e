package filestream

import (
	"context"
	"errors"
	"strings"

	"github.com/sluicehq/sluice/connect"
)

var (
	_ connect.OffsetsAlterer = SourceConnector{}
	_ connect.OffsetsAlterer = SinkConnector{}
)

// AlterOffsets takes part in offsets alter and reset requests as Kafka's
// FileStreamSourceConnector.alterOffsets: it refuses them for standard
// input (no offsets are tracked) and checks each entry (a partition with
// the key "filename"; an offset nil or with a non-negative integer
// "position"), then reports true: the connector keeps no offsets
// elsewhere, so Kafka Connect's short "offsets ... have been altered"
// message applies. Error texts are Kafka's.
func (SourceConnector) AlterOffsets(_ context.Context, config map[string]string, offsets []connect.OffsetEntry) (bool, error) {
	if strings.TrimSpace(config[FileConfig]) == "" {
		return false, errors.New("Offsets cannot be modified if the 'file' configuration is unspecified. This is because stdin is used for input and offsets are not tracked.") //lint:ignore ST1005 Kafka's message
	}
	for _, e := range offsets {
		if e.Offset != nil {
			v, ok := e.Offset["position"]
			if !ok {
				return false, errors.New("Offset objects should either be null or contain the key 'position'") //lint:ignore ST1005 Kafka's message
			}
			n, ok := v.(int64)
			if !ok {
				return false, errors.New("The value for the 'position' key in the offset is expected to be a Long value") //lint:ignore ST1005 Kafka's message
			}
			if n < 0 {
				return false, errors.New("The value for the 'position' key in the offset should be a non-negative value") //lint:ignore ST1005 Kafka's message
			}
		}
		if e.Partition == nil {
			return false, errors.New("Partition objects cannot be null") //lint:ignore ST1005 Kafka's message
		}
		if _, ok := e.Partition["filename"]; !ok {
			return false, errors.New("Partition objects should contain the key 'filename'") //lint:ignore ST1005 Kafka's message
		}
	}
	return true, nil
}

// SinkConnector is the FileStream sink's connector-level part: Kafka's
// FileStreamSinkConnector has no logic beyond its task but for offsets
// requests, which it accepts (its offsets are the consumer group's only).
// Set it as sink.Config.OffsetsAlterer (or sink.PluginConfig's). The zero
// value is ready to use.
type SinkConnector struct{}

// AlterOffsets reports true, as Kafka's FileStreamSinkConnector.alterOffsets:
// Kafka Connect's short "offsets ... have been altered" message applies.
func (SinkConnector) AlterOffsets(context.Context, map[string]string, []connect.OffsetEntry) (bool, error) {
	return true, nil
}
