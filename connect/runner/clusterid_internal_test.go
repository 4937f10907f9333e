package runner

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"
)

// TestKafkaClusterIDDoesNotQueueBehindALookup: while one caller waits on
// brokers that do not answer, other callers (GET /, a health probe) get ""
// at once instead of queueing behind the lookup.
func TestKafkaClusterIDDoesNotQueueBehindALookup(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns sync.WaitGroup
	var mu sync.Mutex
	var held []net.Conn
	conns.Go(func() {
		for {
			c, err := ln.Accept() // accepted, never answered
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	})
	defer func() {
		ln.Close()
		conns.Wait()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	}()

	r, err := New(Config{Worker: map[string]string{"bootstrap.servers": ln.Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	first := make(chan string, 1)
	go func() { first <- r.KafkaClusterID(context.Background()) }()
	asking := func() bool {
		r.clusterID.mu.Lock()
		defer r.clusterID.mu.Unlock()
		return r.clusterID.asking
	}
	for deadline := time.Now().Add(10 * time.Second); !asking(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first lookup never started")
		}
	}
	if got := r.KafkaClusterID(context.Background()); got != "" {
		t.Errorf("second caller got %q, want \"\"", got)
	}
	if !asking() {
		t.Error("the second caller returned only after the first lookup ended: it queued behind it")
	}
	if got := <-first; got != "" {
		t.Errorf("lookup against a silent broker returned %q", got)
	}
}
