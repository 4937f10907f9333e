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

func main() {
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
	flag.Parse()
	if *rules {
		for _, r := range conformance.Rules() {
			fmt.Printf("| `%s` | %s |\n", r.ID, r.Reason)
		}
		return
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
		os.Exit(2)
	}
	defer h.Close()

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
		os.Exit(2)
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
			os.Exit(2)
		}
		defer corpus.Close()
	}
	var w io.Writer
	if corpus != nil {
		w = corpus
	}
	if err := rep.WriteDivergences(w, log); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Printf("\n%d unexplained divergences (seed %d)\n", len(rep.Divergences), *seed)
	if len(rep.Divergences) > 0 {
		os.Exit(1)
	}
}
