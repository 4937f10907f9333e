package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect"
	sluiceerrors "github.com/sluicehq/sluice/errors"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/source"
)

// totals adds up the tasks of a pipeline's status (the common shape that
// source and sink pipelines share).
type totals struct{ out, dropped, skipped int64 }

func sum(ps connect.PipelineStatus) totals {
	var t totals
	for _, ts := range ps.Tasks {
		t.out += ts.RecordsOut
		t.dropped += ts.RecordsDropped // filtered by SMTs, or skipped under errors.tolerance=all
		t.skipped += ts.Errors.RecordsSkipped
	}
	return t
}

// done counts the records a pipeline has finished with.
func (t totals) done() int64 { return t.out + t.dropped }

// progress prints one line per call: what the orders source produced and
// what the sink did with it.
type progress struct {
	out      io.Writer
	start    time.Time
	last     time.Time
	lastSent int64
}

func (p *progress) print(orders, toFile connect.PipelineStatus) {
	now := time.Now()
	if p.last.IsZero() {
		p.last = p.start
	}
	o, s := sum(orders), sum(toFile)
	rate := float64(o.out-p.lastSent) / now.Sub(p.last).Seconds()
	p.last, p.lastSent = now, o.out
	fmt.Fprintf(p.out, "%5.1fs  orders sent %7d (%5.0f/s) | sink: %7d written, %4d filtered, %d dead-lettered\n",
		now.Sub(p.start).Seconds(), o.out, rate, s.out, s.dropped-s.skipped, s.skipped)
}

type summary struct {
	elapsed        time.Duration
	brokers        []string
	sarama         *sarama.Config
	orders, legacy *source.Pipeline
	toFile         *sink.Pipeline
	dlqTopic       string
	outFile        string
	width          int // of the pipeline name column
}

// summarize prints what happened, reading the committed offsets, the
// dead-letter queue and the output file back.
func summarize(ctx context.Context, w io.Writer, s summary) error {
	fmt.Fprintf(w, "\nDone in %.1fs.\n", s.elapsed.Seconds())
	for _, p := range []*source.Pipeline{s.orders, s.legacy} {
		offs, err := p.ListOffsets(ctx) // from the pipeline's offset store
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  source %-*s %d records sent to Kafka; committed source offsets:", s.width, p.Name(), sum(p.PipelineStatus()).out)
		for _, e := range offs {
			fmt.Fprintf(w, " %s → %s", connect.FormatMap(e.Partition), connect.FormatMap(e.Offset))
		}
		fmt.Fprintln(w)
	}

	var read, put, filtered, skipped int64
	for _, t := range s.toFile.PipelineStatus().Tasks {
		read, put, filtered, skipped = read+t.RecordsIn, put+t.RecordsOut, filtered+t.RecordsFiltered, skipped+t.RecordsSkipped
	}
	fmt.Fprintf(w, "  sink   %-*s %d records read: %d written to the file, %d test orders filtered, %d failed and sent to the dead-letter queue\n",
		s.width, s.toFile.Name(), read, put, filtered, skipped)
	offs, err := s.toFile.ListOffsets(ctx) // the consumer group's committed offsets
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "         consumer group %s committed:", s.toFile.GroupID())
	for _, e := range offs {
		fmt.Fprintf(w, " %s-%d → %d", e.Partition[sink.OffsetKeyTopic], e.Partition[sink.OffsetKeyPartition], e.Offset[sink.OffsetKeyOffset])
	}
	fmt.Fprintln(w)

	if skipped > 0 {
		n, first, err := readDLQ(ctx, s.brokers, s.sarama, s.dlqTopic)
		if err != nil {
			return fmt.Errorf("reading the dead-letter queue back: %w", err)
		}
		fmt.Fprintf(w, "  dead-letter queue: topic %s holds %d records; the first one:\n", s.dlqTopic, n)
		fmt.Fprintf(w, "         value   %q\n", first.Value)
		for _, h := range first.Headers {
			if k := string(h.Key); k != sluiceerrors.HeaderExceptionStacktrace {
				fmt.Fprintf(w, "         header  %s = %s\n", k, h.Value)
			}
		}
	}

	lines, firstLine, err := readOutput(s.outFile)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  output: %s, %d lines, the first one:\n         %s\n", s.outFile, lines, firstLine)
	return nil
}

// readDLQ returns the number of records in the dead-letter queue topic
// (which the sink created with one partition) and the first of them.
func readDLQ(ctx context.Context, brokers []string, cfg *sarama.Config, topic string) (int64, *sarama.ConsumerMessage, error) {
	client, err := sarama.NewClient(brokers, cfg)
	if err != nil {
		return 0, nil, err
	}
	defer client.Close()
	oldest, err := client.GetOffset(topic, 0, sarama.OffsetOldest)
	if err != nil {
		return 0, nil, err
	}
	newest, err := client.GetOffset(topic, 0, sarama.OffsetNewest)
	if err != nil {
		return 0, nil, err
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return 0, nil, err
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(topic, 0, oldest)
	if err != nil {
		return 0, nil, err
	}
	defer pc.Close()
	select {
	case m := <-pc.Messages():
		return newest - oldest, m, nil
	case err := <-pc.Errors():
		return 0, nil, err
	case <-ctx.Done():
		return 0, nil, ctx.Err()
	}
}

// readOutput counts the lines of the output file and returns the first.
func readOutput(path string) (int, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	var n int
	var first string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if n++; n == 1 {
			first = sc.Text()
		}
	}
	return n, strings.TrimSpace(first), sc.Err()
}
