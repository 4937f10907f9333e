package sink

import (
	"errors"
	"net"
	"sync"

	"github.com/IBM/sarama"
)

// errMemberClosed refuses new connections of a group member whose
// connections were cut to end a held join.
var errMemberClosed = errors.New("sink: consumer group member stopped")

// connCutter is the group member's dialer: it dials as sarama would (or
// through the user's proxy dialer) and keeps the connections, so that a
// stopping task can close them under sarama. Closing the sarama client does
// not help there: a broker's Close waits for the lock that a request in
// progress (a JoinGroup the coordinator holds) keeps until its answer. The
// raw connection is below TLS, so cutting it works for every protocol.
type connCutter struct {
	dial interface {
		Dial(network, addr string) (net.Conn, error)
	}
	mu    sync.Mutex
	conns map[*cutConn]struct{}
	cut   bool
}

// newConnCutter installs a connCutter as cfg's dialer and returns it.
func newConnCutter(cfg *sarama.Config) *connCutter {
	c := &connCutter{conns: map[*cutConn]struct{}{}}
	if cfg.Net.Proxy.Enable && cfg.Net.Proxy.Dialer != nil {
		c.dial = cfg.Net.Proxy.Dialer
	} else {
		c.dial = &net.Dialer{Timeout: cfg.Net.DialTimeout, KeepAlive: cfg.Net.KeepAlive, LocalAddr: cfg.Net.LocalAddr}
	}
	cfg.Net.Proxy.Enable = true
	cfg.Net.Proxy.Dialer = c
	return c
}

// Dial implements sarama's proxy dialer.
func (c *connCutter) Dial(network, addr string) (net.Conn, error) {
	conn, err := c.dial.Dial(network, addr)
	if err != nil {
		return nil, err
	}
	cc := &cutConn{Conn: conn, owner: c}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut {
		conn.Close()
		return nil, errMemberClosed
	}
	c.conns[cc] = struct{}{}
	return cc, nil
}

// cutAll closes every connection and refuses new ones.
func (c *connCutter) cutAll() {
	c.mu.Lock()
	c.cut = true
	conns := c.conns
	c.conns = map[*cutConn]struct{}{}
	c.mu.Unlock()
	for cc := range conns {
		cc.Conn.Close()
	}
}

// cutConn forgets itself in its owner when closed.
type cutConn struct {
	net.Conn
	owner *connCutter
}

func (cc *cutConn) Close() error {
	cc.owner.mu.Lock()
	delete(cc.owner.conns, cc)
	cc.owner.mu.Unlock()
	return cc.Conn.Close()
}
