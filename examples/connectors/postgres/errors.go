package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluicehq/sluice/connect"
)

// isTransient reports whether err is worth retrying: the connection failed
// or was lost, the server is shutting down or overloaded, or the
// transaction lost a serialization conflict or a deadlock. Anything else
// (bad SQL, constraint violations, bad data, a missing table) is not: a
// retry would fail the same way.
func isTransient(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		c := pgErr.Code
		switch {
		case strings.HasPrefix(c, "08"), // connection exception
			strings.HasPrefix(c, "53"),               // insufficient resources
			strings.HasPrefix(c, "58"),               // system error (I/O)
			c == "40001",                             // serialization_failure
			c == "40P01",                             // deadlock_detected
			c == "55P03",                             // lock_not_available
			c == "57014",                             // query_canceled (statement timeout)
			c == "57P01", c == "57P02", c == "57P03": // shutdown, cannot connect now
			return true
		}
		return false
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case pgconn.SafeToRetry(err), pgconn.Timeout(err),
		errors.As(err, &connErr), errors.As(err, &netErr),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return true
	}
	// pgx reports a connection it closed after an earlier failure by text.
	return strings.Contains(err.Error(), "conn closed") || strings.Contains(err.Error(), "conn busy")
}

// isDataError reports whether err is the server rejecting one statement's
// data: a data exception (class 22: bad value, out of range, invalid text
// representation) or an integrity constraint violation (class 23: duplicate
// key, not-null, check, foreign key). Such errors belong to the record whose
// statement failed.
func isDataError(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	return strings.HasPrefix(pgErr.Code, "22") || strings.HasPrefix(pgErr.Code, "23")
}

// pgCode returns err's SQLSTATE, or "".
func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// classify marks transient errors retriable for the pipeline.
func classify(err error) error {
	if isTransient(err) {
		return connect.Retriable(err)
	}
	return err
}
