package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/kafkaconf"
	"github.com/sluicehq/sluice/offsets"
)

// ownedStore is the offset store of a pipeline given no Config.OffsetStore:
// the store Config.OffsetStorage selects, opened and closed by the pipeline
// itself. Run opens it before the tasks start (acquire) and closes it when
// they all ended (release); between runs (before Run, after it) the admin
// operations open it for the duration of one call. It is what cfg.OffsetStore
// holds after New, so the tasks and the admin operations use it like any
// store.
type ownedStore struct {
	storage offsets.Storage
	brokers []string
	sarama  *sarama.Config
	log     *slog.Logger

	// mu is held (read) by a call on the open store, and (write) while the
	// store is opened, closed, or opened for one call outside Run.
	mu sync.RWMutex
	s  offsets.Store // nil outside Run
}

var (
	_ offsets.Store           = (*ownedStore)(nil)
	_ offsets.PartitionLister = (*ownedStore)(nil)
)

func newOwnedStore(c *Config) *ownedStore {
	return &ownedStore{storage: c.OffsetStorage, brokers: c.Brokers, sarama: c.Sarama, log: c.Logger.With("connector", c.Name)}
}

// open opens the store once, with an error that says how to choose another.
func (o *ownedStore) open(ctx context.Context) (offsets.Store, error) {
	s, err := o.storage.Open(ctx, o.brokers, o.sarama, o.log)
	if err != nil {
		return nil, fmt.Errorf("opening the pipeline's offset store (%s; choose another with Config.OffsetStore or "+
			"Config.OffsetStorage, or the worker properties offset.storage.topic or offset.storage.file.filename): %w",
			o.storage, err)
	}
	return s, nil
}

// acquire opens the store for Run. A transient failure (brokers away) is
// retried, with a warning and a call of retrying (which shows it in the
// pipeline's status) each time and a backoff up to 30 s, until ctx is
// done; any other failure is returned. The lock is held for each attempt,
// not between them, so that a concurrent admin operation is not blocked
// for the whole wait.
func (o *ownedStore) acquire(ctx context.Context, retrying func(error)) error {
	backoff := time.Second
	for {
		err := o.tryAcquire(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || !(kafkaconf.Retriable(err) || errors.Is(err, context.DeadlineExceeded)) {
			return err
		}
		o.log.Warn("the offset store cannot be opened yet; retrying", "error", err, "delay", backoff)
		retrying(err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

func (o *ownedStore) tryAcquire(ctx context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.s != nil { // Run prevents this; a second open would leak the first
		return errors.New("the pipeline's offset store is already open")
	}
	s, err := o.open(ctx)
	if err != nil {
		return err
	}
	o.s = s
	return nil
}

// release closes the store Run opened.
func (o *ownedStore) release() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := o.s
	o.s = nil
	if s == nil {
		return nil
	}
	return s.Close()
}

// with calls f with the open store, or outside Run with a store opened for
// the call (and closed after it).
func (o *ownedStore) with(ctx context.Context, f func(offsets.Store) error) error {
	o.mu.RLock()
	if o.s != nil {
		defer o.mu.RUnlock()
		return f(o.s)
	}
	o.mu.RUnlock()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.s != nil { // Run opened it meanwhile
		return f(o.s)
	}
	s, err := o.open(ctx)
	if err != nil {
		return err
	}
	err = f(s)
	return errors.Join(err, s.Close())
}

func (o *ownedStore) Get(ctx context.Context, connector string, partition offsets.Partition) (off offsets.Offset, err error) {
	err = o.with(ctx, func(s offsets.Store) (err error) {
		off, err = s.Get(ctx, connector, partition)
		return err
	})
	return off, err
}

func (o *ownedStore) List(ctx context.Context, connector string) (es []connect.OffsetEntry, err error) {
	err = o.with(ctx, func(s offsets.Store) (err error) {
		es, err = s.List(ctx, connector)
		return err
	})
	return es, err
}

func (o *ownedStore) Partitions(ctx context.Context, connector string) (ps []offsets.Partition, err error) {
	err = o.with(ctx, func(s offsets.Store) (err error) {
		if pl, ok := s.(offsets.PartitionLister); ok {
			ps, err = pl.Partitions(ctx, connector)
			return err
		}
		es, err := s.List(ctx, connector)
		for _, e := range es {
			ps = append(ps, e.Partition)
		}
		return err
	})
	return ps, err
}

func (o *ownedStore) Write(ctx context.Context, connector string, entries []connect.OffsetEntry) error {
	return o.with(ctx, func(s offsets.Store) error { return s.Write(ctx, connector, entries) })
}

// current returns the store opened by Run, or nil outside Run.
func (o *ownedStore) current() offsets.Store {
	o.mu.RLock()
	defer o.mu.RUnlock()
	return o.s
}

// Close is a no-op: the pipeline closes the store it opened when Run
// returns.
func (o *ownedStore) Close() error { return nil }
