package conformance

import (
	"bufio"
	"bytes"
	"context"
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
	// Expect is the verdict the case must keep (Verdict.String:
	// "agree", "fail-alike", "explained:<rule>"): a fixed case that comes
	// to diverge, or to be explained by some other rule, fails TestCorpus.
	Expect string `json:"expect,omitempty"`
}

// WriteCorpus writes entries to path, one JSON line each.
func WriteCorpus(path string, entries []CorpusEntry) error {
	var b bytes.Buffer
	for _, e := range entries {
		line, err := json.Marshal(e)
		if err != nil {
			return err
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// FillExpect sets Expect on every entry without one to the verdict Sluice
// gets today, and returns the IDs of entries that diverge (left unset).
func FillExpect(ctx context.Context, entries []CorpusEntry) []string {
	var diverging []string
	for i := range entries {
		e := &entries[i]
		if e.Expect != "" {
			continue
		}
		v := Compare(e.Request, e.KafkaConnect, RunSluice(ctx, e.Request))
		if v.Outcome == Diverge {
			diverging = append(diverging, e.Request.ID)
			continue
		}
		e.Expect = v.String()
	}
	return diverging
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
