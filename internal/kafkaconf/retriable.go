package kafkaconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/IBM/sarama"
	"github.com/eapache/go-resiliency/breaker"
)

// RetryBackoffMax caps the wait between two attempts of a write that met a
// retriable error, as Kafka's producer caps it (retry.backoff.max.ms, 1 s):
// the DLQ, the offsets store and the source redelivery start at the
// producer's retry backoff and double up to it.
const RetryBackoffMax = time.Second

// Retriable reports whether err, returned by a sarama client (a produce
// error, a metadata or admin call, a commit), means "not yet": the broker is
// away, moving leadership, or overloaded, and the same request may succeed
// later. Kafka Connect treats these as transient on its task producers
// (delivery.timeout.ms and max.block.ms forced to MAX): a broker outage is
// never a record failure.
//
// It is true for network and connection errors (refused, reset, timeouts,
// EOF), sarama's "out of brokers", "broker not connected" and circuit
// breaker errors, and for the broker error codes Kafka's Java client marks
// retriable (RetriableException and InvalidMetadataException subclasses:
// NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE, REQUEST_TIMED_OUT,
// NOT_ENOUGH_REPLICAS, UNKNOWN_TOPIC_OR_PARTITION, KAFKA_STORAGE_ERROR, …),
// plus OUT_OF_ORDER_SEQUENCE_NUMBER and UNKNOWN_PRODUCER_ID, which a fresh
// idempotent producer recovers from.
//
// It is false for everything else, in particular MESSAGE_TOO_LARGE,
// CORRUPT_MESSAGE from the client's own encoding, RECORD_LIST_TOO_LARGE,
// INVALID_TOPIC, authorization failures, invalid partitions and encoder
// errors: the record itself is at fault and retrying cannot help. A closed
// client or a producer shutting down is not retriable either.
func Retriable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, sarama.ErrClosedClient) || errors.Is(err, sarama.ErrShuttingDown) || SecurityFailure(err) {
		return false
	}
	var kerr sarama.KError
	if errors.As(err, &kerr) {
		return retriableKError(kerr)
	}
	switch {
	case errors.Is(err, sarama.ErrOutOfBrokers),
		errors.Is(err, sarama.ErrNotConnected),
		errors.Is(err, sarama.ErrControllerNotAvailable),
		errors.Is(err, sarama.ErrIncompleteResponse),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, net.ErrClosed),
		errors.Is(err, breaker.ErrBreakerOpen):
		return true
	}
	var nerr net.Error
	if errors.As(err, &nerr) {
		return true
	}
	var oerr *net.OpError
	return errors.As(err, &oerr)
}

// SecurityFailure reports whether err (possibly wrapped, as in sarama's
// "run out of available brokers" error) is a failure to authenticate or to
// establish TLS that retrying with the same configuration cannot cure: SASL
// authentication failed or the mechanism is not enabled on the broker, the
// broker's certificate is not trusted or not valid for its host name, or
// the TLS handshake was refused (for example a client certificate the
// broker rejects), or the OAUTHBEARER token endpoint refused the client
// credentials.
func SecurityFailure(err error) bool {
	var (
		unknownCA x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
		alert     tls.AlertError
		recHeader tls.RecordHeaderError
		refused   *TokenRefusedError
	)
	return errors.Is(err, sarama.ErrSASLAuthenticationFailed) ||
		errors.Is(err, sarama.ErrUnsupportedSASLMechanism) ||
		errors.Is(err, sarama.ErrIllegalSASLState) ||
		errors.As(err, &unknownCA) || errors.As(err, &hostErr) || errors.As(err, &invalid) ||
		errors.As(err, &verify) || errors.As(err, &alert) || errors.As(err, &recHeader) ||
		errors.As(err, &refused)
}

func retriableKError(k sarama.KError) bool {
	switch k {
	case sarama.ErrUnknownTopicOrPartition,
		sarama.ErrLeaderNotAvailable,
		sarama.ErrNotLeaderForPartition,
		sarama.ErrRequestTimedOut,
		sarama.ErrBrokerNotAvailable,
		sarama.ErrReplicaNotAvailable,
		sarama.ErrNetworkException,
		sarama.ErrOffsetsLoadInProgress,
		sarama.ErrConsumerCoordinatorNotAvailable,
		sarama.ErrNotCoordinatorForConsumer,
		sarama.ErrNotEnoughReplicas,
		sarama.ErrNotEnoughReplicasAfterAppend,
		sarama.ErrRebalanceInProgress,
		sarama.ErrNotController,
		sarama.ErrOutOfOrderSequenceNumber,
		sarama.ErrConcurrentTransactions,
		sarama.ErrKafkaStorageError,
		sarama.ErrUnknownProducerID,
		sarama.ErrListenerNotFound,
		sarama.ErrFencedLeaderEpoch,
		sarama.ErrUnknownLeaderEpoch,
		sarama.ErrOffsetNotAvailable,
		sarama.ErrPreferredLeaderNotAvailable,
		sarama.ErrEligibleLeadersNotAvailable,
		sarama.ErrUnstableOffsetCommit,
		sarama.ErrThrottlingQuotaExceeded:
		return true
	}
	return false
}
