package errors

import (
	"testing"
	"time"
)

// TestRestartPolicyValidate rejects negative settings.
func TestRestartPolicyValidate(t *testing.T) {
	if err := (RestartPolicy{MaxRestarts: 3, Window: time.Minute}).Validate(); err != nil {
		t.Error(err)
	}
	for _, p := range []RestartPolicy{{MaxRestarts: -1}, {Window: -1}, {InitialDelay: -1}, {MaxDelay: -1}} {
		if err := p.Validate(); err == nil {
			t.Errorf("%+v accepted", p)
		}
	}
}
