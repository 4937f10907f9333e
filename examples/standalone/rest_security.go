package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/sluicehq/sluice/connect/runner"
)

// REST API security: Kafka Connect's BasicAuthSecurityRestExtension, the
// only rest.extension.classes entry the worker knows.
const (
	keyRestExtensions = "rest.extension.classes"
	// keyJAASFile names the JAAS file in the worker file: Sluice's
	// alternative to -Djava.security.auth.login.config in KAFKA_OPTS.
	keyJAASFile = "sluice.rest.jaas.config.file"

	basicAuthExtension      = "org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension"
	propertyFileLoginModule = "org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule"
	// jaasEntry is the JAAS login entry the extension reads.
	jaasEntry = "KafkaConnect"
	// jaasProperty is the JVM system property naming the JAAS file.
	jaasProperty = "java.security.auth.login.config"
	// unauthorizedBody is Kafka Connect's 401 body (JaasBasicAuthFilter).
	unauthorizedBody = "User cannot access the resource."
)

// parseRestExtensions checks rest.extension.classes and reports whether it
// enables basic authentication. Any other class is an error naming it.
func parseRestExtensions(v string) (basicAuth bool, err error) {
	var unknown []string
	for c := range strings.SplitSeq(v, ",") {
		switch c = strings.TrimSpace(c); c {
		case "":
		case basicAuthExtension:
			basicAuth = true
		default:
			unknown = append(unknown, c)
		}
	}
	if len(unknown) > 0 {
		return false, fmt.Errorf("%s: %s: not supported (Sluice's worker knows only %s)", keyRestExtensions, strings.Join(unknown, ", "), basicAuthExtension)
	}
	return basicAuth, nil
}

// basicAuth is Kafka Connect's BasicAuthSecurityRestExtension: every REST
// request but Kafka Connect's internal ones (POST
// /connectors/{name}/tasks, PUT /connectors/{name}/fence) needs an
// Authorization: Basic header whose user and password are a line of the
// credentials file; others get Kafka Connect's 401 (the body "User cannot
// access the resource.", Content-Type application/json, no
// WWW-Authenticate header). Unlike Kafka Connect, a request for a path the
// API does not serve gets 401 too (not 404), and a malformed base64
// payload 401 (not 500). The credentials are read once, when the worker
// starts (Kafka Connect caches the file after its first read too), and
// compared in constant time. An empty credentials file lets every request
// through, as in Kafka Connect.
type basicAuth struct {
	// users maps a user to the SHA-256 of its password.
	users map[string][sha256.Size]byte
	log   *slog.Logger
}

// loadBasicAuth reads the JAAS file (sluice.rest.jaas.config.file, else
// -Djava.security.auth.login.config in the KAFKA_OPTS that getenv returns)
// and the credentials file its KafkaConnect entry names. Errors say which
// file and setting are at fault, never a password.
func loadBasicAuth(props map[string]string, getenv func(string) string, log *slog.Logger) (*basicAuth, error) {
	jaasPath, from := strings.TrimSpace(props[keyJAASFile]), keyJAASFile
	if jaasPath == "" {
		jaasPath, from = jaasFromKafkaOpts(getenv("KAFKA_OPTS")), "-D"+jaasProperty+" in KAFKA_OPTS"
	}
	if jaasPath == "" {
		return nil, fmt.Errorf("%s: %s needs a JAAS file with a %s entry: set %s in the worker file, or -D%s=<file> in the KAFKA_OPTS environment variable",
			keyRestExtensions, basicAuthExtension, jaasEntry, keyJAASFile, jaasProperty)
	}
	data, err := os.ReadFile(jaasPath)
	if err != nil {
		return nil, fmt.Errorf("%s (%s): %w", jaasPath, from, err)
	}
	credsPath, err := jaasCredentialsFile(string(data))
	if err != nil {
		return nil, fmt.Errorf("JAAS file %s (%s): %w", jaasPath, from, err)
	}
	creds, err := runner.ReadPropertiesFile(credsPath)
	if err != nil {
		return nil, fmt.Errorf("the credentials file of JAAS file %s: %w", jaasPath, err)
	}
	a := &basicAuth{users: make(map[string][sha256.Size]byte, len(creds)), log: log}
	for u, p := range creds {
		a.users[u] = sha256.Sum256([]byte(p))
	}
	if listeners, err := parseListeners(props); err == nil {
		warnCleartextListeners(listeners, log)
	}
	if len(creds) == 0 {
		log.Warn("the REST API's credentials file is empty: every request is let through without authentication (as Kafka Connect does)", "file", credsPath)
	} else {
		log.Info("REST API basic authentication on", "credentials", credsPath, "users", len(creds))
	}
	return a, nil
}

// warnCleartextListeners warns, once per listener, about each http://
// listener that is not bound to a loopback address: with basic
// authentication on, clients send passwords over it in clear (base64 is no
// encryption), readable by anyone on the network path. A host name other
// than localhost counts as not loopback.
func warnCleartextListeners(listeners []restListener, log *slog.Logger) {
	for _, l := range listeners {
		if l.scheme != "http" {
			continue
		}
		host, _, err := net.SplitHostPort(l.addr)
		if err != nil {
			host = l.addr
		}
		if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || strings.EqualFold(host, "localhost") {
			continue
		}
		log.Warn("REST API basic authentication on a plain http listener that is not on a loopback address: passwords cross the network in clear; use an https:// listener (listeners.https.ssl.*)",
			"listener", "http://"+l.addr)
	}
}

// jaasFromKafkaOpts returns the value of the last
// -Djava.security.auth.login.config in opts (split on white space, as the
// connect-*.sh scripts pass KAFKA_OPTS to the JVM), without the leading '='
// of the == (override) form and with a file: URL made a path; "" if absent.
func jaasFromKafkaOpts(opts string) string {
	var v string
	for _, f := range strings.Fields(opts) {
		if rest, ok := strings.CutPrefix(f, "-D"+jaasProperty+"="); ok {
			v = strings.TrimPrefix(rest, "=")
		}
	}
	if strings.HasPrefix(v, "file:") {
		if u, err := url.Parse(v); err == nil && u.Path != "" {
			return u.Path
		}
	}
	return v
}

// jaasCredentialsFile parses a JAAS configuration file (entries
// `Name { class flag key="value" …; … };`, with // and /* */ comments)
// and returns the file option of the KafkaConnect entry's
// PropertyFileLoginModule, its only module.
func jaasCredentialsFile(text string) (string, error) {
	toks, err := jaasTokens(text)
	if err != nil {
		return "", err
	}
	i := 0
	next := func() jaasToken {
		if i >= len(toks) {
			return jaasToken{}
		}
		i++
		return toks[i-1]
	}
	peek := func() jaasToken {
		if i >= len(toks) {
			return jaasToken{}
		}
		return toks[i]
	}
	type module struct {
		class string
		opts  map[string]string
	}
	entries := map[string][]module{}
	for i < len(toks) {
		name := next()
		if !name.word() {
			return "", fmt.Errorf("line %d: want a login entry name, got %s", name.line, name)
		}
		if t := next(); !t.is("{") {
			return "", fmt.Errorf("line %d: want '{' after %s, got %s", t.line, name.text, t)
		}
		var mods []module
		for !peek().is("}") {
			class, flag := next(), next()
			if !class.word() || !flag.word() {
				return "", fmt.Errorf("line %d: entry %s: want a login module class and a control flag, got %s %s", class.line, name.text, class, flag)
			}
			switch strings.ToLower(flag.text) {
			case "required", "requisite", "sufficient", "optional":
			default:
				return "", fmt.Errorf("line %d: entry %s: unknown control flag %q", flag.line, name.text, flag.text)
			}
			m := module{class: class.text, opts: map[string]string{}}
			for !peek().is(";") {
				k, eq, v := next(), next(), next()
				if !k.word() || !eq.is("=") || !(v.word() || v.quoted) {
					return "", fmt.Errorf("line %d: entry %s, module %s: want option=\"value\" or ';'", k.line, name.text, class.text)
				}
				m.opts[k.text] = v.text
			}
			next() // ;
			mods = append(mods, m)
		}
		next() // }
		if t := next(); !t.is(";") {
			return "", fmt.Errorf("line %d: want ';' after the '}' of entry %s, got %s", t.line, name.text, t)
		}
		entries[name.text] = mods
	}
	mods, ok := entries[jaasEntry]
	switch {
	case !ok:
		return "", fmt.Errorf("no %s entry (%s { %s required file=\"/path/credentials.properties\"; };)", jaasEntry, jaasEntry, propertyFileLoginModule)
	case len(mods) != 1:
		return "", fmt.Errorf("entry %s: want exactly one login module (%s), found %d", jaasEntry, propertyFileLoginModule, len(mods))
	case mods[0].class != propertyFileLoginModule:
		return "", fmt.Errorf("entry %s: login module %s is not supported (only %s)", jaasEntry, mods[0].class, propertyFileLoginModule)
	}
	file := strings.TrimSpace(mods[0].opts["file"])
	if file == "" {
		return "", fmt.Errorf("entry %s: %s needs the credentials file: file=\"/path/credentials.properties\"", jaasEntry, propertyFileLoginModule)
	}
	return file, nil
}

// jaasToken is a token of a JAAS file: a word, a quoted string or one of
// { } ; =. The zero value is the end of the file.
type jaasToken struct {
	text   string
	quoted bool
	punct  bool
	line   int
}

func (t jaasToken) is(p string) bool { return t.punct && t.text == p }
func (t jaasToken) word() bool       { return !t.punct && !t.quoted && t.text != "" }

func (t jaasToken) String() string {
	switch {
	case t.text == "" && !t.quoted:
		return "the end of the file"
	case t.quoted:
		return "a quoted string"
	}
	return fmt.Sprintf("%q", t.text)
}

// jaasTokens splits a JAAS file into tokens.
func jaasTokens(s string) ([]jaasToken, error) {
	var out []jaasToken
	line := 1
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case strings.HasPrefix(s[i:], "//"):
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case strings.HasPrefix(s[i:], "/*"):
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return nil, fmt.Errorf("line %d: unterminated /* comment", line)
			}
			line += strings.Count(s[i:i+2+end], "\n")
			i += end + 4
		case strings.IndexByte("{};=", c) >= 0:
			out = append(out, jaasToken{text: string(c), punct: true, line: line})
			i++
		case c == '"':
			var b strings.Builder
			start := line
			i++
			for {
				if i >= len(s) {
					return nil, fmt.Errorf("line %d: unterminated quoted string", start)
				}
				c := s[i]
				i++
				if c == '"' {
					break
				}
				if c == '\n' {
					line++
				}
				if c == '\\' && i < len(s) {
					c = s[i]
					i++
				}
				b.WriteByte(c)
			}
			out = append(out, jaasToken{text: b.String(), quoted: true, line: start})
		default:
			start := i
			for i < len(s) && strings.IndexByte(" \t\r\n{};=\"", s[i]) < 0 && !strings.HasPrefix(s[i:], "//") && !strings.HasPrefix(s[i:], "/*") {
				i++
			}
			out = append(out, jaasToken{text: s[start:i], line: line})
		}
	}
	return out, nil
}

// internalRequests are the requests Kafka Connect's JaasBasicAuthFilter lets
// through unauthenticated: those workers send each other (not served by the
// standalone worker). Basic authentication does not guard them, but Kafka
// Connect does not leave them open: in distributed mode the receiving
// worker checks the request's signature (the X-Connect-Authorization
// header: an HMAC of the body with the cluster's session key, under the
// algorithm X-Connect-Request-Signature-Algorithm names) and refuses an
// unsigned or badly signed one. A cluster mode that serves these routes must add that check
// before it serves them: exempted from basic authentication and unsigned,
// anyone reaching the listener could rewrite a connector's task
// configurations or fence its producers.
var internalRequests = []struct {
	method string
	path   *regexp.Regexp
}{
	{http.MethodPost, regexp.MustCompile(`^/?connectors/([^/]+)/tasks/?$`)},
	{http.MethodPut, regexp.MustCompile(`^/?connectors/[^/]+/fence/?$`)},
}

// wrap returns next behind basic authentication.
func (a *basicAuth) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if a.internal(req) || a.allowed(req.Header.Get("Authorization")) {
			next.ServeHTTP(w, req)
			return
		}
		a.log.Debug("REST request failed authentication", "method", req.Method, "path", req.URL.Path, "remote", req.RemoteAddr)
		// Kafka Connect's very response: a JSON content type on a text body.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, unauthorizedBody)
	})
}

// internal reports whether req is one of Kafka Connect's internal requests.
func (a *basicAuth) internal(req *http.Request) bool {
	for _, r := range internalRequests {
		if req.Method == r.method && r.path.MatchString(strings.TrimPrefix(req.URL.Path, "/")) {
			return true
		}
	}
	return false
}

// errBadCredentials is why a header is refused (never shown to clients).
var errBadCredentials = errors.New("malformed Authorization header")

// allowed reports whether the Authorization header value carries a user
// and password of the credentials file (or the file is empty).
func (a *basicAuth) allowed(header string) bool {
	if len(a.users) == 0 {
		return true
	}
	user, password, err := parseBasic(header)
	if err != nil {
		return false
	}
	want, known := a.users[user]
	if !known {
		// Compare anyway, so that an unknown user takes as long.
		want = [sha256.Size]byte{}
	}
	got := sha256.Sum256([]byte(password))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1 && known
}

// parseBasic splits an Authorization header as JaasBasicAuthFilter does:
// the scheme Basic (any case), a space, base64 of user:password, the user
// not empty.
func parseBasic(header string) (user, password string, err error) {
	scheme, payload, ok := strings.Cut(header, " ")
	if !ok || scheme == "" || !strings.EqualFold(scheme, "Basic") {
		return "", "", errBadCredentials
	}
	payload = strings.TrimSpace(payload)
	raw, err := base64.StdEncoding.DecodeString(payload)
	if err != nil {
		if raw, err = base64.RawStdEncoding.DecodeString(payload); err != nil {
			return "", "", errBadCredentials
		}
	}
	user, password, ok = strings.Cut(string(raw), ":")
	if !ok || user == "" {
		return "", "", errBadCredentials
	}
	return user, password, nil
}
