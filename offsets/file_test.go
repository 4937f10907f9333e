package offsets

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/connect"
)

func TestFileStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "offsets.json")
	s, err := NewFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("NewFileStore did not create the file: %v", err)
	}
	storeContract(t, s, func(old Store) Store {
		if err := old.Close(); err != nil {
			t.Fatal(err)
		}
		s, err := NewFileStore(path)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
	// Atomic writes leave no temporary file behind.
	ents, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != "offsets.json" {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("directory holds %v, want only offsets.json", names)
	}
}

func TestFileStoreFormat(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "offsets.json")
	s, err := NewFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, "file-src", []connect.OffsetEntry{{Partition: Partition{"filename": "a<&>.txt"}, Offset: Offset{"position": 30}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "version": 1,
  "entries": [
    {
      "key": "[\"file-src\",{\"filename\":\"a<&>.txt\"}]",
      "value": "{\"position\":30}"
    }
  ]
}
`
	if string(got) != want {
		t.Fatalf("file =\n%s\nwant\n%s", got, want)
	}
}

// TestFileStoreKeepsKeyBytes: a key written by Kafka Connect in HashMap
// member order (moved into the file byte for byte) is found by a Go map
// and rewritten under its original bytes.
func TestFileStoreKeepsKeyBytes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "offsets.json")
	content := `{"version":1,"entries":[{"key":"[\"conn\",{\"table\":\"t1\",\"db\":\"d\"}]","value":"{\"id\":42}"}]}`
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := NewFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	o, err := s.Get(ctx, "conn", Partition{"db": "d", "table": "t1"})
	if err != nil || !reflect.DeepEqual(o, Offset{"id": int64(42)}) {
		t.Fatalf("Get = %v, %v", o, err)
	}
	if err := s.Write(ctx, "conn", []connect.OffsetEntry{{Partition: Partition{"db": "d", "table": "t1"}, Offset: Offset{"id": 43}}}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if !strings.Contains(string(got), `"key": "[\"conn\",{\"table\":\"t1\",\"db\":\"d\"}]"`) ||
		!strings.Contains(string(got), `"value": "{\"id\":43}"`) {
		t.Fatalf("file lost the original key bytes:\n%s", got)
	}
}

func TestFileStoreCorrupt(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"garbage":   "not json",
		"truncated": `{"version":1,"entries":[{"key":"[\"c\",{}]"`,
		"version":   `{"version":2,"entries":[]}`,
		"badkey":    `{"version":1,"entries":[{"key":"nope","value":"{}"}]}`,
		"badvalue":  `{"version":1,"entries":[{"key":"[\"c\",{}]","value":"[1]"}]}`,
		"empty":     ``,
		"trailing":  `{"version":1,"entries":[]} {}`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name+".json")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := NewFileStore(path)
			if err == nil {
				s.Close()
				t.Fatal("corrupt file accepted")
			}
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not name the path", err)
			}
			t.Log(err)
		})
	}
	if _, err := NewFileStore(filepath.Join(dir, "missing-dir", "offsets.json")); err == nil || !strings.Contains(err.Error(), "missing-dir") {
		t.Fatalf("missing directory: %v", err)
	}
}

// TestFileStoreWriteFailure: a Write that cannot reach the disk fails,
// names the path, and leaves the store as it was.
func TestFileStoreWriteFailure(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "sub")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "offsets.json")
	s, err := NewFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Write(ctx, "c", []connect.OffsetEntry{{Partition: Partition{"f": "a"}, Offset: Offset{"pos": 1}}}); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	err = s.Write(ctx, "c", []connect.OffsetEntry{{Partition: Partition{"f": "a"}, Offset: Offset{"pos": 2}}})
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Write to a removed directory = %v, want an error naming %s", err, path)
	}
	if o, _ := s.Get(ctx, "c", Partition{"f": "a"}); o["pos"] != int64(1) {
		t.Fatalf("failed Write changed the store: %v", o)
	}
}

func TestFileStoreConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "offsets.json")
	s, err := NewFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	want := concurrentWrites(t, s, 8) // every Write syncs the disk twice
	s.Close()
	s, err = NewFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	o, err := s.Get(context.Background(), "conc", Partition{"shared": true})
	if err != nil || o["i"] != want["shared"] {
		t.Fatalf("after reopen: %v, %v; want %d", o, err, want["shared"])
	}
}
