package filestream

import (
	"io"
	"os"
	"sync"
)

// pump reads a blocking reader (standard input) on one goroutine and offers
// what it read through Read without blocking: Read returns (0, io.EOF) when
// nothing is available yet, as a file at its end does, so the task treats
// both alike. After the source's end or error Read keeps returning it.
//
// Read, waitChan and received are called by one task at a time.
type pump struct {
	src    io.Reader
	ch     chan []byte   // chunks read; closed after the source ended
	done   chan struct{} // closed by close: stop reading
	exited chan struct{} // closed when the goroutine returned
	err    error         // the source's error other than io.EOF, set before ch is closed

	mu    sync.Mutex
	cur   []byte // the rest of the chunk being read
	ended bool   // ch was closed
}

const pumpChunk = 32 << 10

var (
	stdinOnce sync.Once
	stdin     *pump
)

// stdinPump returns the process's standard-input pump. It is shared by all
// tasks and never stopped (a blocked read of standard input cannot be
// interrupted), so no data is lost between tasks beyond what a stopped task
// had buffered.
func stdinPump() *pump {
	stdinOnce.Do(func() { stdin = newPump(os.Stdin) })
	return stdin
}

func newPump(src io.Reader) *pump {
	p := &pump{src: src, ch: make(chan []byte, 1), done: make(chan struct{}), exited: make(chan struct{})}
	go p.run()
	return p
}

func (p *pump) run() {
	defer close(p.exited)
	defer close(p.ch)
	for {
		b := make([]byte, pumpChunk)
		n, err := p.src.Read(b)
		if n > 0 {
			select {
			case p.ch <- b[:n]:
			case <-p.done:
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				p.err = err
			}
			return
		}
	}
}

// Read copies available bytes without blocking.
func (p *pump) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.cur) == 0 {
		if p.ended {
			return 0, p.endErr()
		}
		select {
		case c, ok := <-p.ch:
			if !ok {
				p.ended = true
				return 0, p.endErr()
			}
			p.cur = c
		default:
			return 0, io.EOF
		}
	}
	n := copy(b, p.cur)
	p.cur = p.cur[n:]
	return n, nil
}

func (p *pump) endErr() error {
	if p.err != nil {
		return p.err
	}
	return io.EOF
}

// waitChan returns the channel to wait on for data, nil when there is
// nothing to wait for (data is buffered, or the source ended).
func (p *pump) waitChan() <-chan []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.cur) > 0 || p.ended {
		return nil
	}
	return p.ch
}

// received records what a receive from waitChan's channel returned.
func (p *pump) received(c []byte, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !ok {
		p.ended = true
		return
	}
	p.cur = append(p.cur, c...)
}

// close stops the goroutine (closing the source when it is an io.Closer)
// and waits for it. It is used for readers other than os.Stdin only.
func (p *pump) close() {
	close(p.done)
	if c, ok := p.src.(io.Closer); ok {
		_ = c.Close()
	}
	<-p.exited
}
