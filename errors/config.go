package errors

import (
	stderrors "errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/kafkaconf"
)

// Tolerance says what happens to a record whose processing failed once
// retries are exhausted (errors.tolerance).
type Tolerance uint8

// Tolerances.
const (
	// ToleranceNone fails the task at the first failed record (Kafka
	// Connect's default).
	ToleranceNone Tolerance = iota
	// ToleranceAll skips failed records after reporting them.
	ToleranceAll
)

// String returns the property value: "none" or "all".
func (t Tolerance) String() string {
	if t == ToleranceAll {
		return "all"
	}
	return "none"
}

// Defaults, as Kafka Connect's.
const (
	DefaultRetryDelayMax        = 60 * time.Second
	DefaultDLQReplicationFactor = 3
)

// Config is the errors.* configuration of a pipeline. The zero value is Kafka
// Connect's default: errors.tolerance=none, no retries of record stages, no
// logging, no dead-letter queue.
type Config struct {
	// Tolerance is errors.tolerance.
	Tolerance Tolerance
	// RetryTimeout is errors.retry.timeout: how long a failed operation on a
	// record (conversion, transformation, per-record put failure) is retried;
	// 0 means no retry and a negative value without limit. Task-level
	// operations that Kafka Connect retries without limit (Poll, a whole
	// Put, offset commits) follow the same schedule but are retried without
	// limit when RetryTimeout is 0.
	RetryTimeout time.Duration
	// RetryDelayMax is errors.retry.delay.max.ms (default 60 s).
	RetryDelayMax time.Duration
	// LogEnable is errors.log.enable: one log line per failed record.
	LogEnable bool
	// LogIncludeMessages is errors.log.include.messages: include record
	// contents in those lines.
	LogIncludeMessages bool
	// DLQTopic is errors.deadletterqueue.topic.name; empty disables the
	// dead-letter queue.
	DLQTopic string
	// DLQReplicationFactor is errors.deadletterqueue.topic.replication.factor
	// (default 3, lowered to the cluster size with a warning).
	DLQReplicationFactor int16
	// DLQContextHeaders is errors.deadletterqueue.context.headers.enable.
	DLQContextHeaders bool
	// WindowSize and WindowMaxFailures configure Sluice's window mode (an
	// extension of errors.tolerance=all): the task fails when more than
	// WindowMaxFailures of the last WindowSize records failed. Zero
	// WindowSize disables it. Property keys: errors.tolerance.window.size,
	// errors.tolerance.window.max.failures.
	WindowSize        int
	WindowMaxFailures int
}

func (c *Config) setDefaults() {
	if c.RetryDelayMax == 0 {
		c.RetryDelayMax = DefaultRetryDelayMax
	}
	if c.DLQReplicationFactor == 0 {
		c.DLQReplicationFactor = DefaultDLQReplicationFactor
	}
}

// Validate reports invalid settings by their property names.
func (c Config) Validate() error {
	var errs []error
	if c.Tolerance > ToleranceAll {
		errs = append(errs, fmt.Errorf("errors.tolerance: want none or all, got %d", c.Tolerance))
	}
	if c.RetryDelayMax < 0 {
		errs = append(errs, fmt.Errorf("errors.retry.delay.max.ms: must be >= 0, got %s", c.RetryDelayMax))
	}
	if c.DLQReplicationFactor < -1 {
		errs = append(errs, fmt.Errorf("errors.deadletterqueue.topic.replication.factor: must be >= 1 or -1, got %d", c.DLQReplicationFactor))
	}
	if c.WindowSize < 0 || c.WindowMaxFailures < 0 {
		errs = append(errs, stderrors.New("errors.tolerance.window.size and errors.tolerance.window.max.failures must be >= 0"))
	}
	if c.WindowSize > 0 && c.WindowMaxFailures >= c.WindowSize {
		errs = append(errs, fmt.Errorf("errors.tolerance.window.max.failures: must be smaller than errors.tolerance.window.size (%d), got %d", c.WindowSize, c.WindowMaxFailures))
	}
	if c.WindowSize > 0 && c.Tolerance != ToleranceAll {
		errs = append(errs, stderrors.New("errors.tolerance.window.size: window mode needs errors.tolerance=all"))
	}
	return stderrors.Join(errs...)
}

// ConfigFromProperties reads the errors.* keys of a connector configuration
// (other keys are ignored). Errors name the key.
func ConfigFromProperties(props map[string]string) (Config, error) {
	var c Config
	var errs []error
	get := func(k string) (string, bool) {
		v, ok := props[k]
		return strings.TrimSpace(v), ok
	}
	if v, ok := get("errors.tolerance"); ok {
		switch strings.ToLower(v) {
		case "none", "":
			c.Tolerance = ToleranceNone
		case "all":
			c.Tolerance = ToleranceAll
		default:
			errs = append(errs, fmt.Errorf("errors.tolerance: want none or all, got %q", v))
		}
	}
	ms := func(k string, dst *time.Duration, allowNeg bool) {
		v, ok := get(k)
		if !ok {
			return
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || (n < 0 && !(allowNeg && n == -1)) {
			want := ">= 0"
			if allowNeg {
				want = ">= 0 or -1"
			}
			errs = append(errs, fmt.Errorf("%s: want milliseconds %s, got %q", k, want, v))
			return
		}
		if n > math.MaxInt64/int64(time.Millisecond) {
			n = math.MaxInt64 / int64(time.Millisecond) // Java's Long.MAX_VALUE ms: forever, in effect
		}
		*dst = time.Duration(n) * time.Millisecond
	}
	ms("errors.retry.timeout", &c.RetryTimeout, true)
	ms("errors.retry.delay.max.ms", &c.RetryDelayMax, false)
	boolean := func(k string, dst *bool) {
		v, ok := get(k)
		if !ok {
			return
		}
		b, err := kafkaconf.ParseBool(k, v)
		if err != nil {
			errs = append(errs, err)
			return
		}
		*dst = b
	}
	boolean("errors.log.enable", &c.LogEnable)
	boolean("errors.log.include.messages", &c.LogIncludeMessages)
	boolean("errors.deadletterqueue.context.headers.enable", &c.DLQContextHeaders)
	c.DLQTopic, _ = get("errors.deadletterqueue.topic.name")
	integer := func(k string, set func(int64) error) {
		v, ok := get(k)
		if !ok {
			return
		}
		n, err := strconv.ParseInt(v, 10, 32)
		if err == nil {
			err = set(n)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %v (got %q)", k, err, v))
		}
	}
	integer("errors.deadletterqueue.topic.replication.factor", func(n int64) error {
		if n == 0 || n < -1 || n > 32767 {
			return stderrors.New("want >= 1 or -1")
		}
		c.DLQReplicationFactor = int16(n)
		return nil
	})
	integer("errors.tolerance.window.size", func(n int64) error {
		if n < 0 {
			return stderrors.New("want >= 0")
		}
		c.WindowSize = int(n)
		return nil
	})
	integer("errors.tolerance.window.max.failures", func(n int64) error {
		if n < 0 {
			return stderrors.New("want >= 0")
		}
		c.WindowMaxFailures = int(n)
		return nil
	})
	if err := stderrors.Join(errs...); err != nil {
		return Config{}, err
	}
	cc := c
	cc.setDefaults()
	if err := cc.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}
