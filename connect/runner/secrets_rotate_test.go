package runner_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/configprovider"
	"github.com/sluicehq/sluice/connect/runner"
)

// closingPipe is a fake pipeline that, when its Run ends, logs through the
// logger its builder got an error quoting (%q) the password it was built
// with, as a pipeline closing its connections does.
type closingPipe struct {
	*fakePipe
	log *slog.Logger
}

func (p *closingPipe) Run(ctx context.Context) error {
	err := p.fakePipe.Run(ctx)
	pw := p.config["connection.password"]
	p.log.Warn("closing the connection", "error", fmt.Errorf("log out as %q: %w", pw, errors.New("broken pipe")))
	return err
}

// TestRotatedSecretStaysMasked: after a configuration update replaces a
// password, the old incarnation's lines logged while it shuts down (after
// the update) still have the old password masked, as has the new one.
func TestRotatedSecretStaysMasked(t *testing.T) {
	const oldPW, newPW = "old-pw-\"1357\"", "new-pw-2468"
	var logs syncBuffer
	e := newEnv(t, runner.Config{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	const class = "com.example.ClosingConnector"
	if err := e.r.Register(connect.Plugin{
		Class: class, Type: connect.TypeSource,
		New: func(ctx context.Context, _, c map[string]string) (connect.Pipeline, error) {
			p, err := e.f.build(c["name"], connect.TypeSource, c)
			if err != nil {
				return nil, err
			}
			return &closingPipe{fakePipe: p.(*fakePipe), log: connect.ContextLogger(ctx)}, nil
		},
	}); err != nil {
		t.Fatal(err)
	}
	e.start()
	config := map[string]string{"connector.class": class, "connection.password": oldPW}
	if err := e.r.CreateConnector("rotating", config, ""); err != nil {
		t.Fatal(err)
	}
	e.waitState("rotating", connect.StateRunning, 1)
	config["connection.password"] = newPW
	if _, err := e.r.PutConnectorConfig("rotating", config); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the old incarnation's closing line", func() bool { return strings.Contains(logs.String(), "closing the connection") })
	e.waitState("rotating", connect.StateRunning, 1)
	out := logs.String()
	for _, s := range []string{"old-pw-", "1357", newPW} {
		if strings.Contains(out, s) {
			t.Errorf("the logs show %q:\n%s", s, out)
		}
	}
	if !strings.Contains(out, `log out as \"[hidden]\"`) {
		t.Errorf("the closing line lacks the masked password:\n%s", out)
	}
}

// TestReferenceToUnknownProviderMasked: a password value that looks like a
// reference to a provider the Runner does not have is passed on literally
// (as Kafka does), so it is a clear secret: masked in REST responses and
// errors (TestSecretsMaskedInRESTResponses shows a reference to a
// configured provider as written).
func TestReferenceToUnknownProviderMasked(t *testing.T) {
	const unknown = "${vault:secret/db:pw}"
	e := newEnv(t, runner.Config{Worker: map[string]string{
		"config.providers":            "file",
		"config.providers.file.class": configprovider.FileClass,
	}})
	e.start()
	config := map[string]string{
		"connector.class":     fakeSourceClass,
		"connection.password": unknown,
		"fake.fail":           "login with " + unknown + " refused",
	}
	if err := e.r.CreateConnector("unknown-ref", config, ""); err != nil {
		t.Fatal(err)
	}
	rep := e.waitState("unknown-ref", connect.StateFailed, 1)
	if rep.Err == nil || strings.Contains(rep.Err.Error(), unknown) || !strings.Contains(rep.Err.Error(), "[hidden]") {
		t.Errorf("report error %v: want the literal value masked", rep.Err)
	}
	w := do(e.r.Handler(), "GET", "/connectors/unknown-ref/config", "")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"connection.password":"[hidden]"`) {
		t.Errorf("GET config: %d %s: want the literal value hidden", w.Code, w.Body)
	}
}
