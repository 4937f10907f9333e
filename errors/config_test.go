package errors

import (
	"strings"
	"testing"
	"time"
)

// TestConfigFromPropertiesAllKeys reads every errors.* key.
func TestConfigFromPropertiesAllKeys(t *testing.T) {
	props := map[string]string{
		"errors.tolerance":                                 "all",
		"errors.retry.timeout":                             "30000",
		"errors.retry.delay.max.ms":                        "5000",
		"errors.log.enable":                                "true",
		"errors.log.include.messages":                      "true",
		"errors.deadletterqueue.topic.name":                "orders-dlq",
		"errors.deadletterqueue.topic.replication.factor":  "1",
		"errors.deadletterqueue.context.headers.enable":    "true",
		"errors.tolerance.window.size":                     "100",
		"errors.tolerance.window.max.failures":             "4",
		"connector.class":                                  "ignored",
		"errors.some.future.key":                           "ignored too",
		"topics":                                           "orders",
		"errors.deadletterqueue.topic.replication.factorx": "ignored",
	}
	got, err := ConfigFromProperties(props)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Tolerance:            ToleranceAll,
		RetryTimeout:         30 * time.Second,
		RetryDelayMax:        5 * time.Second,
		LogEnable:            true,
		LogIncludeMessages:   true,
		DLQTopic:             "orders-dlq",
		DLQReplicationFactor: 1,
		DLQContextHeaders:    true,
		WindowSize:           100,
		WindowMaxFailures:    4,
	}
	if got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

// TestConfigFromPropertiesValues checks each key's accepted spellings.
func TestConfigFromPropertiesValues(t *testing.T) {
	cases := []struct {
		key, val string
		check    func(Config) bool
	}{
		{"errors.tolerance", "none", func(c Config) bool { return c.Tolerance == ToleranceNone }},
		{"errors.tolerance", "", func(c Config) bool { return c.Tolerance == ToleranceNone }},
		{"errors.tolerance", " ALL ", func(c Config) bool { return c.Tolerance == ToleranceAll }},
		{"errors.retry.timeout", "0", func(c Config) bool { return c.RetryTimeout == 0 }},
		{"errors.retry.timeout", "-1", func(c Config) bool { return c.RetryTimeout == -time.Millisecond && c.RetryTimeout < 0 }},
		{"errors.retry.timeout", "6000", func(c Config) bool { return c.RetryTimeout == 6*time.Second }},
		{"errors.retry.timeout", "9223372036854", func(c Config) bool { return c.RetryTimeout == 9223372036854*time.Millisecond }},
		{"errors.retry.delay.max.ms", "60000", func(c Config) bool { return c.RetryDelayMax == time.Minute }},
		{"errors.retry.delay.max.ms", "1", func(c Config) bool { return c.RetryDelayMax == time.Millisecond }},
		{"errors.log.enable", "TRUE", func(c Config) bool { return c.LogEnable }},
		{"errors.log.enable", "false", func(c Config) bool { return !c.LogEnable }},
		{"errors.log.include.messages", "True", func(c Config) bool { return c.LogIncludeMessages }},
		{"errors.deadletterqueue.topic.name", "  dlq ", func(c Config) bool { return c.DLQTopic == "dlq" }},
		{"errors.deadletterqueue.topic.name", "", func(c Config) bool { return c.DLQTopic == "" }},
		{"errors.deadletterqueue.topic.replication.factor", "3", func(c Config) bool { return c.DLQReplicationFactor == 3 }},
		{"errors.deadletterqueue.topic.replication.factor", "-1", func(c Config) bool { return c.DLQReplicationFactor == -1 }},
		{"errors.deadletterqueue.topic.replication.factor", "32767", func(c Config) bool { return c.DLQReplicationFactor == 32767 }},
		{"errors.deadletterqueue.context.headers.enable", "true", func(c Config) bool { return c.DLQContextHeaders }},
		{"errors.tolerance.window.size", "0", func(c Config) bool { return c.WindowSize == 0 }},
		{"errors.tolerance.window.max.failures", "0", func(c Config) bool { return c.WindowMaxFailures == 0 }},
	}
	for _, c := range cases {
		got, err := ConfigFromProperties(map[string]string{c.key: c.val})
		if err != nil {
			t.Errorf("%s=%q: %v", c.key, c.val, err)
			continue
		}
		if !c.check(got) {
			t.Errorf("%s=%q: got %+v", c.key, c.val, got)
		}
	}
}

// TestConfigFromPropertiesBadValues: every invalid value is rejected with
// an error naming its key (and the value).
func TestConfigFromPropertiesBadValues(t *testing.T) {
	cases := []struct{ key, val string }{
		{"errors.tolerance", "some"},
		{"errors.tolerance", "1"},
		{"errors.retry.timeout", "-2"},
		{"errors.retry.timeout", "1.5"},
		{"errors.retry.timeout", "10s"},
		{"errors.retry.timeout", "99999999999999999999"},
		{"errors.retry.delay.max.ms", "-1"},
		{"errors.retry.delay.max.ms", "abc"},
		{"errors.log.enable", "yes"},
		{"errors.log.enable", "1"},
		{"errors.log.include.messages", "on"},
		{"errors.deadletterqueue.context.headers.enable", "enabled"},
		{"errors.deadletterqueue.topic.replication.factor", "0"},
		{"errors.deadletterqueue.topic.replication.factor", "-2"},
		{"errors.deadletterqueue.topic.replication.factor", "32768"},
		{"errors.deadletterqueue.topic.replication.factor", "three"},
		{"errors.tolerance.window.size", "-1"},
		{"errors.tolerance.window.size", "ten"},
		{"errors.tolerance.window.max.failures", "-3"},
	}
	for _, c := range cases {
		got, err := ConfigFromProperties(map[string]string{c.key: c.val})
		if err == nil {
			t.Errorf("%s=%q accepted: %+v", c.key, c.val, got)
			continue
		}
		if !strings.Contains(err.Error(), c.key) || !strings.Contains(err.Error(), c.val) {
			t.Errorf("%s=%q: error %q does not name the key and value", c.key, c.val, err)
		}
		if got != (Config{}) {
			t.Errorf("%s=%q: partial config %+v returned with the error", c.key, c.val, got)
		}
	}

	// Several bad keys are all reported.
	_, err := ConfigFromProperties(map[string]string{"errors.tolerance": "x", "errors.log.enable": "y", "errors.retry.timeout": "z"})
	for _, k := range []string{"errors.tolerance", "errors.log.enable", "errors.retry.timeout"} {
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("joined error %v does not name %s", err, k)
		}
	}
}

// TestConfigFromPropertiesWindow: window mode requires errors.tolerance=all
// and max.failures < size.
func TestConfigFromPropertiesWindow(t *testing.T) {
	_, err := ConfigFromProperties(map[string]string{"errors.tolerance.window.size": "100", "errors.tolerance.window.max.failures": "4"})
	if err == nil || !strings.Contains(err.Error(), "errors.tolerance.window.size") || !strings.Contains(err.Error(), "errors.tolerance=all") {
		t.Errorf("window without tolerance=all: %v", err)
	}
	_, err = ConfigFromProperties(map[string]string{"errors.tolerance": "none", "errors.tolerance.window.size": "10"})
	if err == nil {
		t.Error("window with tolerance=none accepted")
	}
	_, err = ConfigFromProperties(map[string]string{"errors.tolerance": "all", "errors.tolerance.window.size": "10", "errors.tolerance.window.max.failures": "10"})
	if err == nil || !strings.Contains(err.Error(), "errors.tolerance.window.max.failures") {
		t.Errorf("max.failures == size: %v", err)
	}
	c, err := ConfigFromProperties(map[string]string{"errors.tolerance": "all", "errors.tolerance.window.size": "10", "errors.tolerance.window.max.failures": "9"})
	if err != nil || c.WindowSize != 10 || c.WindowMaxFailures != 9 {
		t.Errorf("max.failures = size-1: %+v, %v", c, err)
	}
}

// TestConfigDefaults: no errors.* key is Kafka Connect's default
// (tolerance none, no retry, no log, no DLQ); the defaults the runtime
// fills in are a 60 s maximum retry delay and the DLQ replication factor 3.
func TestConfigDefaults(t *testing.T) {
	c, err := ConfigFromProperties(map[string]string{"name": "x"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Tolerance != ToleranceNone || c.RetryTimeout != 0 || c.LogEnable || c.LogIncludeMessages || c.DLQTopic != "" ||
		c.DLQContextHeaders || c.WindowSize != 0 || c.WindowMaxFailures != 0 {
		t.Errorf("defaults %+v", c)
	}
	if DefaultRetryDelayMax != time.Minute || DefaultDLQReplicationFactor != 3 {
		t.Error("exported defaults changed")
	}
}

// TestConfigValidate covers Validate's checks on a Config built in code.
func TestConfigValidate(t *testing.T) {
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("zero Config: %v", err)
	}
	cases := []struct {
		c   Config
		key string
	}{
		{Config{Tolerance: 2}, "errors.tolerance"},
		{Config{RetryDelayMax: -time.Second}, "errors.retry.delay.max.ms"},
		{Config{DLQReplicationFactor: -2}, "errors.deadletterqueue.topic.replication.factor"},
		{Config{Tolerance: ToleranceAll, WindowSize: -1}, "errors.tolerance.window.size"},
		{Config{Tolerance: ToleranceAll, WindowMaxFailures: -1}, "errors.tolerance.window.max.failures"},
		{Config{Tolerance: ToleranceAll, WindowSize: 5, WindowMaxFailures: 5}, "errors.tolerance.window.max.failures"},
		{Config{WindowSize: 5, WindowMaxFailures: 1}, "errors.tolerance=all"},
	}
	for _, tc := range cases {
		err := tc.c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%+v: %v, want an error naming %s", tc.c, err, tc.key)
		}
	}
	if ToleranceNone.String() != "none" || ToleranceAll.String() != "all" {
		t.Error("Tolerance.String")
	}
}
