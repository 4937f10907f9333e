package offsets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/sluicehq/sluice/connect"
)

// fileFormatVersion is the version of the FileStore file format.
const fileFormatVersion = 1

// FileStore is a Store that keeps offsets in one local JSON file, for a
// single process (Kafka Connect's standalone mode, offset.storage.file.filename).
// The file is not Kafka Connect's own standalone format (a serialized Java
// map); it holds the same offsets-topic key and value bytes, so an offset
// can be moved between a FileStore and an offsets topic byte for byte.
//
// File format (version 1), entries sorted by connector and canonical key,
// key and value being the exact offsets-topic bytes as JSON strings:
//
//	{
//	  "version": 1,
//	  "entries": [
//	    {"key": "[\"file-src\",{\"filename\":\"a.txt\"}]", "value": "{\"position\":30}"}
//	  ]
//	}
//
// The file is read once, by NewFileStore, and rewritten as a whole by every
// Write that changes something: written to a temporary file in the same
// directory (mode 0600), synced, renamed over the file, and the directory
// synced, so a crash leaves either the old or the new content. Only one
// FileStore (in one process) may use a file at a time; nothing enforces it.
//
// Safe for concurrent use; writes are serialized.
type FileStore struct {
	path string
	guardedIndex
}

var (
	_ Store           = (*FileStore)(nil)
	_ PartitionLister = (*FileStore)(nil)
)

type fileDoc struct {
	Version int         `json:"version"`
	Entries []fileEntry `json:"entries"`
}

type fileEntry struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// NewFileStore opens the offsets file at path, loading its content. A
// missing file is created empty right away (so that an unwritable location
// fails here rather than at the first commit); its directory must exist.
// A file that is not a valid offsets file of a supported version fails
// with an error naming path and the problem.
func NewFileStore(path string) (*FileStore, error) {
	if path == "" {
		return nil, errors.New("offsets: file store: empty path")
	}
	s := &FileStore{path: path, guardedIndex: guardedIndex{ix: newOffsetIndex()}}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := s.persist(s.ix); err != nil {
			return nil, err
		}
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("offsets: reading offsets file %s: %w", path, err)
	}
	if err := s.parse(data); err != nil {
		return nil, fmt.Errorf("offsets: offsets file %s is corrupt or not an offsets file: %w", path, err)
	}
	return s, nil
}

func (s *FileStore) parse(data []byte) error {
	var doc fileDoc
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON document")
	}
	if doc.Version != fileFormatVersion {
		return fmt.Errorf("unsupported format version %d (this version of sluice reads version %d)", doc.Version, fileFormatVersion)
	}
	for i, e := range doc.Entries {
		if e.Value == "" {
			return fmt.Errorf("entry %d (key %s): empty value", i, e.Key)
		}
		_, valueErr, keyErr := s.ix.load([]byte(e.Key), []byte(e.Value))
		if keyErr != nil {
			return fmt.Errorf("entry %d: key %s: %w", i, e.Key, keyErr)
		}
		if valueErr != nil {
			return fmt.Errorf("entry %d (key %s): value %s: %w", i, e.Key, e.Value, valueErr)
		}
	}
	return nil
}

// Path returns the file's path.
func (s *FileStore) Path() string { return s.path }

// Write stores entries (a nil Offset deleting the partition's offset) and
// rewrites the file; when it returns nil the new content is on disk. All
// entries are validated first: if any holds a value Kafka Connect refuses,
// nothing is written. The batch is all or nothing: if the file cannot be
// written, the error names the path and the store keeps its previous
// content. When a partition occurs more than once, the last entry wins.
func (s *FileStore) Write(ctx context.Context, connector string, entries []connect.OffsetEntry) error {
	prepared, err := prepareWrite(ctx, connector, entries)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if len(prepared) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	next := s.ix.clone()
	for _, e := range prepared {
		next.apply(connector, e, next.keyBytes(connector, e.canon))
	}
	if err := s.persist(next); err != nil {
		return fmt.Errorf("offsets: connector %q: %w", connector, err)
	}
	s.ix = next
	return nil
}

// Close releases the store; later calls fail with ErrClosed. Every
// successful Write is already on disk, so Close has nothing to flush.
// Closing twice is a no-op.
func (s *FileStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.ix = nil
	return nil
}

// persist writes ix to the file atomically.
func (s *FileStore) persist(ix *offsetIndex) error {
	doc := fileDoc{Version: fileFormatVersion, Entries: []fileEntry{}}
	conns := slices.Sorted(maps.Keys(ix.live))
	for _, c := range conns {
		canons := slices.Sorted(maps.Keys(ix.live[c]))
		for _, k := range canons {
			r := ix.live[c][k]
			doc.Entries = append(doc.Entries, fileEntry{Key: string(r.key), Value: string(r.value)})
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("offsets: encoding offsets file %s: %w", s.path, err)
	}
	if err := writeFileAtomic(s.path, buf.Bytes()); err != nil {
		return fmt.Errorf("offsets: writing offsets file %s: %w", s.path, err)
	}
	return nil
}

// writeFileAtomic replaces path by data: temporary file in the same
// directory, fsync, rename, fsync of the directory.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	// Make the rename itself durable.
	d, derr := os.Open(dir)
	if derr != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, derr)
	}
	defer d.Close()
	if derr := d.Sync(); derr != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, derr)
	}
	return nil
}
