package conformance

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// CorpusEntry is one kept case: the request and Kafka Connect's answer to
// it, recorded when the case was found. go test replays the request through
// Sluice and compares with the recorded answer, without Java.
type CorpusEntry struct {
	Request      *Request  `json:"request"`
	KafkaConnect *Response `json:"kafkaConnect"`
	// Note says what the case was about (optional).
	Note string `json:"note,omitempty"`
}

// CorpusPath is the corpus file.
func CorpusPath() string {
	return filepath.Join(PackageDir(), "testdata", "corpus.jsonl")
}

// LoadCorpus reads a corpus file: one CorpusEntry per line; blank lines and
// lines starting with # are skipped.
func LoadCorpus(path string) ([]CorpusEntry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []CorpusEntry
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		var e CorpusEntry
		if err := json.Unmarshal(line, &e); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		if e.Request == nil || e.KafkaConnect == nil {
			return nil, fmt.Errorf("%s:%d: entry without request or kafkaConnect", path, n)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}
