// Command conformance runs Sluice's differential tester against Kafka
// Connect's own classes: random converter and SMT cases through both, and
// prints the counts per area and class and every unexplained divergence,
// minimised, as corpus lines.
//
//	go run ./internal/conformance/cmd/conformance                 # fresh seed, 20 000 cases per area
//	go run ./internal/conformance/cmd/conformance -seed 42 -cases 2000
//	go run ./internal/conformance/cmd/conformance -classes Cast,Flatten -areas smts
//	go run ./internal/conformance/cmd/conformance -append         # add the divergences to testdata/corpus.jsonl
//
// It needs Java 17 and Kafka Connect's jars (fetched with Maven into
// bench/kafka-connect/lib when missing). The exit status is 1 when a
// divergence is unexplained.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/conformance"
)

func main() { os.Exit(run()) }

// fillExpect sets the corpus entries' missing expected verdicts.
func fillExpect() int {
	path := conformance.CorpusPath()
	entries, err := conformance.LoadCorpus(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	diverging := conformance.FillExpect(context.Background(), entries)
	if err := conformance.WriteCorpus(path, entries); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	for _, id := range diverging {
		fmt.Printf("%s diverges: no expected verdict recorded\n", id)
	}
	if len(diverging) > 0 {
		return 1
	}
	return 0
}

func run() int {
	seed := flag.Uint64("seed", 0, "seed (0: a fresh one, printed)")
	cases := flag.Int("cases", 20000, "cases per area")
	areas := flag.String("areas", "converters,smts", "comma-separated areas: converters, smts")
	minimize := flag.Bool("minimize", true, "minimise divergences")
	maxMin := flag.Int("max-minimize", 100, "minimise at most this many divergences")
	appendCorpus := flag.Bool("append", false, "append the divergences to testdata/corpus.jsonl")
	out := flag.String("out", "", "write the divergences as corpus lines to this file")
	quiet := flag.Bool("q", false, "do not print each divergence")
	classes := flag.String("classes", "", "comma-separated class filter (short names, substrings: Cast,JsonConverter)")
	rules := flag.Bool("rules", false, "print the explained differences as Markdown table rows and exit")
	fill := flag.Bool("fill-expect", false, "record today's verdict as the expected one for corpus entries without one, and exit")
	flag.Parse()
	if *fill {
		return fillExpect()
	}
	if *rules {
		for _, r := range conformance.Rules() {
			fmt.Printf("| `%s` | %s |\n", r.ID, r.Reason)
		}
		return 0
	}

	if *seed == 0 {
		*seed = uint64(time.Now().UnixNano())
	}
	fmt.Printf("seed %d (rerun with -seed %d)\n", *seed, *seed)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	h, err := conformance.StartHarness(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer func() {
		if err := h.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()

	cfg := conformance.RunConfig{Seed: *seed, Cases: *cases, Minimize: *minimize, MaxMinimize: *maxMin, Log: os.Stderr}
	if *classes != "" {
		cfg.Classes = strings.Split(*classes, ",")
	}
	for _, a := range strings.Split(*areas, ",") {
		cfg.Areas = append(cfg.Areas, conformance.Area(strings.TrimSpace(a)))
	}
	rep, err := conformance.Run(ctx, h, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	rep.Summary(os.Stdout)

	var log io.Writer = os.Stdout
	if *quiet {
		log = nil
	}
	path := *out
	if *appendCorpus {
		path = conformance.CorpusPath()
	}
	var corpus *os.File
	if path != "" {
		flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
		if *appendCorpus {
			flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
		}
		if corpus, err = os.OpenFile(path, flags, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		defer corpus.Close()
	}
	var w io.Writer
	if corpus != nil {
		w = corpus
	}
	if err := rep.WriteDivergences(w, log); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Printf("\n%d unexplained divergences (seed %d)\n", len(rep.Divergences), *seed)
	if len(rep.Divergences) > 0 {
		return 1
	}
	return 0
}
