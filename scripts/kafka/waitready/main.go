// Command waitready waits until a Kafka broker answers metadata requests
// through sarama, the client sluice uses, and prints what it found.
//
// scripts/kafka/start.sh runs it after the broker's port opens, because an
// open port alone does not mean the KRaft controller has elected itself and
// the broker has registered and been unfenced.
//
// Usage:
//
//	go run ./scripts/kafka/waitready [-bootstrap 127.0.0.1:9092] [-timeout 120s] [-pid PID]
//
// It exits 0 once a metadata request lists at least one broker and a
// controller, 1 when the timeout expires or the process -pid names has
// exited (the broker died while starting), and 2 on bad flags.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/internal/kafkaconf"
)

func main() {
	bootstrap := flag.String("bootstrap", "127.0.0.1:9092", "comma-separated broker addresses")
	timeout := flag.Duration("timeout", 120*time.Second, "how long to wait for the broker")
	pid := flag.Int("pid", 0, "if set, give up as soon as this process (the broker) has exited")
	flag.Parse()

	addrs := kafkaconf.ParseBootstrap(*bootstrap)
	if len(addrs) == 0 {
		fmt.Fprintln(os.Stderr, "waitready: -bootstrap names no address")
		os.Exit(2)
	}

	deadline := time.Now().Add(*timeout)
	var lastErr error
	for {
		if *pid > 0 && !alive(*pid) {
			fmt.Fprintf(os.Stderr, "waitready: broker process %d exited (last error: %v)\n", *pid, lastErr)
			os.Exit(1)
		}
		info, err := probe(addrs)
		if err == nil {
			fmt.Println(info)
			return
		}
		lastErr = err
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "waitready: broker %v not ready after %v: %v\n", addrs, *timeout, err)
			os.Exit(1)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// alive reports whether process pid exists.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// probe connects once, fetches metadata and describes the cluster.
func probe(addrs []string) (string, error) {
	cfg := kafkaconf.NewSaramaConfig("sluice-waitready")
	cfg.Net.DialTimeout = 2 * time.Second
	cfg.Net.ReadTimeout = 5 * time.Second
	cfg.Net.WriteTimeout = 5 * time.Second
	cfg.Metadata.Retry.Max = 0
	cfg.Metadata.AllowAutoTopicCreation = false

	client, err := sarama.NewClient(addrs, cfg)
	if err != nil {
		return "", err
	}
	defer client.Close()
	if err := client.RefreshMetadata(); err != nil {
		return "", err
	}
	brokers := client.Brokers()
	if len(brokers) == 0 {
		return "", errors.New("metadata lists no broker")
	}
	controller, err := client.Controller()
	if err != nil {
		return "", fmt.Errorf("no controller yet: %w", err)
	}
	resp, err := controller.ApiVersions(&sarama.ApiVersionsRequest{
		Version:               3,
		ClientSoftwareName:    "sluice-waitready",
		ClientSoftwareVersion: "0",
	})
	if err != nil {
		return "", fmt.Errorf("ApiVersions: %w", err)
	}
	apis := len(resp.ApiKeys)
	return fmt.Sprintf("broker ready: %d broker(s), controller #%d at %s, %d APIs supported",
		len(brokers), controller.ID(), controller.Addr(), apis), nil
}
