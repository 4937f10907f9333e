package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/safecall"
	"github.com/sluicehq/sluice/offsets"
)

// ExactlyOnce configures Kafka Connect's exactly-once delivery for source
// connectors (KIP-618). The zero value is at-least-once delivery. Without
// Enabled the other fields change nothing, but Validate still checks
// SupportRequired and BoundaryConnector against the connector's
// declarations, as Kafka Connect's preflight does (see ExactlyOnceConnector
// and TransactionBoundaryConnector).
type ExactlyOnce struct {
	// Enabled turns exactly-once delivery on (the worker property
	// exactly.once.source.support=enabled; disabled and preparing leave it
	// off): each task writes its records and the source offsets they cover
	// in one Kafka transaction.
	Enabled bool
	// GroupID is the first part of each task's transactional id,
	// <GroupID>-<connector>-<task> (Kafka Connect's form; the worker
	// property group.id). Required when Enabled: two processes running the
	// same connector must use the same group id, or the newer one does not
	// fence the older.
	GroupID string
	// Support is exactly.once.support: SupportRequested (default) or
	// SupportRequired, which makes Validate fail unless Enabled is set and
	// the connector declares ExactlyOnceSupported.
	Support ExactlyOnceSupportLevel
	// Boundary is transaction.boundary: BoundaryPoll (default),
	// BoundaryInterval or BoundaryConnector (the connector must declare
	// BoundariesSupported).
	Boundary TransactionBoundary
	// BoundaryInterval is transaction.boundary.interval.ms, the transaction
	// period with BoundaryInterval; 0 selects Config.OffsetFlushInterval
	// (Kafka Connect's offset.flush.interval.ms fallback), at most half the
	// transaction timeout (Kafka Connect's defaults, 60 s each, would let
	// every transaction time out). It must be >= 0.
	BoundaryInterval time.Duration
	// OffsetsTopic is the connector's own offsets topic
	// (offsets.storage.topic, KIP-618); "" uses the worker's store.
	OffsetsTopic string
	// TransactionTimeout is the producer's transaction.timeout.ms; 0
	// selects Kafka's default (60 s). It must be >= 0.
	TransactionTimeout time.Duration

	// preparing records exactly.once.source.support=preparing, which New
	// logs (Kafka Connect's rolling-upgrade step; disabled for a pipeline).
	preparing bool
}

// ExactlyOnceSupportLevel is a connector's exactly.once.support setting.
// The zero value is SupportRequested, Kafka Connect's default.
type ExactlyOnceSupportLevel int

// The exactly.once.support values.
const (
	// SupportRequested ("requested") runs the connector with exactly-once
	// delivery when it is enabled, without asking the connector whether it
	// can provide it.
	SupportRequested ExactlyOnceSupportLevel = iota
	// SupportRequired ("required") refuses the configuration unless
	// exactly-once delivery is enabled and the connector declares
	// ExactlyOnceSupported for it (ExactlyOnceConnector).
	SupportRequired
)

var supportLevelNames = []string{"requested", "required"}

// String returns Kafka Connect's name of l ("requested", "required"), or
// ExactlyOnceSupportLevel(n) for an unknown value.
func (l ExactlyOnceSupportLevel) String() string {
	if l >= 0 && int(l) < len(supportLevelNames) {
		return supportLevelNames[l]
	}
	return fmt.Sprintf("ExactlyOnceSupportLevel(%d)", int(l))
}

// ParseExactlyOnceSupportLevel parses an exactly.once.support value, case
// insensitively and ignoring surrounding spaces (as Kafka Connect). The
// error for any other value names the key and the permitted values.
func ParseExactlyOnceSupportLevel(s string) (ExactlyOnceSupportLevel, error) {
	i, err := parseEnum(propExactlyOnceSupport, s, supportLevelNames)
	return ExactlyOnceSupportLevel(i), err
}

// TransactionBoundary is a connector's transaction.boundary setting: where
// exactly-once delivery commits a transaction. The zero value is
// BoundaryPoll, Kafka Connect's default.
type TransactionBoundary int

// The transaction.boundary values.
const (
	// BoundaryPoll ("poll") commits a transaction per batch a task's Poll
	// returned; batches returned while the previous transaction commits
	// (in the background) are committed together (see the package doc,
	// Exactly-once delivery).
	BoundaryPoll TransactionBoundary = iota
	// BoundaryInterval ("interval") commits a transaction every
	// ExactlyOnce.BoundaryInterval.
	BoundaryInterval
	// BoundaryConnector ("connector") lets the task commit and abort
	// transactions through its TransactionContext; the connector must
	// declare BoundariesSupported (TransactionBoundaryConnector).
	BoundaryConnector
)

var boundaryNames = []string{"poll", "interval", "connector"}

// String returns Kafka Connect's name of b ("poll", "interval",
// "connector"), or TransactionBoundary(n) for an unknown value.
func (b TransactionBoundary) String() string {
	if b >= 0 && int(b) < len(boundaryNames) {
		return boundaryNames[b]
	}
	return fmt.Sprintf("TransactionBoundary(%d)", int(b))
}

// ParseTransactionBoundary parses a transaction.boundary value, case
// insensitively and ignoring surrounding spaces (as Kafka Connect). The
// error for any other value names the key and the permitted values.
func ParseTransactionBoundary(s string) (TransactionBoundary, error) {
	i, err := parseEnum(propTransactionBoundary, s, boundaryNames)
	return TransactionBoundary(i), err
}

// parseEnum finds s among names (lower case), ignoring case and surrounding
// spaces; the error is Kafka's CaseInsensitiveValidString message.
func parseEnum(key, s string, names []string) (int, error) {
	t := strings.TrimSpace(s)
	for i, n := range names {
		if strings.EqualFold(t, n) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%s: invalid value %q: String must be one of (case insensitive): %s", key, s, strings.Join(names, ", "))
}

// The exactly-once configuration keys, as Kafka Connect's.
const (
	// propExactlyOnceSourceSupport is the worker key enabling exactly-once
	// delivery: disabled (default), preparing (treated as disabled) or
	// enabled.
	propExactlyOnceSourceSupport = "exactly.once.source.support"
	// propGroupID is the worker key of ExactlyOnce.GroupID.
	propGroupID = "group.id"
	// propExactlyOnceSupport is the connector key of ExactlyOnce.Support.
	propExactlyOnceSupport = "exactly.once.support"
	// propTransactionBoundary is the connector key of ExactlyOnce.Boundary.
	propTransactionBoundary = "transaction.boundary"
	// propTransactionBoundaryInterval is the connector key of
	// ExactlyOnce.BoundaryInterval, in milliseconds.
	propTransactionBoundaryInterval = "transaction.boundary.interval.ms"
	// propOffsetsStorageTopic is the connector key of
	// ExactlyOnce.OffsetsTopic (not the worker's offset.storage.topic).
	propOffsetsStorageTopic = "offsets.storage.topic"
)

// ExactlyOnceSupport is a connector's declaration of whether it can provide
// exactly-once delivery with a given configuration (Kafka Connect's
// ExactlyOnceSupport). The zero value is ExactlyOnceUnsupported.
type ExactlyOnceSupport int

// The ExactlyOnceSupport values.
const (
	ExactlyOnceUnsupported ExactlyOnceSupport = iota
	ExactlyOnceSupported
)

// String returns Kafka Connect's name of s ("SUPPORTED", "UNSUPPORTED").
func (s ExactlyOnceSupport) String() string {
	switch s {
	case ExactlyOnceUnsupported:
		return "UNSUPPORTED"
	case ExactlyOnceSupported:
		return "SUPPORTED"
	}
	return fmt.Sprintf("ExactlyOnceSupport(%d)", int(s))
}

// ConnectorTransactionBoundaries is a connector's declaration of whether its
// tasks can define their own transaction boundaries with a given
// configuration (Kafka Connect's ConnectorTransactionBoundaries). The zero
// value is BoundariesUnsupported.
type ConnectorTransactionBoundaries int

// The ConnectorTransactionBoundaries values.
const (
	BoundariesUnsupported ConnectorTransactionBoundaries = iota
	BoundariesSupported
)

// String returns Kafka Connect's name of b ("SUPPORTED", "UNSUPPORTED").
func (b ConnectorTransactionBoundaries) String() string {
	switch b {
	case BoundariesUnsupported:
		return "UNSUPPORTED"
	case BoundariesSupported:
		return "SUPPORTED"
	}
	return fmt.Sprintf("ConnectorTransactionBoundaries(%d)", int(b))
}

// ExactlyOnceConnector is implemented by a Config.Connector that declares
// whether it can provide exactly-once delivery (Kafka Connect's
// SourceConnector.exactlyOnceSupport). A connector without it has not
// declared anything, Kafka Connect's null default: exactly.once.support=
// required is then refused, requested is accepted.
//
// ExactlyOnceSupport is called by Config.Validate (so by New) when
// exactly.once.support is required, with context.Background() and the
// connector configuration (Config.Properties, which it must not modify),
// before any task starts; it should be quick and free of side effects. A
// panic is reported as a validation error.
type ExactlyOnceConnector interface {
	ExactlyOnceSupport(ctx context.Context, config map[string]string) ExactlyOnceSupport
}

// TransactionBoundaryConnector is implemented by a Config.Connector whose
// tasks can define their own transaction boundaries (Kafka Connect's
// SourceConnector.canDefineTransactionBoundaries); without it a connector
// cannot, Kafka Connect's UNSUPPORTED default, and
// transaction.boundary=connector is refused.
//
// CanDefineTransactionBoundaries is called by Config.Validate when
// transaction.boundary is connector, as ExactlyOnceConnector's method is.
type TransactionBoundaryConnector interface {
	CanDefineTransactionBoundaries(ctx context.Context, config map[string]string) ConnectorTransactionBoundaries
}

// TransactionContext lets a task define its transaction boundaries when
// transaction.boundary is connector (Kafka Connect's TransactionContext).
// A request applies to the current transaction; a record-level request wins
// over a batch-level one, and asking to both commit and abort the same
// transaction (or record) fails the task. Aborting drops the transaction's
// records; their offsets are committed in the next transaction, so the
// task is not asked for them again: a task that wants them written re-emits
// them. A record-level request names a record of the batch the current
// Poll returns; requests still pending when that batch has been dispatched
// are forgotten (Kafka Connect keeps them). A stop that comes while an
// abort is pending aborts the open transaction rather than commit it. Its
// methods may be called from Poll, or from any goroutine of the task while
// it runs; a task restarted after a failed transaction gets a fresh one.
type TransactionContext interface {
	// CommitTransaction commits the current transaction after the batch
	// being (or last) returned by Poll has been dispatched.
	CommitTransaction()
	// CommitTransactionAfter commits the current transaction once rec, a
	// pointer into a batch Poll returned, has been dispatched: rec is its
	// last record. A nil rec fails the task.
	CommitTransactionAfter(rec *connect.Record)
	// AbortTransaction aborts the current transaction after the current
	// batch has been dispatched.
	AbortTransaction()
	// AbortTransactionAfter aborts the current transaction once rec, a
	// pointer into a batch Poll returned, has been dispatched. A nil rec
	// fails the task.
	AbortTransactionAfter(rec *connect.Record)
}

// TransactionContextOf returns the TransactionContext of a task's context,
// or nil when the task does not define its transaction boundaries (Kafka
// Connect's SourceTaskContext.transactionContext(), null unless
// transaction.boundary is connector). A TaskContext provides one by having a
// method TransactionContext() TransactionContext (as a test fake may).
//
// A Pipeline's TaskContext provides one when ExactlyOnce.Enabled is set and
// ExactlyOnce.Boundary is BoundaryConnector; a task must handle nil (the
// same task may run at-least-once).
func TransactionContextOf(tc TaskContext) TransactionContext {
	if p, ok := tc.(interface{ TransactionContext() TransactionContext }); ok {
		return p.TransactionContext()
	}
	return nil
}

// Kafka Connect's preflight messages (DistributedHerder).
const (
	msgWorkerNotEnabled  = "This worker does not have exactly-once source support enabled."
	msgEOSUnsupported    = "The connector does not support exactly-once semantics with the provided configuration."
	msgEOSNotImplemented = `The connector does not implement the API required for preflight validation of exactly-once source support. ` +
		`Please consult the documentation for the connector to determine whether it supports exactly-once semantics, ` +
		`and then consider reconfiguring the connector to use the value "requested" for this property ` +
		`(which will disable this preflight check and allow the connector to be created).`
	msgBoundariesUnsupported = "The connector does not support connector-defined transaction boundaries with the given configuration. " +
		"Please reconfigure it to use a different transaction boundary definition."
	msgUnexpected = "An unexpected error occurred during validation"
)

// validate checks e as Kafka Connect's preflight does (exactly.once.support,
// transaction.boundary) and what exactly-once delivery needs from the rest
// of c (group id, offsets store, producer); errors name the key.
func (e *ExactlyOnce) validate(c *Config) []error {
	var errs []error
	if e.Support < SupportRequested || e.Support > SupportRequired {
		errs = append(errs, fmt.Errorf("%s: unknown value %s", propExactlyOnceSupport, e.Support))
	}
	if e.Boundary < BoundaryPoll || e.Boundary > BoundaryConnector {
		errs = append(errs, fmt.Errorf("%s: unknown value %s", propTransactionBoundary, e.Boundary))
	}
	if e.Support == SupportRequired {
		if !e.Enabled {
			errs = append(errs, keyError(propExactlyOnceSupport, msgWorkerNotEnabled))
		}
		if msg := connectorExactlyOnce(c); msg != "" {
			errs = append(errs, keyError(propExactlyOnceSupport, msg))
		}
	}
	if e.Boundary == BoundaryConnector {
		if msg := connectorBoundaries(c); msg != "" {
			errs = append(errs, keyError(propTransactionBoundary, msg))
		}
	}
	if e.BoundaryInterval < 0 {
		errs = append(errs, fmt.Errorf("%s: must be >= 0, got %s", propTransactionBoundaryInterval, e.BoundaryInterval))
	}
	if e.TransactionTimeout < 0 {
		errs = append(errs, fmt.Errorf("transaction.timeout.ms: must be >= 0, got %s", e.TransactionTimeout))
	}
	if e.Enabled {
		if strings.TrimSpace(e.GroupID) == "" {
			errs = append(errs, errors.New(propGroupID+": exactly-once sources need a group id: the first part of each task's transactional.id (<group>-<connector>-<task>)"))
		}
		if !kafkaOffsetStore(c) { // a file, memory or custom store
			errs = append(errs, errors.New(propExactlyOnceSourceSupport+": exactly-once sources write their offsets in the task's Kafka transaction: use a Kafka offsets store (offset.storage.topic)"))
		}
		if v, ok := c.ProducerProps["enable.idempotence"]; ok && !strings.EqualFold(strings.TrimSpace(v), "true") {
			errs = append(errs, fmt.Errorf("producer.enable.idempotence (or producer.override.enable.idempotence): exactly-once sources need the idempotent producer (true), got %q", v))
		}
		if v, ok := c.ProducerProps["acks"]; ok {
			if a := strings.ToLower(strings.TrimSpace(v)); a != "all" && a != "-1" {
				errs = append(errs, fmt.Errorf("producer.acks (or producer.override.acks): exactly-once sources need acks=all, got %q", v))
			}
		}
	}
	return errs
}

// keyError is a validation error: key, then Kafka Connect's message (which
// may end with a full stop).
func keyError(key, msg string) error { return fmt.Errorf("%s: %s", key, msg) }

// connectorExactlyOnce returns Kafka Connect's preflight error for
// exactly.once.support=required, or "" when the connector declares
// ExactlyOnceSupported.
func connectorExactlyOnce(c *Config) string {
	ec, ok := c.Connector.(ExactlyOnceConnector)
	if !ok {
		return msgEOSNotImplemented
	}
	var s ExactlyOnceSupport
	if msg := declare(c, "ExactlyOnceSupport", "Failed while validating connector support for exactly-once semantics", func() {
		s = ec.ExactlyOnceSupport(context.Background(), c.Properties)
	}); msg != "" {
		return msg
	}
	switch s {
	case ExactlyOnceSupported:
		return ""
	case ExactlyOnceUnsupported:
		return msgEOSUnsupported
	}
	return msgUnexpected + ": Unexpected value returned from ExactlyOnceSupport: " + s.String()
}

// connectorBoundaries returns Kafka Connect's preflight error for
// transaction.boundary=connector, or "" when the connector declares
// BoundariesSupported.
func connectorBoundaries(c *Config) string {
	bc, ok := c.Connector.(TransactionBoundaryConnector)
	if !ok {
		return msgBoundariesUnsupported // Kafka Connect's default: UNSUPPORTED
	}
	var b ConnectorTransactionBoundaries
	if msg := declare(c, "CanDefineTransactionBoundaries", "Failed while validating connector support for defining its own transaction boundaries", func() {
		b = bc.CanDefineTransactionBoundaries(context.Background(), c.Properties)
	}); msg != "" {
		return msg
	}
	if b == BoundariesSupported {
		return ""
	}
	return msgBoundariesUnsupported
}

// declare calls a connector declaration under recover. After a panic it
// logs logMsg (Kafka Connect's) with the panic value and stack trace, and
// returns the validation message: Kafka Connect's "An unexpected error
// occurred during validation" with the panic value (the stack is in the
// log only).
func declare(c *Config, method, logMsg string, fn func()) string {
	err := safecall.Call("connector "+method, func() error { fn(); return nil })
	var pe *safecall.PanicError
	if !errors.As(err, &pe) {
		return ""
	}
	logger := c.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger.Error(logMsg, "connector", c.Name, "error", err)
	return fmt.Sprintf("%s: connector %s panicked: %v", msgUnexpected, method, pe.Value)
}

// kafkaOffsetStore reports whether c's offsets live in a Kafka topic, which
// exactly-once delivery writes in the task's transaction: the store the
// pipeline opens from an OffsetStorage without File, a store of the
// caller's that is an offsets.TransactionalStore (a *offsets.KafkaStore),
// or the connector's own offsets topic (OffsetsTopic), which is then the
// primary store.
func kafkaOffsetStore(c *Config) bool {
	if c.ExactlyOnce.OffsetsTopic != "" {
		return true // the connector's own topic is the primary store
	}
	if _, owned := c.OffsetStore.(*ownedStore); owned || c.OffsetStore == nil {
		return c.OffsetStorage.File == ""
	}
	_, ok := c.OffsetStore.(offsets.TransactionalStore)
	return ok
}
