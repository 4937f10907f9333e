package kafkaconf

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

// oauthLoginModule is the JAAS login module of SASL/OAUTHBEARER.
const oauthLoginModule = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule"

// oauthCallbackHandlers are the sasl.login.callback.handler.class values
// that select Kafka's OIDC client credentials login (KIP-768).
var oauthCallbackHandlers = map[string]bool{
	"org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler":         true,
	"org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerLoginCallbackHandler": true,
}

// oauthRefreshFactor is Kafka's sasl.login.refresh.window.factor default:
// a token is fetched again once this share of its lifetime has passed.
const oauthRefreshFactor = 0.8

// oauthTokenSource fetches access tokens from an OAuth 2 token endpoint
// with the client credentials grant, as Kafka's
// OAuthBearerLoginCallbackHandler does, and reuses each token until
// oauthRefreshFactor of its lifetime has passed. It is safe for concurrent
// use; it starts no goroutine (a token is fetched when one is asked for).
type oauthTokenSource struct {
	endpoint, clientID, clientSecret, scope string
	client                                  *http.Client
	// name names the endpoint key in errors.
	name string

	mu        sync.Mutex
	token     string
	refreshAt time.Time
}

// Token implements sarama.AccessTokenProvider. Errors name the endpoint
// key and the HTTP status, never the credentials or the token.
func (s *oauthTokenSource) Token() (*sarama.AccessToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != "" && time.Now().Before(s.refreshAt) {
		return &sarama.AccessToken{Token: s.token}, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	if s.scope != "" {
		form.Set("scope", s.scope)
	}
	req, err := http.NewRequest(http.MethodPost, s.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.name, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// As Kafka's HttpAccessTokenRetriever: URL-encoded id and secret.
	req.SetBasicAuth(url.QueryEscape(s.clientID), url.QueryEscape(s.clientSecret))
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: token request: %w", s.name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: token request: %w", s.name, err)
	}
	var tr struct {
		AccessToken string      `json:"access_token"`
		ExpiresIn   json.Number `json:"expires_in"`
		Error       string      `json:"error"`
	}
	_ = json.Unmarshal(body, &tr)
	if resp.StatusCode != http.StatusOK {
		// The OAuth error code (invalid_client, …) holds no secret.
		err := fmt.Errorf("%s: token request refused: HTTP %d %s", s.name, resp.StatusCode, tr.Error)
		if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusRequestTimeout {
			// The credentials or the request are at fault: retrying
			// cannot help.
			return nil, &TokenRefusedError{err: err}
		}
		return nil, err
	}
	if tr.AccessToken == "" {
		return nil, fmt.Errorf("%s: the token response holds no access_token", s.name)
	}
	life := time.Hour
	if n, err := tr.ExpiresIn.Int64(); err == nil && n > 0 {
		life = time.Duration(n) * time.Second
	}
	s.token = tr.AccessToken
	s.refreshAt = start.Add(time.Duration(float64(life) * oauthRefreshFactor))
	return &sarama.AccessToken{Token: s.token}, nil
}

// oauthConfig reads the OAUTHBEARER keys: the token endpoint, the login
// timeouts and the callback handler class, and the JAAS options clientId,
// clientSecret and scope.
func oauthConfig(get func(string) (string, bool), name func(string) string, opts map[string]string) (*oauthTokenSource, error) {
	endpoint, _ := get("sasl.oauthbearer.token.endpoint.url")
	if endpoint == "" {
		return nil, fmt.Errorf("%s: required for OAUTHBEARER (the OAuth token endpoint; unsecured tokens are not supported)", name("sasl.oauthbearer.token.endpoint.url"))
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%s: want an http or https URL", name("sasl.oauthbearer.token.endpoint.url"))
	}
	if v, ok := get("sasl.login.callback.handler.class"); ok && v != "" && !oauthCallbackHandlers[v] {
		return nil, fmt.Errorf("%s: only org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler is supported, got %q", name("sasl.login.callback.handler.class"), v)
	}
	timeout := 20 * time.Second // Kafka's login connect + read timeouts, 10 s each
	var total time.Duration
	for _, k := range []string{"sasl.login.connect.timeout.ms", "sasl.login.read.timeout.ms"} {
		d := 10 * time.Second
		if v, ok := get(k); ok {
			if d, err = ParseMillis(name(k), v); err != nil {
				return nil, err
			}
		}
		total += d
	}
	if total > 0 {
		timeout = total
	}
	for k := range opts {
		switch k {
		case "clientId", "clientSecret", "scope":
		default:
			return nil, fmt.Errorf("%s: option %s is not supported (only clientId, clientSecret and scope)", name("sasl.jaas.config"), k)
		}
	}
	if opts["clientId"] == "" || opts["clientSecret"] == "" {
		return nil, fmt.Errorf("%s: clientId and clientSecret are required", name("sasl.jaas.config"))
	}
	return &oauthTokenSource{
		endpoint: endpoint, clientID: opts["clientId"], clientSecret: opts["clientSecret"], scope: opts["scope"],
		client: &http.Client{Timeout: timeout}, name: name("sasl.oauthbearer.token.endpoint.url"),
	}, nil
}

// TokenRefusedError is returned by the OAUTHBEARER token source when the
// token endpoint refuses the client credentials request (an HTTP 4xx other
// than 408 and 429): the credentials or the request are wrong, so retrying
// cannot help (see SecurityFailure).
type TokenRefusedError struct{ err error }

// Error says that authentication failed and why, naming the endpoint key.
func (e *TokenRefusedError) Error() string { return "authentication failed: " + e.err.Error() }

// Unwrap returns the underlying error.
func (e *TokenRefusedError) Unwrap() error { return e.err }
