package reliability

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// lineSize is the length of every input line, without its terminator.
const lineSize = 64

// line returns the i-th input line: its index in ten digits, a space and
// letters derived from i, so that a torn or spliced line never passes for a
// whole one.
func line(i int) []byte {
	b := make([]byte, lineSize)
	appendLine(b[:0], i)
	return b
}

func appendLine(dst []byte, i int) []byte {
	dst = fmt.Appendf(dst, "%010d ", i)
	for j := 11; j < lineSize; j++ {
		dst = append(dst, 'a'+byte((i*7+j*13)%26))
	}
	return dst
}

// appender grows an input file at a steady rate, whole lines per write,
// until stopped.
type appender struct {
	path    string
	rate    int          // lines per second
	written atomic.Int64 // lines fully written
	stopc   chan struct{}
	done    chan struct{}
	err     error
	once    sync.Once
}

// startAppender creates path (empty) and appends lines to it at rate lines
// per second until stop; t.Cleanup stops it at the latest.
func startAppender(t testing.TB, path string, rate int) *appender {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	a := &appender{path: path, rate: rate, stopc: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(a.done)
		defer f.Close()
		const tick = 20 * time.Millisecond
		tk := time.NewTicker(tick)
		defer tk.Stop()
		start := time.Now()
		var buf []byte
		for {
			select {
			case <-a.stopc:
				return
			case <-tk.C:
			}
			want := int(time.Since(start).Seconds() * float64(a.rate))
			n := int(a.written.Load())
			if want <= n {
				continue
			}
			if want-n > a.rate { // a stalled machine: no bursts of more than a second's worth
				want = n + a.rate
			}
			buf = buf[:0]
			for i := n; i < want; i++ {
				buf = appendLine(buf, i)
				buf = append(buf, '\n')
			}
			if _, err := f.Write(buf); err != nil {
				a.err = err
				return
			}
			a.written.Store(int64(want))
		}
	}()
	t.Cleanup(func() { a.stop() })
	return a
}

// stop stops appending and returns how many lines the file holds.
func (a *appender) stop() int {
	a.once.Do(func() { close(a.stopc) })
	<-a.done
	return int(a.written.Load())
}

// tally is what an output file holds compared with the input's first n
// lines.
type tally struct {
	n        int // input lines
	distinct int // distinct input lines found
	dup      int // lines found more than once (extra copies)
	torn     int // lines that are no input line (torn, spliced, a partial last line)
	beyond   int // whole input lines past the first n (written after n was taken)
	order    int // first occurrences out of input order
	maxIndex int // the highest input line found (-1: none)
	partial  bool
}

func (c tally) lost() int { return c.n - c.distinct }

// scan compares the output file at path with the input's first n lines.
// final counts a last line without terminator as torn (a finished run
// must not leave one); otherwise it may be a write in progress.
func scan(path string, n int, final bool) (tally, error) {
	c := tally{n: n, maxIndex: -1}
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	seen := make([]bool, n)
	maxFirst := -1
	want := make([]byte, 0, lineSize)
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			c.partial = true
			if final {
				c.torn++
			}
			break
		}
		l := data[:i]
		data = data[i+1:]
		idx, ok := parseLine(l, want)
		if !ok {
			c.torn++
			continue
		}
		c.maxIndex = max(c.maxIndex, idx)
		if idx >= n {
			c.beyond++
			continue
		}
		if seen[idx] {
			c.dup++
			continue
		}
		seen[idx] = true
		c.distinct++
		if idx < maxFirst {
			c.order++
		} else {
			maxFirst = idx
		}
	}
	return c, nil
}

// parseLine returns the index of l if it is a whole input line.
func parseLine(l, scratch []byte) (int, bool) {
	if len(l) != lineSize || l[10] != ' ' {
		return 0, false
	}
	idx, err := strconv.Atoi(string(l[:10]))
	if err != nil || idx < 0 {
		return 0, false
	}
	return idx, bytes.Equal(appendLine(scratch[:0], idx), l)
}

// firstMissing returns the index of the first input line below n missing
// from the output file (n if none), for failure messages.
func firstMissing(path string, n int) int {
	data, _ := os.ReadFile(path)
	seen := make([]bool, n)
	for _, l := range bytes.Split(data, []byte{'\n'}) {
		if idx, ok := parseLine(l, nil); ok && idx < n {
			seen[idx] = true
		}
	}
	for i, ok := range seen {
		if !ok {
			return i
		}
	}
	return n
}
