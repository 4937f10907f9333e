package kafkaconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/IBM/sarama"
	"github.com/eapache/go-resiliency/breaker"
)

func TestRetriable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{sarama.ErrOutOfBrokers, true},
		{sarama.ErrNotConnected, true},
		{breaker.ErrBreakerOpen, true},
		{fmt.Errorf("producing: %w", sarama.ErrNotLeaderForPartition), true},
		{sarama.ErrLeaderNotAvailable, true},
		{sarama.ErrRequestTimedOut, true},
		{sarama.ErrNotEnoughReplicas, true},
		{sarama.ErrNotEnoughReplicasAfterAppend, true},
		{sarama.ErrUnknownTopicOrPartition, true},
		{sarama.ErrKafkaStorageError, true},
		{sarama.ErrOutOfOrderSequenceNumber, true},
		{io.EOF, true},
		{&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{fmt.Errorf("x: %w", syscall.ECONNRESET), true},
		{sarama.ErrMessageSizeTooLarge, false},
		{sarama.ErrInvalidMessage, false},
		{sarama.ErrMessageSetSizeTooLarge, false},
		{sarama.ErrTopicAuthorizationFailed, false},
		{sarama.ErrClusterAuthorizationFailed, false},
		{sarama.ErrInvalidTopic, false},
		{sarama.ErrInvalidPartition, false},
		{sarama.ErrClosedClient, false},
		{sarama.ErrShuttingDown, false},
		{errors.New("encoding failed"), false},
	} {
		if got := Retriable(tc.err); got != tc.want {
			t.Errorf("Retriable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// TestSecurityFailureNotRetriable: an authentication or certificate
// failure inside sarama's "out of brokers" error fails fast instead of
// being retried without end.
func TestSecurityFailureNotRetriable(t *testing.T) {
	outOf := func(err error) error { return sarama.Wrap(sarama.ErrOutOfBrokers, err) }
	for _, err := range []error{
		outOf(sarama.ErrSASLAuthenticationFailed),
		outOf(fmt.Errorf("tls: failed to verify certificate: %w", x509.UnknownAuthorityError{})),
		outOf(&tls.CertificateVerificationError{Err: x509.HostnameError{Host: "h"}}),
		outOf(sarama.ErrUnsupportedSASLMechanism),
		outOf(&TokenRefusedError{err: errors.New("HTTP 401 invalid_client")}),
	} {
		if !SecurityFailure(err) || Retriable(err) {
			t.Errorf("%v: SecurityFailure %v, Retriable %v; want true, false", err, SecurityFailure(err), Retriable(err))
		}
	}
	if err := outOf(io.EOF); SecurityFailure(err) || !Retriable(err) {
		t.Errorf("EOF: a security failure or not retriable")
	}
}
