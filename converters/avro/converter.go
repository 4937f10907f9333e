package avro

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/converters"
	"github.com/sluicehq/sluice/internal/boundedmap"
)

// Class is the Kafka Connect class name of Confluent's Avro converter,
// which Register registers.
const Class = "io.confluent.connect.avro.AvroConverter"

// Avro converter property names, as Confluent's AvroConverter (and its
// AbstractKafkaSchemaSerDeConfig) spells them. schemas.cache.size is
// converters.PropSchemasCacheSize.
const (
	PropSchemaRegistryURL          = "schema.registry.url"
	PropBasicAuthCredentialsSource = "basic.auth.credentials.source"
	PropBasicAuthUserInfo          = "basic.auth.user.info"
	// PropSchemaRegistryUserInfo is the deprecated spelling of
	// basic.auth.user.info; it wins when both are set, as in Confluent.
	PropSchemaRegistryUserInfo      = "schema.registry.basic.auth.user.info"
	PropBearerAuthCredentialsSource = "bearer.auth.credentials.source"
	PropBearerAuthToken             = "bearer.auth.token"
	PropAutoRegisterSchemas         = "auto.register.schemas"
	PropUseLatestVersion            = "use.latest.version"
	PropLatestCacheTTLSec           = "latest.cache.ttl.sec"
	PropKeySubjectNameStrategy      = "key.subject.name.strategy"
	PropValueSubjectNameStrategy    = "value.subject.name.strategy"
	// PropRequestHeaderPrefix prefixes HTTP headers sent with every
	// registry request: request.header.X-Tenant=acme.
	PropRequestHeaderPrefix = "request.header."
	// PropReaderSchema is a Sluice extension (Confluent has no such
	// converter property): an Avro schema, as JSON, that every record is
	// read as (see Config.ReaderSchema).
	PropReaderSchema = "reader.schema"
)

// Values of basic.auth.credentials.source.
const (
	// CredentialsSourceURL takes the user and password from each registry
	// URL (http://user:password@host:8081), the default.
	CredentialsSourceURL = "URL"
	// CredentialsSourceUserInfo takes them from basic.auth.user.info.
	CredentialsSourceUserInfo = "USER_INFO"
)

const defaultRegistryTimeout = 30 * time.Second

// SubjectNameStrategy chooses the Schema Registry subject of a record's key
// or value schema ({key,value}.subject.name.strategy).
type SubjectNameStrategy string

// Subject name strategies. Properties accept these short names and
// Confluent's class names (io.confluent.kafka.serializers.subject.
// TopicNameStrategy, …).
const (
	// TopicNameStrategy uses <topic>-key or <topic>-value, the default.
	TopicNameStrategy SubjectNameStrategy = "TopicNameStrategy"
	// RecordNameStrategy uses the fully-qualified record name, so a topic
	// may hold several record types; the schema must be a record.
	RecordNameStrategy SubjectNameStrategy = "RecordNameStrategy"
	// TopicRecordNameStrategy uses <topic>-<fully.qualified.RecordName>.
	TopicRecordNameStrategy SubjectNameStrategy = "TopicRecordNameStrategy"
)

const strategyPackage = "io.confluent.kafka.serializers.subject."

// normalize returns the short name of a strategy given by short or class
// name ("" is TopicNameStrategy).
func (s SubjectNameStrategy) normalize() (SubjectNameStrategy, bool) {
	n := strings.TrimPrefix(strings.TrimSpace(string(s)), strategyPackage)
	for _, k := range []SubjectNameStrategy{TopicNameStrategy, RecordNameStrategy, TopicRecordNameStrategy} {
		if strings.EqualFold(n, string(k)) {
			return k, true
		}
	}
	return s, n == ""
}

// Config configures the Avro converter. Its zero value (plus URLs) means
// Confluent's defaults: auto.register.schemas=true, use.latest.version=false,
// TopicNameStrategy, basic.auth.credentials.source=URL,
// schemas.cache.size=1000, latest.cache.ttl.sec=-1 — which is why
// auto-registration is phrased negatively (AutoRegisterDisabled).
type Config struct {
	// URLs are the Schema Registry base URLs (schema.registry.url, comma
	// separated in properties). Requests go to the URL that answered last;
	// on a connection failure the next one is tried.
	URLs []string
	// BasicAuthCredentialsSource is basic.auth.credentials.source: "" or
	// CredentialsSourceURL (credentials in the URLs), or
	// CredentialsSourceUserInfo (BasicAuthUserInfo). Confluent's
	// SASL_INHERIT is not supported.
	BasicAuthCredentialsSource string
	// BasicAuthUserInfo is basic.auth.user.info, "user:password".
	BasicAuthUserInfo string
	// BearerAuthToken is bearer.auth.token (with
	// bearer.auth.credentials.source=STATIC_TOKEN), sent as
	// "Authorization: Bearer <token>" when no basic credentials apply.
	BearerAuthToken string
	// RequestHeaders are sent with every registry request
	// (request.header.<name>=<value>).
	RequestHeaders map[string]string
	// AutoRegisterDisabled is auto.register.schemas=false: writing looks the
	// schema up under its subject (or, with UseLatestVersion, uses the
	// subject's latest schema) instead of registering it.
	AutoRegisterDisabled bool
	// UseLatestVersion is use.latest.version. Writing (when
	// auto-registration is disabled, as in Confluent) encodes records with
	// the subject's latest registered schema, fields matched by name and
	// missing ones given their Avro default; reading resolves every record
	// to the subject's latest schema.
	UseLatestVersion bool
	// LatestCacheTTL is latest.cache.ttl.sec: how long the latest version of
	// a subject is cached; 0 means forever (Confluent's -1).
	LatestCacheTTL time.Duration
	// SubjectNameStrategy is key.subject.name.strategy or
	// value.subject.name.strategy, whichever applies; "" means
	// TopicNameStrategy.
	SubjectNameStrategy SubjectNameStrategy
	// ReaderSchema, when set, is an Avro schema (JSON) every record is read
	// as, resolving each record's writer schema to it (fields added with a
	// default are filled in, removed fields dropped). It takes precedence
	// over UseLatestVersion for reading.
	ReaderSchema string
	// SchemasCacheSize bounds each of the converter's schema caches
	// (schemas.cache.size); 0 means converters.DefaultSchemasCacheSize.
	SchemasCacheSize int
	// HTTPClient makes the registry requests (TLS settings, proxies,
	// timeouts); nil means a client with a 30 s timeout. Requests also
	// honour the context passed to FromConnect/ToConnect.
	HTTPClient *http.Client
}

// Validate reports the first invalid field as a *converters.ConfigError naming the
// Kafka Connect property.
func (c Config) Validate() error {
	if len(c.URLs) == 0 {
		return &converters.ConfigError{Key: PropSchemaRegistryURL, Reason: "want one or more Schema Registry URLs"}
	}
	for _, raw := range c.URLs {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return &converters.ConfigError{Key: PropSchemaRegistryURL, Value: redactURL(raw), Reason: "want http:// or https:// URLs"}
		}
	}
	switch strings.ToUpper(strings.TrimSpace(c.BasicAuthCredentialsSource)) {
	case "", CredentialsSourceURL:
	case CredentialsSourceUserInfo:
		if !strings.Contains(c.BasicAuthUserInfo, ":") {
			return &converters.ConfigError{Key: PropBasicAuthUserInfo, Value: "<hidden>", Reason: "want user:password with basic.auth.credentials.source=USER_INFO"}
		}
	default:
		return &converters.ConfigError{Key: PropBasicAuthCredentialsSource, Value: c.BasicAuthCredentialsSource, Reason: "want URL or USER_INFO (SASL_INHERIT is not supported)"}
	}
	if _, ok := c.SubjectNameStrategy.normalize(); !ok {
		return &converters.ConfigError{Key: PropValueSubjectNameStrategy, Value: string(c.SubjectNameStrategy), Reason: "want TopicNameStrategy, RecordNameStrategy or TopicRecordNameStrategy"}
	}
	if c.SchemasCacheSize < 0 {
		return &converters.ConfigError{Key: converters.PropSchemasCacheSize, Value: strconv.Itoa(c.SchemasCacheSize), Reason: "want a positive integer (or 0 for the default)"}
	}
	if c.LatestCacheTTL < 0 {
		return &converters.ConfigError{Key: PropLatestCacheTTLSec, Value: c.LatestCacheTTL.String(), Reason: "want a positive duration (or 0 for no expiry)"}
	}
	if c.ReaderSchema != "" {
		if _, _, err := parseReaderSchema(c.ReaderSchema); err != nil {
			return &converters.ConfigError{Key: PropReaderSchema, Value: c.ReaderSchema, Reason: "want a valid Avro schema that maps to Connect (" + err.Error() + ")"}
		}
	}
	return nil
}

func parseReaderSchema(text string) (*avroSchema, *connect.Schema, error) {
	a, err := parseAvroSchema(text)
	if err != nil {
		return nil, nil, err
	}
	s, err := connectFromAvro(a, 0)
	if err != nil {
		return nil, nil, err
	}
	return a, s, nil
}

func redactURL(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return raw
	}
	return u.Redacted()
}

// ConfigFromProps reads the Confluent properties of an AvroConverter
// (without the key.converter./value.converter. prefix): schema.registry.url,
// basic.auth.credentials.source, basic.auth.user.info (or the deprecated
// schema.registry.basic.auth.user.info), bearer.auth.credentials.source and
// bearer.auth.token, auto.register.schemas, use.latest.version,
// latest.cache.ttl.sec, key.subject.name.strategy or
// value.subject.name.strategy (by isKey), schemas.cache.size, request.header.*
// and Sluice's reader.schema. Missing properties take Confluent's defaults;
// unknown ones are ignored. A bad value yields a *converters.ConfigError naming the
// property.
func ConfigFromProps(props map[string]string, isKey bool) (Config, error) {
	var c Config
	raw, ok := props[PropSchemaRegistryURL]
	if !ok {
		return c, &converters.ConfigError{Key: PropSchemaRegistryURL, Reason: "missing required configuration, which has no default value"}
	}
	for _, u := range strings.Split(raw, ",") {
		if u = strings.TrimSpace(u); u != "" {
			c.URLs = append(c.URLs, u)
		}
	}
	if v, ok := props[PropBasicAuthCredentialsSource]; ok {
		c.BasicAuthCredentialsSource = strings.ToUpper(strings.TrimSpace(v))
	}
	c.BasicAuthUserInfo = props[PropBasicAuthUserInfo]
	if v := props[PropSchemaRegistryUserInfo]; v != "" {
		c.BasicAuthUserInfo = v
	}
	if v, ok := props[PropBearerAuthCredentialsSource]; ok && !strings.EqualFold(strings.TrimSpace(v), "STATIC_TOKEN") {
		return c, &converters.ConfigError{Key: PropBearerAuthCredentialsSource, Value: v, Reason: "want STATIC_TOKEN (other bearer sources are not supported)"}
	}
	c.BearerAuthToken = props[PropBearerAuthToken]
	for k, v := range props {
		if name, ok := strings.CutPrefix(k, PropRequestHeaderPrefix); ok && name != "" {
			if c.RequestHeaders == nil {
				c.RequestHeaders = map[string]string{}
			}
			c.RequestHeaders[name] = v
		}
	}
	auto, err := propBool(props, PropAutoRegisterSchemas, true)
	if err != nil {
		return c, err
	}
	c.AutoRegisterDisabled = !auto
	if c.UseLatestVersion, err = propBool(props, PropUseLatestVersion, false); err != nil {
		return c, err
	}
	if v, ok := props[PropLatestCacheTTLSec]; ok {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n == 0 || n < -1 || n > int64(1<<62/time.Second) {
			return c, &converters.ConfigError{Key: PropLatestCacheTTLSec, Value: v, Reason: "want -1 (no expiry) or a positive number of seconds"}
		}
		if n > 0 {
			c.LatestCacheTTL = time.Duration(n) * time.Second
		}
	}
	key := PropValueSubjectNameStrategy
	if isKey {
		key = PropKeySubjectNameStrategy
	}
	if v, ok := props[key]; ok {
		s, ok := SubjectNameStrategy(v).normalize()
		if !ok || strings.TrimSpace(v) == "" {
			return c, &converters.ConfigError{Key: key, Value: v, Reason: "want TopicNameStrategy, RecordNameStrategy or TopicRecordNameStrategy (or their io.confluent.kafka.serializers.subject. class names)"}
		}
		c.SubjectNameStrategy = s
	}
	if c.SchemasCacheSize, err = propPositiveInt(props, converters.PropSchemasCacheSize, converters.DefaultSchemasCacheSize); err != nil {
		return c, err
	}
	c.ReaderSchema = props[PropReaderSchema]
	if err := c.Validate(); err != nil {
		var ce *converters.ConfigError
		if errors.As(err, &ce) && ce.Key == PropValueSubjectNameStrategy {
			ce.Key = key
		}
		return c, err
	}
	return c, nil
}

// Props returns the Confluent property form of c for a key (isKey) or value
// converter, every supported property spelled out. It includes credentials.
func (c Config) Props(isKey bool) map[string]string {
	src := strings.ToUpper(strings.TrimSpace(c.BasicAuthCredentialsSource))
	if src == "" {
		src = CredentialsSourceURL
	}
	size := c.SchemasCacheSize
	if size == 0 {
		size = converters.DefaultSchemasCacheSize
	}
	ttl := "-1"
	if c.LatestCacheTTL > 0 {
		ttl = strconv.FormatInt(int64((c.LatestCacheTTL+time.Second-1)/time.Second), 10)
	}
	strategy, _ := c.SubjectNameStrategy.normalize()
	if strategy == "" {
		strategy = TopicNameStrategy
	}
	key := PropValueSubjectNameStrategy
	if isKey {
		key = PropKeySubjectNameStrategy
	}
	p := map[string]string{
		PropSchemaRegistryURL:           strings.Join(c.URLs, ","),
		PropBasicAuthCredentialsSource:  src,
		PropAutoRegisterSchemas:         strconv.FormatBool(!c.AutoRegisterDisabled),
		PropUseLatestVersion:            strconv.FormatBool(c.UseLatestVersion),
		PropLatestCacheTTLSec:           ttl,
		key:                             strategyPackage + string(strategy),
		converters.PropSchemasCacheSize: strconv.Itoa(size),
	}
	if c.BasicAuthUserInfo != "" {
		p[PropBasicAuthUserInfo] = c.BasicAuthUserInfo
	}
	if c.BearerAuthToken != "" {
		p[PropBearerAuthCredentialsSource] = "STATIC_TOKEN"
		p[PropBearerAuthToken] = c.BearerAuthToken
	}
	for k, v := range c.RequestHeaders {
		p[PropRequestHeaderPrefix+k] = v
	}
	if c.ReaderSchema != "" {
		p[PropReaderSchema] = c.ReaderSchema
	}
	return p
}

// Converter is Confluent's AvroConverter (io.confluent.connect.avro.AvroConverter)
// for record keys or values: it writes Connect data as Avro in the
// Confluent wire format — byte 0x00, the 4-byte big-endian Schema Registry id
// of the writer schema, then the Avro binary encoding — and reads it back,
// interchangeably with Kafka Connect workers running Confluent's converter.
//
// Schemas map as Confluent's AvroData does (connect.meta.data=true,
// enhanced.avro.schema.support=false): INT8/INT16 as int with
// "connect.type"; Decimal as bytes with logicalType decimal, scale and
// precision (64 unless the connect.decimal.precision parameter says
// otherwise); Date, Time and Timestamp as date, time-millis and
// timestamp-millis; optional schemas as unions with null (null first, or
// last when there is a non-null default); maps with non-string or optional
// keys as arrays of io.confluent.connect.avro.MapEntry {key, value} records;
// unnamed structs as records io.confluent.connect.avro.ConnectDefault,
// ConnectDefault2, …; Connect names, docs, versions, parameters and defaults
// in connect.name, connect.doc, connect.version, connect.parameters and
// connect.default. Registered schema text is byte-identical to Confluent's
// (Avro Java's Schema.toString). Reading maps any Avro schema: enums to
// STRING (with io.confluent.connect.avro.Enum parameters), fixed to BYTES
// (parameter connect.fixed.size), general unions to
// io.confluent.connect.avro.Union structs; a schema without connect.version
// gets the version the registry gives it under its subject, as in Kafka
// Connect.
//
// Writing (FromConnect): a nil value with a nil or optional schema is a
// tombstone (nil bytes); a nil value with a required schema is an error, as
// in Confluent. The schema is registered under its subject (or looked up,
// see Config), once per schema and topic. Maps are written in sorted key
// order so that output is deterministic. Schemaless values (nil schema) are
// not supported. A top-level BYTES value is written without its Avro length
// prefix, as Confluent does.
//
// Reading (ToConnect): nil data is a null; the schema id may be any id the
// registry knows. With Config.ReaderSchema or UseLatestVersion, the
// writer's schema is resolved to the reader's by the Avro rules. Values take
// the Connect Go types (int8 … int64, connect.Decimal, time.Time,
// *connect.Struct, map[string]any for STRING keys, map[any]any otherwise);
// the result never aliases the input. Bytes after the Avro value are
// ignored, as in Confluent.
//
// Caching: the Avro schema, its registration and the compiled encoder are
// cached per Connect schema (by pointer, then by structure), and the parsed
// schema and compiled decoder per schema id, each cache bounded by
// schemas.cache.size; the steady path makes no registry call, parses no
// schema, and takes no lock. Concurrent misses on the same schema make one
// registry call.
//
// Errors: malformed data, an unknown magic byte, an unknown schema id, a
// value that does not match its schema, or a schema not registered under its
// subject are *converters.DataError values naming the topic, subject and schema id. An
// unreachable registry (or a 408, 429 or 5xx answer) is a *RegistryError
// wrapped in connect.Retriable, so the pipeline's retry policy applies; an
// incompatible schema (409, the registry's message included) or rejected
// credentials (401, 403) a *RegistryError wrapped in connect.Fatal.
//
// A Converter is safe for concurrent use.
type Converter struct {
	cfg      Config
	isKey    bool
	suffix   string
	strategy SubjectNameStrategy
	reg      *avroRegistry

	// Configured reader schema, if any.
	readerAvro    *avroSchema
	readerConnect *connect.Schema

	seed      maphash.Seed
	writers   *boundedmap.Map[*connect.Schema, *avroWriter]
	byShape   *boundedmap.Map[uint64, *avroWriter]
	idSlots   [avroIDSlots]atomic.Pointer[avroIDEntry]
	ids       *boundedmap.Map[int32, *avroIDEntry]
	latests   *boundedmap.Map[string, *avroLatest]
	flights   flightGroup
	cacheSize int
}

const avroIDSlots = 64

// avroWriter is the cached write state of one Connect schema.
type avroWriter struct {
	schema     *connect.Schema
	avro       *avroSchema
	text       string
	enc        avroEnc
	recordName string // full name when the Avro schema is a record
	last       atomic.Pointer[avroTopicWriter]
	topics     *boundedmap.Map[string, *avroTopicWriter]
	hint       atomic.Int64
}

// avroTopicWriter is the registration of a writer's schema for one topic.
type avroTopicWriter struct {
	topic   string
	subject string
	id      int32
	header  [5]byte
	enc     avroEnc
	expires time.Time
}

func fresh(expires time.Time) bool { return expires.IsZero() || time.Now().Before(expires) }

// avroIDEntry is a writer schema fetched by id.
type avroIDEntry struct {
	id     int32
	text   string
	writer *avroSchema
	last   atomic.Pointer[avroReadPlan]
	plans  *boundedmap.Map[string, *avroReadPlan]
}

// avroReadPlan is how records of one schema id are read from one topic.
type avroReadPlan struct {
	topic   string
	subject string
	schema  *connect.Schema
	decode  func([]byte) (any, error)
	expires time.Time
}

// avroLatest is the latest version of a subject.
type avroLatest struct {
	id, version int
	avro        *avroSchema
	expires     time.Time

	// The Connect schema, for reading, computed on first use.
	once      sync.Once
	schema    *connect.Schema
	schemaErr error
}

func (l *avroLatest) connectSchema() (*connect.Schema, error) {
	l.once.Do(func() { l.schema, l.schemaErr = connectFromAvro(l.avro, l.version) })
	return l.schema, l.schemaErr
}

var _ converters.Converter = (*Converter)(nil)

// New returns an Avro converter for record keys (isKey) or values,
// configured by cfg. It fails only if cfg.Validate fails; it does not
// contact the registry.
func New(cfg Config, isKey bool) (*Converter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.SchemasCacheSize == 0 {
		cfg.SchemasCacheSize = converters.DefaultSchemasCacheSize
	}
	cfg.SubjectNameStrategy, _ = cfg.SubjectNameStrategy.normalize()
	if cfg.SubjectNameStrategy == "" {
		cfg.SubjectNameStrategy = TopicNameStrategy
	}
	cfg.BasicAuthCredentialsSource = strings.ToUpper(strings.TrimSpace(cfg.BasicAuthCredentialsSource))
	if cfg.BasicAuthCredentialsSource == "" {
		cfg.BasicAuthCredentialsSource = CredentialsSourceURL
	}
	reg, err := newAvroRegistry(&cfg)
	if err != nil {
		return nil, &converters.ConfigError{Key: PropSchemaRegistryURL, Value: strings.Join(cfg.URLs, ","), Reason: err.Error()}
	}
	n := cfg.SchemasCacheSize
	c := &Converter{
		cfg:       cfg,
		isKey:     isKey,
		suffix:    "-value",
		strategy:  cfg.SubjectNameStrategy,
		reg:       reg,
		seed:      maphash.MakeSeed(),
		writers:   boundedmap.New[*connect.Schema, *avroWriter](n),
		byShape:   boundedmap.New[uint64, *avroWriter](n),
		ids:       boundedmap.New[int32, *avroIDEntry](n),
		latests:   boundedmap.New[string, *avroLatest](n),
		cacheSize: n,
	}
	if isKey {
		c.suffix = "-key"
	}
	if cfg.ReaderSchema != "" {
		if c.readerAvro, c.readerConnect, err = parseReaderSchema(cfg.ReaderSchema); err != nil {
			return nil, &converters.ConfigError{Key: PropReaderSchema, Value: cfg.ReaderSchema, Reason: err.Error()}
		}
	}
	return c, nil
}

// Config returns the converter's configuration, defaults filled in.
func (c *Converter) Config() Config { return c.cfg }

// ---------------------------------------------------------------------------
// Writing

// FromConnect serialises value of schema in the Confluent wire format (see
// the type's doc). It may call the registry the first time it meets a
// schema (honouring ctx); it adds no headers.
func (c *Converter) FromConnect(ctx context.Context, topic string, _ *connect.Headers, schema *connect.Schema, value any) ([]byte, error) {
	if value == nil {
		if schema == nil || schema.Optional {
			return nil, nil
		}
		return nil, c.dataContext(avroErr("null value for a required %s schema", schema.Type), topic, "", 0)
	}
	if schema == nil {
		return nil, c.dataContext(avroErr("the Avro converter needs a schema; schemaless values are not supported"), topic, "", 0)
	}
	w, err := c.writerFor(ctx, schema)
	if err != nil {
		return nil, c.dataContext(err, topic, "", 0)
	}
	tw, err := c.topicWriter(ctx, w, topic)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 5, max(w.hint.Load(), 64))
	copy(buf, tw.header[:])
	if buf, err = tw.enc(buf, value); err != nil {
		return nil, c.dataContext(err, topic, tw.subject, tw.id)
	}
	growHint(&w.hint, len(buf))
	return buf, nil
}

// writerFor returns the cached write state of schema, building it on first
// use: by pointer, then by structure (Connect schema equality).
func (c *Converter) writerFor(ctx context.Context, schema *connect.Schema) (*avroWriter, error) {
	if w, ok := c.writers.Load(schema); ok {
		return w, nil
	}
	h := hashConnectSchema(c.seed, schema)
	if w, ok := c.byShape.Load(h); ok && w.schema.Equal(schema) {
		c.writers.Store(schema, w)
		return w, nil
	}
	v, err := c.flights.do(ctx, "s"+strconv.FormatUint(h, 16), func() (any, error) {
		if w, ok := c.byShape.Load(h); ok && w.schema.Equal(schema) {
			return w, nil
		}
		return c.newWriter(schema, h)
	})
	if err != nil {
		return nil, err
	}
	w := v.(*avroWriter)
	if w.schema != schema && !w.schema.Equal(schema) {
		// A hash collision with a concurrent build: build privately.
		return c.newWriter(schema, h)
	}
	c.writers.Store(schema, w)
	return w, nil
}

func (c *Converter) newWriter(schema *connect.Schema, h uint64) (*avroWriter, error) {
	node, err := avroFromConnect(schema)
	if err != nil {
		return nil, err
	}
	text, err := emitAvroSchema(node)
	if err != nil {
		return nil, avroErr("%v", err)
	}
	enc, err := compileAvroEncoder(schema, node)
	if err != nil {
		return nil, err
	}
	w := &avroWriter{schema: schema, avro: node, text: text, enc: enc, topics: boundedmap.New[string, *avroTopicWriter](c.cacheSize)}
	if node.kind == avroRecord {
		w.recordName = node.fullName()
	}
	c.writers.Store(schema, w)
	c.byShape.Store(h, w)
	return w, nil
}

// topicWriter returns the schema id (and encoder) of w for topic,
// registering or looking up the schema on first use.
func (c *Converter) topicWriter(ctx context.Context, w *avroWriter, topic string) (*avroTopicWriter, error) {
	if tw := w.last.Load(); tw != nil && tw.topic == topic && fresh(tw.expires) {
		return tw, nil
	}
	if tw, ok := w.topics.Load(topic); ok && fresh(tw.expires) {
		w.last.Store(tw)
		return tw, nil
	}
	subject, err := c.subject(topic, w.recordName, w.avro)
	if err != nil {
		return nil, c.dataContext(err, topic, "", 0)
	}
	v, err := c.flights.do(ctx, fmt.Sprintf("w%p\x00%s", w, topic), func() (any, error) {
		tw := &avroTopicWriter{topic: topic, subject: subject, enc: w.enc}
		var (
			id  int
			err error
		)
		switch {
		case !c.cfg.AutoRegisterDisabled:
			if id, err = c.reg.register(ctx, topic, subject, w.text); err != nil {
				return nil, err
			}
		case c.cfg.UseLatestVersion:
			l, err := c.latest(ctx, topic, subject)
			if err != nil {
				return nil, err
			}
			enc, err := compileAvroEncoder(w.schema, l.avro)
			if err != nil {
				return nil, c.dataContext(err, topic, subject, int32(l.id))
			}
			id, tw.enc, tw.expires = l.id, enc, l.expires
		default:
			if id, _, err = c.reg.lookup(ctx, topic, subject, w.text); err != nil {
				if isNotFound(err) {
					return nil, c.dataContext(avroErr("the schema is not registered under subject %s and %s is false: %v", subject, PropAutoRegisterSchemas, err), topic, subject, 0)
				}
				return nil, err
			}
		}
		tw.id = int32(id)
		tw.header[0] = 0
		binary.BigEndian.PutUint32(tw.header[1:], uint32(id))
		w.topics.Store(topic, tw)
		return tw, nil
	})
	if err != nil {
		return nil, err
	}
	tw := v.(*avroTopicWriter)
	w.last.Store(tw)
	return tw, nil
}

// subject applies the subject name strategy. recordName is the full name of
// a record schema, "" for other schemas.
func (c *Converter) subject(topic, recordName string, a *avroSchema) (string, error) {
	switch c.strategy {
	case RecordNameStrategy, TopicRecordNameStrategy:
		if recordName == "" {
			part := "value"
			if c.isKey {
				part = "key"
			}
			return "", avroErr("with %s.subject.name.strategy = %s, the message %s must be an Avro record schema, not %s", part, c.strategy, part, a.describe())
		}
		if c.strategy == RecordNameStrategy {
			return recordName, nil
		}
		return topic + "-" + recordName, nil
	}
	return topic + c.suffix, nil
}

// latest returns the cached latest version of subject, fetching it when
// missing or expired.
func (c *Converter) latest(ctx context.Context, topic, subject string) (*avroLatest, error) {
	if l, ok := c.latests.Load(subject); ok && fresh(l.expires) {
		return l, nil
	}
	v, err := c.flights.do(ctx, "l\x00"+subject, func() (any, error) {
		id, version, text, refs, err := c.reg.latest(ctx, topic, subject)
		switch {
		case isNotFound(err):
			return nil, c.dataContext(avroErr("%s is set but subject %s has no schema: %v", PropUseLatestVersion, subject, err), topic, subject, 0)
		case err != nil:
			return nil, err
		case refs:
			return nil, c.dataContext(avroErr("the latest schema of subject %s has schema references, which the Avro converter does not support", subject), topic, subject, int32(id))
		}
		a, err := parseAvroSchema(text)
		if err != nil {
			return nil, c.dataContext(avroErr("latest schema of subject %s: %v", subject, err), topic, subject, int32(id))
		}
		l := &avroLatest{id: id, version: version, avro: a}
		if c.cfg.LatestCacheTTL > 0 {
			l.expires = time.Now().Add(c.cfg.LatestCacheTTL)
		}
		c.latests.Store(subject, l)
		return l, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*avroLatest), nil
}

// ---------------------------------------------------------------------------
// Reading

// HeadersIgnored implements converters.HeadersIgnorer: ToConnect does not read
// its headers.
func (c *Converter) HeadersIgnored() bool { return true }

// ToConnect deserialises Confluent-framed Avro (see the type's doc). It may
// call the registry the first time it meets a schema id (honouring ctx).
func (c *Converter) ToConnect(ctx context.Context, topic string, _ connect.Headers, data []byte) (connect.SchemaAndValue, error) {
	if data == nil {
		return connect.SchemaAndValue{}, nil
	}
	if len(data) > 0 && data[0] != 0 {
		return connect.SchemaAndValue{}, c.dataContext(avroErr("unknown magic byte 0x%02x: the data is not in the Confluent wire format (magic byte 0x00, 4-byte schema id, Avro)", data[0]), topic, c.readSubjectHint(topic), 0)
	}
	if len(data) < 5 {
		return connect.SchemaAndValue{}, c.dataContext(avroErr("%d bytes are too few for the Confluent wire format (magic byte and 4-byte schema id)", len(data)), topic, c.readSubjectHint(topic), 0)
	}
	id := int32(binary.BigEndian.Uint32(data[1:5]))
	p, err := c.readPlan(ctx, topic, id)
	if err != nil {
		return connect.SchemaAndValue{}, err
	}
	v, err := p.decode(data[5:])
	if err != nil {
		return connect.SchemaAndValue{}, c.dataContext(err, topic, p.subject, id)
	}
	return connect.SchemaAndValue{Schema: p.schema, Value: v}, nil
}

// readSubjectHint is the subject named in read errors before the schema is
// known: the topic's subject under TopicNameStrategy.
func (c *Converter) readSubjectHint(topic string) string {
	if c.strategy == TopicNameStrategy {
		return topic + c.suffix
	}
	return ""
}

func (c *Converter) readPlan(ctx context.Context, topic string, id int32) (*avroReadPlan, error) {
	slot := &c.idSlots[uint32(id)%avroIDSlots]
	e := slot.Load()
	if e == nil || e.id != id {
		var err error
		if e, err = c.idEntry(ctx, topic, id); err != nil {
			return nil, err
		}
		slot.Store(e)
	}
	if p := e.last.Load(); p != nil && p.topic == topic && fresh(p.expires) {
		return p, nil
	}
	if p, ok := e.plans.Load(topic); ok && fresh(p.expires) {
		e.last.Store(p)
		return p, nil
	}
	v, err := c.flights.do(ctx, fmt.Sprintf("p%d\x00%s", id, topic), func() (any, error) {
		return c.buildReadPlan(ctx, topic, e)
	})
	if err != nil {
		return nil, err
	}
	p := v.(*avroReadPlan)
	e.last.Store(p)
	return p, nil
}

// idEntry returns the writer schema of id, fetching it from the registry on
// first use.
func (c *Converter) idEntry(ctx context.Context, topic string, id int32) (*avroIDEntry, error) {
	if e, ok := c.ids.Load(id); ok {
		return e, nil
	}
	v, err := c.flights.do(ctx, "i"+strconv.Itoa(int(id)), func() (any, error) {
		text, typ, refs, err := c.reg.schemaByID(ctx, topic, int(id))
		switch {
		case isNotFound(err):
			return nil, c.dataContext(avroErr("unknown schema id %d: %v", id, err), topic, c.readSubjectHint(topic), id)
		case err != nil:
			return nil, err
		case typ != "":
			return nil, c.dataContext(avroErr("schema id %d is a %s schema, not Avro", id, typ), topic, c.readSubjectHint(topic), id)
		case refs:
			return nil, c.dataContext(avroErr("schema id %d has schema references, which the Avro converter does not support", id), topic, c.readSubjectHint(topic), id)
		}
		a, err := parseAvroSchema(text)
		if err != nil {
			return nil, c.dataContext(avroErr("schema id %d: %v", id, err), topic, c.readSubjectHint(topic), id)
		}
		e := &avroIDEntry{id: id, text: text, writer: a, plans: boundedmap.New[string, *avroReadPlan](c.cacheSize)}
		c.ids.Store(id, e)
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*avroIDEntry), nil
}

func (c *Converter) buildReadPlan(ctx context.Context, topic string, e *avroIDEntry) (*avroReadPlan, error) {
	subject := ""
	switch c.strategy {
	case TopicNameStrategy:
		subject = topic + c.suffix
	case RecordNameStrategy, TopicRecordNameStrategy:
		if e.writer.kind == avroRecord {
			subject, _ = c.subject(topic, e.writer.fullName(), e.writer)
		}
	}
	p := &avroReadPlan{topic: topic, subject: subject}
	rd, cs := e.writer, (*connect.Schema)(nil)
	var err error
	switch {
	case c.readerAvro != nil:
		rd, cs = c.readerAvro, c.readerConnect
	case c.cfg.UseLatestVersion:
		if subject == "" {
			return nil, c.dataContext(avroErr("%s needs a subject, but schema id %d is not a record (subject name strategy %s)", PropUseLatestVersion, e.id, c.strategy), topic, "", e.id)
		}
		l, err := c.latest(ctx, topic, subject)
		if err != nil {
			return nil, err
		}
		ls, err := l.connectSchema()
		if err != nil {
			return nil, c.dataContext(err, topic, subject, int32(l.id))
		}
		rd, cs, p.expires = l.avro, ls, l.expires
	default:
		version := 0
		if _, ok := e.writer.prop(avroPropConnectVersion); !ok && subject != "" {
			// Kafka Connect gives the schema its version under the subject.
			_, v, err := c.reg.lookup(ctx, topic, subject, e.text)
			switch {
			case err == nil:
				version = v
			case isNotFound(err):
				// Not registered under this subject: no version.
			default:
				var re *RegistryError
				if !errors.As(err, &re) || re.Status == 0 || connect.IsRetriable(err) || connect.IsFatal(err) {
					return nil, err
				}
			}
		}
		if cs, err = connectFromAvro(e.writer, version); err != nil {
			return nil, c.dataContext(err, topic, subject, e.id)
		}
	}
	if p.decode, err = compileAvroDecoder(e.writer, rd, cs); err != nil {
		return nil, c.dataContext(err, topic, subject, e.id)
	}
	p.schema = cs
	e.plans.Store(topic, p)
	return p, nil
}

// dataContext adds the topic, subject and schema id to a *converters.DataError (a copy:
// the original may be shared); other errors are returned unchanged.
func (c *Converter) dataContext(err error, topic, subject string, id int32) error {
	var de *converters.DataError
	if !errors.As(err, &de) || de != err {
		return err
	}
	cp := *de
	var b strings.Builder
	b.WriteString(cp.Reason)
	b.WriteString(" (topic ")
	b.WriteString(topic)
	if subject != "" {
		b.WriteString(", subject ")
		b.WriteString(subject)
	}
	if id != 0 {
		fmt.Fprintf(&b, ", schema id %d", id)
	}
	b.WriteByte(')')
	cp.Reason = b.String()
	return &cp
}

// hashConnectSchema hashes the structure of a Connect schema consistently
// with Schema.Equal (parameters in any order; default values are left to
// Equal).
func hashConnectSchema(seed maphash.Seed, s *connect.Schema) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	hashSchemaInto(&h, seed, s, 0)
	return h.Sum64()
}

func hashSchemaInto(h *maphash.Hash, seed maphash.Seed, s *connect.Schema, depth int) {
	if s == nil || depth > 64 {
		h.WriteByte(0)
		return
	}
	h.WriteByte(byte(s.Type))
	if s.Optional {
		h.WriteByte(1)
	} else {
		h.WriteByte(2)
	}
	if s.Default != nil {
		h.WriteByte(3)
	}
	h.WriteString(s.Name)
	h.WriteByte(0)
	h.WriteString(s.Doc)
	h.WriteByte(0)
	var set byte
	if s.NameSet() {
		set |= 1
	}
	if s.VersionSet() {
		set |= 2
	}
	if s.DocSet() {
		set |= 4
	}
	h.WriteByte(set)
	var v [4]byte
	binary.LittleEndian.PutUint32(v[:], uint32(s.Version))
	h.Write(v[:])
	var params uint64
	for _, p := range s.Parameters {
		params += maphash.String(seed, p.Key) ^ (maphash.String(seed, p.Value) * 31)
	}
	var pv [8]byte
	binary.LittleEndian.PutUint64(pv[:], params)
	h.Write(pv[:])
	for _, f := range s.Fields {
		h.WriteString(f.Name)
		h.WriteByte(0)
		hashSchemaInto(h, seed, f.Schema, depth+1)
	}
	if s.KeySchema != nil {
		h.WriteByte(4)
		hashSchemaInto(h, seed, s.KeySchema, depth+1)
	}
	if s.ValueSchema != nil {
		h.WriteByte(5)
		hashSchemaInto(h, seed, s.ValueSchema, depth+1)
	}
}

// Register registers the Avro converter on r under its Confluent class
// name io.confluent.connect.avro.AvroConverter and the short names
// AvroConverter and avro. It is a key and value converter only (Confluent's
// AvroConverter is no header converter). Properties are read by
// ConfigFromProps.
func Register(r *converters.Registry) {
	r.Register(Class, converters.Factory{
		Converter: func(props map[string]string, isKey bool) (converters.Converter, error) {
			cfg, err := ConfigFromProps(props, isKey)
			if err != nil {
				return nil, err
			}
			return New(cfg, isKey)
		},
	}, "AvroConverter", "avro")
}

// JavaClass returns Class, io.confluent.connect.avro.AvroConverter, the
// class Kafka Connect reports for Confluent's converter (see
// connect.JavaClassNamer).
func (c *Converter) JavaClass() string { return Class }
