package offsets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/connect"
)

// storeContract exercises the behaviour every Store of this package shares.
// reopen, if not nil, closes s and returns a store on the same data.
func storeContract(t *testing.T, s Store, reopen func(Store) Store) {
	t.Helper()
	ctx := context.Background()

	if o, err := s.Get(ctx, "c", Partition{"f": "a"}); o != nil || err != nil {
		t.Fatalf("Get on empty store = %v, %v", o, err)
	}
	if l, err := s.List(ctx, "c"); len(l) != 0 || err != nil {
		t.Fatalf("List on empty store = %v, %v", l, err)
	}

	in := Partition{"f": "a"}
	off := Offset{"pos": 30, "f": 1.5}
	if err := s.Write(ctx, "c", []connect.OffsetEntry{
		{Partition: in, Offset: off},
		{Partition: Partition{"table": "t1", "db": "d"}, Offset: Offset{"id": int32(42)}},
		{Partition: Partition{"f": "gone"}, Offset: Offset{"pos": 1}},
		{Partition: Partition{"f": "a"}, Offset: Offset{"pos": 31}}, // same partition: last wins
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, "other", []connect.OffsetEntry{{Partition: Partition{"f": "a"}, Offset: Offset{"pos": 99}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, "c", []connect.OffsetEntry{{Partition: Partition{"f": "gone"}}}); err != nil { // reset
		t.Fatal(err)
	}
	// The caller's maps are copied in.
	in["f"] = "changed"
	off["pos"] = -1

	check := func(s Store) {
		t.Helper()
		o, err := s.Get(ctx, "c", Partition{"f": "a"})
		if err != nil || !reflect.DeepEqual(o, Offset{"pos": int64(31)}) {
			t.Fatalf("Get f=a = %#v, %v; want pos 31 (int64)", o, err)
		}
		o["pos"] = int64(-5) // copied out
		if o, _ := s.Get(ctx, "c", Partition{"f": "a"}); o["pos"] != int64(31) {
			t.Fatalf("mutating a returned offset changed the store: %v", o)
		}
		o, err = s.Get(ctx, "c", Partition{"db": "d", "table": "t1"})
		if err != nil || !reflect.DeepEqual(o, Offset{"id": int64(42)}) {
			t.Fatalf("Get multi-key = %#v, %v", o, err)
		}
		if o, err := s.Get(ctx, "c", Partition{"f": "gone"}); o != nil || err != nil {
			t.Fatalf("Get of a reset partition = %v, %v", o, err)
		}
		if o, err := s.Get(ctx, "other", Partition{"f": "a"}); err != nil || o["pos"] != int64(99) {
			t.Fatalf("Get other = %v, %v", o, err)
		}
		l, err := s.List(ctx, "c")
		want := []connect.OffsetEntry{
			{Partition: Partition{"db": "d", "table": "t1"}, Offset: Offset{"id": int64(42)}},
			{Partition: Partition{"f": "a"}, Offset: Offset{"pos": int64(31)}},
		}
		if err != nil || !reflect.DeepEqual(l, want) {
			t.Fatalf("List = %#v, %v; want %#v", l, err, want)
		}
		if pl, ok := s.(PartitionLister); ok {
			ps, err := pl.Partitions(ctx, "c")
			if err != nil || !reflect.DeepEqual(ps, []Partition{want[0].Partition, want[1].Partition}) {
				t.Fatalf("Partitions = %v, %v", ps, err)
			}
		}
	}
	check(s)

	// Invalid entries: nothing is written.
	err := s.Write(ctx, "c", []connect.OffsetEntry{
		{Partition: Partition{"f": "new"}, Offset: Offset{"pos": 1}},
		{Partition: Partition{"f": "x"}, Offset: Offset{"bad": []int{1}}},
	})
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Key != "bad" {
		t.Fatalf("Write of an invalid offset = %v, want a *FormatError for key bad", err)
	}
	if o, _ := s.Get(ctx, "c", Partition{"f": "new"}); o != nil {
		t.Fatalf("a rejected Write stored %v", o)
	}
	if _, err := s.Get(ctx, "c", Partition{"bad": struct{}{}}); !errors.As(err, &fe) {
		t.Fatalf("Get with an invalid partition = %v, want a *FormatError", err)
	}

	if reopen != nil {
		s = reopen(s)
		check(s)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Get(cctx, "c", Partition{"f": "a"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a cancelled context = %v", err)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Get(ctx, "c", Partition{"f": "a"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close = %v", err)
	}
	if _, err := s.List(ctx, "c"); !errors.Is(err, ErrClosed) {
		t.Errorf("List after Close = %v", err)
	}
	if err := s.Write(ctx, "c", []connect.OffsetEntry{{Partition: Partition{"f": "a"}}}); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close = %v", err)
	}
}

func TestMemoryStore(t *testing.T) {
	storeContract(t, NewMemoryStore(), nil)
}

// concurrentWrites has 4 goroutines write (rounds times each) and read s;
// it returns the last offset written per partition.
func concurrentWrites(t *testing.T, s Store, rounds int) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	const writers = 4
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				err := s.Write(ctx, "conc", []connect.OffsetEntry{
					{Partition: Partition{"w": int64(w)}, Offset: Offset{"i": int64(i)}},
					{Partition: Partition{"shared": true}, Offset: Offset{"i": int64(w*1000 + i)}},
				})
				if err == nil {
					_, err = s.Get(ctx, "conc", Partition{"shared": true})
				}
				if err == nil {
					_, err = s.List(ctx, "conc")
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := map[string]int64{}
	for w := range writers {
		o, err := s.Get(ctx, "conc", Partition{"w": w})
		if err != nil || o["i"] != int64(rounds-1) {
			t.Fatalf("writer %d: Get = %v, %v", w, o, err)
		}
		want[fmt.Sprint(w)] = int64(rounds - 1)
	}
	o, err := s.Get(ctx, "conc", Partition{"shared": true})
	if err != nil || o == nil {
		t.Fatalf("shared: %v, %v", o, err)
	}
	want["shared"] = o["i"].(int64)
	return want
}

func TestMemoryStoreConcurrent(t *testing.T) {
	s := NewMemoryStore()
	defer s.Close()
	concurrentWrites(t, s, 50)
}

func TestConnectorReader(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore()
	defer s.Close()
	if err := s.Write(ctx, "c", []connect.OffsetEntry{
		{Partition: Partition{"f": "a"}, Offset: Offset{"pos": 1}},
		{Partition: Partition{"f": "c"}, Offset: Offset{"pos": 3}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, "other", []connect.OffsetEntry{{Partition: Partition{"f": "b"}, Offset: Offset{"pos": 2}}}); err != nil {
		t.Fatal(err)
	}
	r := ConnectorReader(s, "c")
	o, err := r.Offset(ctx, Partition{"f": "a"})
	if err != nil || o["pos"] != int64(1) {
		t.Fatalf("Offset = %v, %v", o, err)
	}
	os, err := r.Offsets(ctx, []Partition{{"f": "c"}, {"f": "b"}, {"f": "a"}})
	want := []Offset{{"pos": int64(3)}, nil, {"pos": int64(1)}}
	if err != nil || !reflect.DeepEqual(os, want) {
		t.Fatalf("Offsets = %v, %v; want %v", os, err, want)
	}
	if _, err := r.Offsets(ctx, []Partition{{"f": "a"}, {"bad": []byte("x")}}); err == nil {
		t.Fatal("Offsets accepted an invalid partition")
	}
}

// TestMemoryStoreKeepsKeyBytes: a key seen in Kafka Connect's member order
// keeps being written in that order, also after a reset.
func TestMemoryStoreKeepsKeyBytes(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore()
	defer s.Close()
	const kc = `["conn",{"table":"t1","db":"d"}]`
	if _, _, err := s.ix.load([]byte(kc), []byte(`{"id":42}`)); err != nil {
		t.Fatal(err)
	}
	p := Partition{"db": "d", "table": "t1"}
	keyOf := func() string {
		t.Helper()
		canon, err := EncodeKey("conn", p)
		if err != nil {
			t.Fatal(err)
		}
		return string(s.ix.keyBytes("conn", string(canon)))
	}
	if o, err := s.Get(ctx, "conn", p); err != nil || o["id"] != int64(42) {
		t.Fatalf("Get = %v, %v", o, err)
	}
	for _, o := range []Offset{{"id": 43}, nil, {"id": 44}} {
		if err := s.Write(ctx, "conn", []connect.OffsetEntry{{Partition: p, Offset: o}}); err != nil {
			t.Fatal(err)
		}
		if got := keyOf(); got != kc {
			t.Fatalf("after writing %v, key bytes = %s, want %s", o, got, kc)
		}
	}
	// A record under the canonical bytes that comes later wins.
	if _, _, err := s.ix.load([]byte(`["conn",{"db":"d","table":"t1"}]`), []byte(`{"id":45}`)); err != nil {
		t.Fatal(err)
	}
	if got := keyOf(); got != `["conn",{"db":"d","table":"t1"}]` {
		t.Fatalf("key bytes = %s, want the canonical ones", got)
	}
}

// TestStoresKeepOldSluiceNonBMPKeyBytes: Sluice before the surrogate-pair
// escapes wrote characters outside the BMP in offsets-topic keys as raw
// UTF-8 ("😀"); EncodeKey now writes them as Kafka Connect does
// ("\uD83D\uDE00"). An offset stored under the old bytes is still found,
// and rewritten (also after a reset) under the key bytes that exist, not
// next to them under new ones.
func TestStoresKeepOldSluiceNonBMPKeyBytes(t *testing.T) {
	ctx := context.Background()
	const old = "[\"conn😀\",{\"file\":\"a😀b.txt\"}]"
	p := Partition{"file": "a😀b.txt"}
	canon, err := EncodeKey("conn😀", p)
	if err != nil {
		t.Fatal(err)
	}
	if want := `["conn\uD83D\uDE00",{"file":"a\uD83D\uDE00b.txt"}]`; string(canon) != want {
		t.Fatalf("EncodeKey = %s, want %s", canon, want)
	}
	s := NewMemoryStore()
	defer s.Close()
	if _, _, err := s.ix.load([]byte(old), []byte(`{"position":42}`)); err != nil {
		t.Fatal(err)
	}
	if o, err := s.Get(ctx, "conn😀", p); err != nil || o["position"] != int64(42) {
		t.Fatalf("Get = %v, %v", o, err)
	}
	for _, o := range []Offset{{"position": 43}, nil, {"position": 44}} {
		if err := s.Write(ctx, "conn😀", []connect.OffsetEntry{{Partition: p, Offset: o}}); err != nil {
			t.Fatal(err)
		}
		if got := string(s.ix.keyBytes("conn😀", string(canon))); got != old {
			t.Fatalf("after writing %v, key bytes = %s, want the old Sluice's %s", o, got, old)
		}
	}
	if o, err := s.Get(ctx, "conn😀", p); err != nil || o["position"] != int64(44) {
		t.Fatalf("Get = %v, %v", o, err)
	}

	// The file store: the one entry is updated in place, under the old
	// bytes.
	path := filepath.Join(t.TempDir(), "offsets.json")
	entry, _ := json.Marshal(map[string]any{"version": 1, "entries": []map[string]string{{"key": old, "value": `{"position":42}`}}})
	if err := os.WriteFile(path, entry, 0o600); err != nil {
		t.Fatal(err)
	}
	fs, err := NewFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	if o, err := fs.Get(ctx, "conn😀", p); err != nil || o["position"] != int64(42) {
		t.Fatalf("file Get = %v, %v", o, err)
	}
	if err := fs.Write(ctx, "conn😀", []connect.OffsetEntry{{Partition: p, Offset: Offset{"position": 43}}}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Entries []struct{ Key, Value string }
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Entries) != 1 || file.Entries[0].Key != old || file.Entries[0].Value != `{"position":43}` {
		t.Fatalf("file entries = %+v, want one under the old key bytes %s with position 43", file.Entries, old)
	}
}
