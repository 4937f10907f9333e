package connect_test

import (
	"testing"

	"github.com/sluicehq/sluice/connect"
)

type javaNamed struct{ class string }

func (j javaNamed) JavaClass() string { return j.class }

type plainComponent struct{}

func TestClassName(t *testing.T) {
	cases := []struct {
		v    any
		want string
	}{
		{nil, ""},
		{javaNamed{"org.apache.kafka.connect.json.JsonConverter"}, "org.apache.kafka.connect.json.JsonConverter"},
		{javaNamed{""}, "connect_test.javaNamed"},
		{&plainComponent{}, "*connect_test.plainComponent"},
	}
	for _, c := range cases {
		if got := connect.ClassName(c.v); got != c.want {
			t.Errorf("ClassName(%#v) = %q, want %q", c.v, got, c.want)
		}
	}
}
