package avro

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/riferrei/srclient"

	"github.com/sluicehq/sluice/connect"
)

// RegistryError is a failed Schema Registry request. The Avro converter
// returns it wrapped: in connect.Retriable when the registry could not be
// reached or answered 408, 429 or 5xx (the pipeline's retry policy then
// applies), in connect.Fatal when retrying cannot help (401, 403, and 409: a
// schema incompatible with the subject's compatibility setting). Errors about
// one record's data (an unknown schema id, a schema not registered under its
// subject) are *converters.DataError values instead.
type RegistryError struct {
	// Op is what was attempted: "register schema", "look up schema",
	// "get schema by id", "get latest version".
	Op string
	// Topic and Subject name the record's topic and the subject; ID is the
	// schema id when known (else 0).
	Topic, Subject string
	ID             int
	// URL is the registry URL tried last, without credentials.
	URL string
	// Status is the HTTP status, 0 when no response was received.
	Status int
	// Code and Message are the registry's error_code and message, if it sent
	// them.
	Code    int
	Message string
	// Err is the underlying error.
	Err error
}

// Error implements error, e.g. `schema registry http://sr:8081: register
// schema under subject "orders-value" (topic orders): HTTP 409 (error code
// 409): Schema being registered is incompatible with an earlier schema`.
func (e *RegistryError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "schema registry %s: %s", e.URL, e.Op)
	if e.Subject != "" {
		fmt.Fprintf(&b, " under subject %q", e.Subject)
	}
	if e.ID != 0 {
		fmt.Fprintf(&b, " id %d", e.ID)
	}
	if e.Topic != "" {
		fmt.Fprintf(&b, " (topic %s)", e.Topic)
	}
	switch {
	case e.Status != 0 && e.Code != 0:
		fmt.Fprintf(&b, ": HTTP %d (error code %d)", e.Status, e.Code)
	case e.Status != 0:
		fmt.Fprintf(&b, ": HTTP %d", e.Status)
	}
	switch {
	case e.Message != "":
		b.WriteString(": ")
		b.WriteString(e.Message)
	case e.Err != nil:
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *RegistryError) Unwrap() error { return e.Err }

// avroRegistry talks to a Schema Registry through srclient. srclient v0.7.4
// takes no context and knows one URL, so every call builds a lightweight
// client bound to the call's context (through a pre-request hook that
// attaches it to each request) and the URL being tried; the HTTP client is
// shared, with a transport wrapper that records the response status so that
// errors can be classified. On a connection failure the next URL is tried,
// as Confluent's client does.
type avroRegistry struct {
	urls    []registryURL
	hc      *http.Client
	bearer  string
	headers map[string]string
	// preferred is the index of the URL that answered last.
	preferred atomic.Int32
}

type registryURL struct {
	base       string // without credentials
	user, pass string
}

// regCall describes a request for error reporting.
type regCall struct {
	op, topic, subject string
	id                 int
}

// statusTransport records the status of the last response of one call.
type statusTransport struct {
	base   http.RoundTripper
	status *int
}

// RoundTrip implements http.RoundTripper.
func (t statusTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err == nil {
		*t.status = resp.StatusCode
	}
	return resp, err
}

func (r *avroRegistry) call(ctx context.Context, c regCall, fn func(*srclient.SchemaRegistryClient) error) error {
	n := len(r.urls)
	start := int(r.preferred.Load())
	var last *RegistryError
	for i := 0; i < n; i++ {
		idx := (start + i) % n
		u := r.urls[idx]
		status := 0
		hc := *r.hc
		base := hc.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		hc.Transport = statusTransport{base: base, status: &status}
		cl := srclient.NewSchemaRegistryClient(u.base,
			srclient.WithClient(&hc),
			srclient.WithPreReqFn(func(req *http.Request) error {
				status = 0
				*req = *req.WithContext(ctx)
				for k, v := range r.headers {
					req.Header.Set(k, v)
				}
				if u.user != "" {
					req.SetBasicAuth(u.user, u.pass)
				} else if r.bearer != "" {
					req.Header.Set("Authorization", "Bearer "+r.bearer)
				}
				return nil
			}))
		cl.CachingEnabled(false)
		err := fn(cl)
		if err == nil {
			if idx != start {
				r.preferred.Store(int32(idx))
			}
			return nil
		}
		re := &RegistryError{Op: c.op, Topic: c.topic, Subject: c.subject, ID: c.id, URL: u.base, Status: status, Err: err}
		var se srclient.Error
		if errors.As(err, &se) {
			re.Code, re.Message = se.Code, se.Message
		}
		if ctx.Err() != nil {
			re.Err = fmt.Errorf("%w (%v)", ctx.Err(), err)
			return connect.Retriable(re)
		}
		if status != 0 {
			return classifyRegistryError(re)
		}
		last = re // no response: try the next URL
	}
	return connect.Retriable(last)
}

// classifyRegistryError marks an error response retriable, fatal or as data.
func classifyRegistryError(re *RegistryError) error {
	switch s := re.Status; {
	case s == http.StatusRequestTimeout || s == http.StatusTooManyRequests || s >= 500:
		return connect.Retriable(re)
	case s == http.StatusUnauthorized || s == http.StatusForbidden || s == http.StatusConflict:
		return connect.Fatal(re)
	}
	return re
}

// isNotFound reports whether err is a registry 404 (subject, version or
// schema not found).
func isNotFound(err error) bool {
	var re *RegistryError
	return errors.As(err, &re) && re.Status == http.StatusNotFound
}

// schemaByID returns the schema text of id, with its type ("" for Avro)
// and whether it has references.
func (r *avroRegistry) schemaByID(ctx context.Context, topic string, id int) (text, schemaType string, refs bool, err error) {
	err = r.call(ctx, regCall{op: "get schema by id", topic: topic, id: id}, func(cl *srclient.SchemaRegistryClient) error {
		s, err := cl.GetSchema(id)
		if err != nil {
			return err
		}
		if t := s.SchemaType(); t != nil && *t != srclient.Avro {
			schemaType = string(*t)
		}
		refs = len(s.References()) > 0
		text = s.Schema()
		return nil
	})
	return text, schemaType, refs, err
}

func (r *avroRegistry) register(ctx context.Context, topic, subject, schema string) (int, error) {
	var id int
	err := r.call(ctx, regCall{op: "register schema", topic: topic, subject: subject}, func(cl *srclient.SchemaRegistryClient) error {
		s, err := cl.CreateSchema(subject, schema, srclient.Avro)
		if err != nil {
			return err
		}
		id = s.ID()
		return nil
	})
	return id, err
}

// lookup returns the id and version of schema under subject.
func (r *avroRegistry) lookup(ctx context.Context, topic, subject, schema string) (id, version int, err error) {
	err = r.call(ctx, regCall{op: "look up schema", topic: topic, subject: subject}, func(cl *srclient.SchemaRegistryClient) error {
		s, err := cl.LookupSchema(subject, schema, srclient.Avro)
		if err != nil {
			return err
		}
		id, version = s.ID(), s.Version()
		return nil
	})
	return id, version, err
}

// latest returns the latest version of subject.
func (r *avroRegistry) latest(ctx context.Context, topic, subject string) (id, version int, schema string, refs bool, err error) {
	err = r.call(ctx, regCall{op: "get latest version", topic: topic, subject: subject}, func(cl *srclient.SchemaRegistryClient) error {
		s, err := cl.GetLatestSchema(subject)
		if err != nil {
			return err
		}
		id, version, schema, refs = s.ID(), s.Version(), s.Schema(), len(s.References()) > 0
		return nil
	})
	return id, version, schema, refs, err
}

// newAvroRegistry builds the client from a validated config.
func newAvroRegistry(cfg *Config) (*avroRegistry, error) {
	r := &avroRegistry{hc: cfg.HTTPClient, headers: cfg.RequestHeaders, bearer: cfg.BearerAuthToken}
	if r.hc == nil {
		r.hc = &http.Client{Timeout: defaultRegistryTimeout}
	}
	userInfo := strings.EqualFold(cfg.BasicAuthCredentialsSource, CredentialsSourceUserInfo)
	for _, raw := range cfg.URLs {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil {
			return nil, err
		}
		ru := registryURL{}
		if u.User != nil {
			if !userInfo {
				ru.user = u.User.Username()
				ru.pass, _ = u.User.Password()
			}
			u.User = nil
		}
		if userInfo {
			ru.user, ru.pass, _ = strings.Cut(cfg.BasicAuthUserInfo, ":")
		}
		ru.base = strings.TrimRight(u.String(), "/")
		r.urls = append(r.urls, ru)
	}
	return r, nil
}

// flightGroup deduplicates concurrent cold-path work by key, so that one
// new schema causes one registry call however many goroutines meet it.
type flightGroup struct {
	mu sync.Mutex
	m  map[string]*flightCall
}

type flightCall struct {
	done chan struct{}
	val  any
	err  error
}

func (g *flightGroup) do(ctx context.Context, key string, fn func() (any, error)) (any, error) {
	g.mu.Lock()
	if g.m == nil {
		g.m = map[string]*flightCall{}
	}
	if c, ok := g.m[key]; ok {
		g.mu.Unlock()
		select {
		case <-c.done:
			return c.val, c.err
		case <-ctx.Done():
			return nil, connect.Retriable(ctx.Err())
		}
	}
	c := &flightCall{done: make(chan struct{})}
	g.m[key] = c
	g.mu.Unlock()
	c.val, c.err = fn()
	g.mu.Lock()
	delete(g.m, key)
	g.mu.Unlock()
	close(c.done)
	return c.val, c.err
}
