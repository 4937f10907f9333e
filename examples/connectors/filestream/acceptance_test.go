package filestream_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/sluicetest"
	"github.com/sluicehq/sluice/examples/connectors/filestream"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/source"
)

// TestSourceAcceptance runs Sluice's source task acceptance suite against
// the FileStream source: each check reads a new file, to which Write
// appends lines. There is no Outage: once open, the file is read on.
func TestSourceAcceptance(t *testing.T) {
	sluicetest.TestSourceTask(t, sluicetest.SourceFeatures{}, sluicetest.SourceDriver{
		NewTask: func() source.Task { return &filestream.SourceTask{Logger: quiet()} },
		Config: func(t *testing.T) map[string]string {
			in := filepath.Join(t.TempDir(), "in.txt")
			if err := os.WriteFile(in, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			return map[string]string{filestream.FileConfig: in, filestream.TopicConfig: sluicetest.Topic(t)}
		},
		Write: func(t *testing.T, config map[string]string, n int) {
			f, err := os.OpenFile(config[filestream.FileConfig], os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			for i := range n {
				if _, err := f.WriteString("line " + strconv.Itoa(i) + "\n"); err != nil {
					t.Fatal(err)
				}
			}
		},
	})
}

// TestSinkAcceptance runs Sluice's sink task acceptance suite against the
// FileStream sink: record i has the value "record <i>", which the sink
// writes as a line. The sink fails no single record (no Reject) and a write
// error fails the task by design (no Outage).
func TestSinkAcceptance(t *testing.T) {
	sluicetest.TestSinkTask(t, sluicetest.SinkFeatures{}, sluicetest.SinkDriver{
		NewTask: func() sink.Task { return &filestream.SinkTask{Logger: quiet()} },
		Config: func(t *testing.T) map[string]string {
			return map[string]string{filestream.FileConfig: filepath.Join(t.TempDir(), "out.txt")}
		},
		Record: func(i int) connect.Record {
			return connect.Record{ValueSchema: connect.StringSchema, Value: "record " + strconv.Itoa(i)}
		},
		Written: func(t *testing.T, config map[string]string) []int {
			f, err := os.Open(config[filestream.FileConfig])
			if os.IsNotExist(err) {
				return nil
			}
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var is []int
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				i, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "record "))
				if err != nil {
					t.Fatalf("unexpected line %q in %s", sc.Text(), f.Name())
				}
				is = append(is, i)
			}
			if err := sc.Err(); err != nil {
				t.Fatal(err)
			}
			return is
		},
	})
}
