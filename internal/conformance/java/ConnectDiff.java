/*
 * ConnectDiff: the Kafka Connect side of Sluice's differential tester (issue 15).
 *
 * Reads JSON-Lines requests on stdin and answers one JSON line per request on stdout, as specified in
 * notes/conformance-protocol.md (tagged values TV, schemas SCH, records REC; ops convert, parse,
 * headerConvert, headerParse, transform, predicate). Run through run.sh next to this file.
 *
 * Choices where the protocol leaves room (the Go driver relies on these):
 *  - Every input line gets exactly one response, blank or unparsable lines included
 *    ({"id": <id or null>, "harnessError": "..."}). "id" is echoed as given (any JSON value; null when absent).
 *  - An unknown op, a class that cannot be loaded or is not a Converter / HeaderConverter / Transformation /
 *    Predicate, a missing required member, or a failure while encoding the response is a harnessError (a
 *    harness/request problem, not Kafka Connect's behaviour). A constructor that throws is an "error" in phase
 *    "configure" (instantiation belongs to the configure phase).
 *  - Inputs are decoded before anything is instantiated; any failure there (ours, or Kafka Connect's
 *    SchemaBuilder / Struct.put / ConnectHeaders.add validation) is {"id","inputError"}. Messages of our own
 *    decoding errors are plain text; those thrown by Kafka Connect classes are "<SimpleName>: <message>".
 *  - Input schemas are SchemaBuilder(...).build() (ConnectSchema), nested schemas too. "parameters": [] calls
 *    parameters(emptyMap) so the schema has an empty (non-null) parameter map; "parameters": null/absent sets none.
 *    "default" absent or null: defaultValue is not called; it is set last (after fields/name/parameters).
 *    Note: a STRUCT default can never be accepted (validateValue compares the Struct's own schema with the
 *    builder: ConnectSchema.equals(SchemaBuilder) is false), so such inputs are always inputErrors.
 *  - Headers of a record (HDRS) are built with ConnectHeaders.add(key, value, schema), which validates the
 *    value against the schema; a refusal is an inputError.
 *  - Config values: JSON strings are passed as Strings, JSON null as null, any other JSON value as its text
 *    (numbers/booleans as their JSON text, arrays/objects as compact JSON). No key is added: a header converter
 *    that needs "converter.type" (StringConverter, JsonConverter used as HeaderConverter; the worker adds
 *    converter.type=header) must get it in "config".
 *  - transform: the transformation is instantiated and configured first, then the predicate (the order of
 *    Kafka Connect's ConnectorConfig.transformationStages); both are phase "configure". predicate.test is phase
 *    "predicate"; apply is "apply". The predicate's "negate" defaults to false.
 *  - Converter.fromConnectData/toConnectData take Kafka's org.apache.kafka.common.header.Headers, not Connect's
 *    ConnectHeaders as the protocol note says: each call gets a fresh, empty RecordHeaders (as the worker passes
 *    the Kafka record's headers).
 *  - close() of converters, transforms and predicates is always called; its exceptions are ignored.
 *  - "error" messages are "<getSimpleName()>: <getMessage()>" (message null gives "...: null"; an anonymous
 *    class uses getName()). An InvocationTargetException from a constructor is unwrapped.
 *  - Output TV "other": "<getClass().getName()>: <toString()>" (fully qualified class name).
 *  - int TV inputs must be JSON integers within the type's range; int64/date/offset/timestamp/unscaled also
 *    accept a JSON integer besides the decimal string. float32/float64 hex: up to 8/16 hex digits, read unsigned.
 *  - Output strings (incl. non-BMP characters and lone surrogates) are written by Jackson's UTF-8 generator,
 *    which writes every UTF-16 surrogate as a backslash-u escape (valid JSON; Go's decoder turns a lone surrogate into
 *    U+FFFD). Our own ObjectMapper has no nesting/length limits (Kafka Connect's JsonConverter keeps its own).
 *  - Requests run on a thread with a 512 MiB stack, so deep inputs hit Kafka Connect's own limits (or a
 *    StackOverflowError inside Kafka Connect, reported as an error) rather than this harness's recursion.
 */

import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamWriteConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.connect.connector.ConnectRecord;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaAndValue;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.header.ConnectHeaders;
import org.apache.kafka.connect.header.Header;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.storage.Converter;
import org.apache.kafka.connect.storage.HeaderConverter;
import org.apache.kafka.connect.transforms.Transformation;
import org.apache.kafka.connect.transforms.predicates.Predicate;

public final class ConnectDiff {

    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    private static final ObjectMapper M = newMapper();
    private static final Base64.Encoder B64E = Base64.getEncoder();
    private static final Base64.Decoder B64D = Base64.getDecoder();
    private static final Map<String, Constructor<?>> CTORS = new HashMap<>();
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    /** Our own decoding refused the input: becomes {"inputError": message}. */
    private static final class InputError extends RuntimeException {
        InputError(String msg) {
            super(msg, null, false, false);
        }
    }

    /** A request or harness problem: becomes {"harnessError": message}. */
    private static final class HarnessError extends RuntimeException {
        HarnessError(String msg) {
            super(msg, null, false, false);
        }
    }

    /** A Kafka Connect failure in a phase: becomes {"error": ..., "phase": ...}. */
    private static final class PhaseError extends Exception {
        final String phase;
        final Throwable cause;

        PhaseError(String phase, Throwable cause) {
            super(null, null, false, false);
            this.phase = phase;
            this.cause = cause;
        }
    }

    private static ObjectMapper newMapper() {
        ObjectMapper m = new ObjectMapper();
        m.getFactory().setStreamReadConstraints(StreamReadConstraints.builder()
                .maxNestingDepth(Integer.MAX_VALUE)
                .maxStringLength(Integer.MAX_VALUE)
                .maxNumberLength(Integer.MAX_VALUE)
                .maxNameLength(Integer.MAX_VALUE)
                .maxDocumentLength(-1L)
                .maxTokenCount(-1L)
                .build());
        m.getFactory().setStreamWriteConstraints(StreamWriteConstraints.builder()
                .maxNestingDepth(Integer.MAX_VALUE)
                .build());
        return m;
    }

    public static void main(String[] args) throws Exception {
        // Logging must never reach stdout: silence log4j2 (unless the caller chose otherwise) and make
        // System.out the standard error stream before any Kafka class is loaded. Responses go to the real
        // standard output, which only this class writes.
        if (System.getProperty("log4j2.level") == null) {
            System.setProperty("log4j2.level", "OFF");
        }
        if (System.getProperty("log4j2.statusLoggerLevel") == null) {
            System.setProperty("log4j2.statusLoggerLevel", "OFF");
        }
        final OutputStream out = new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16);
        System.setOut(System.err);

        final Throwable[] fatal = new Throwable[1];
        Thread t = new Thread(null, () -> {
            try {
                loop(out);
            } catch (Throwable e) {
                fatal[0] = e;
            }
        }, "connectdiff", 512L << 20);
        t.start();
        t.join();
        try {
            out.flush();
        } catch (Throwable e) {
            if (fatal[0] == null) {
                fatal[0] = e;
            }
        }
        if (fatal[0] != null) {
            System.err.println("ConnectDiff: " + fatal[0]);
            System.exit(1);
        }
        // Non-daemon threads a Kafka class may have started must not keep
        // the JVM alive after the last request.
        System.exit(0);
    }

    private static void loop(OutputStream out) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8), 1 << 16);
        String line;
        while ((line = in.readLine()) != null) {
            byte[] b;
            try {
                b = M.writeValueAsBytes(handleLine(line));
            } catch (Throwable e) {
                // Last resort: the response could not be built or encoded.
                ObjectNode r = F.objectNode();
                r.set("id", idOf(line));
                r.put("harnessError", "cannot encode the response: " + describe(e));
                b = M.writeValueAsBytes(r);
            }
            out.write(b);
            out.write('\n');
            out.flush();
        }
    }

    /** The request's id when the line parses at all, else null (used only on the last-resort path). */
    private static JsonNode idOf(String line) {
        try {
            JsonNode req = M.readTree(line);
            if (req != null && req.isObject() && req.has("id")) {
                return req.get("id");
            }
        } catch (Throwable e) {
            // fall through
        }
        return F.nullNode();
    }

    private static ObjectNode handleLine(String line) {
        ObjectNode resp = F.objectNode();
        JsonNode req;
        try {
            req = M.readTree(line);
        } catch (Throwable e) {
            resp.putNull("id");
            resp.put("harnessError", "cannot parse the request: " + describe(e));
            return resp;
        }
        if (req == null || !req.isObject()) {
            resp.putNull("id");
            resp.put("harnessError", "the request is not a JSON object");
            return resp;
        }
        JsonNode id = req.get("id");
        resp.set("id", id == null ? F.nullNode() : id);
        try {
            String op = reqText(req, "op");
            // Records reach SMTs with the maps Kafka Connect's converters build
            // (JsonConverter: HashMap), so SMT inputs use HashMap; converter
            // inputs keep the listed order, which the bytes depend on.
            hashMaps = op.equals("transform") || op.equals("predicate");
            switch (op) {
                case "convert":
                    conversion(req, resp, false, true);
                    break;
                case "parse":
                    conversion(req, resp, false, false);
                    break;
                case "headerConvert":
                    conversion(req, resp, true, true);
                    break;
                case "headerParse":
                    conversion(req, resp, true, false);
                    break;
                case "transform":
                    transform(req, resp);
                    break;
                case "predicate":
                    predicate(req, resp);
                    break;
                default:
                    throw new HarnessError("unknown op " + op);
            }
        } catch (InputError e) {
            resp.put("inputError", e.getMessage());
        } catch (PhaseError e) {
            resp.put("error", describe(e.cause));
            resp.put("phase", e.phase);
        } catch (HarnessError e) {
            resp.put("harnessError", e.getMessage());
        } catch (Throwable e) {
            resp.put("harnessError", describe(e));
        }
        return resp;
    }

    // ---------------------------------------------------------------- ops

    /** Serialises a value, with a Converter or a HeaderConverter for one request. */
    @FunctionalInterface
    private interface From {
        byte[] apply(Schema schema, Object value) throws Exception;
    }

    /** Reads bytes, with a Converter or a HeaderConverter for one request. */
    @FunctionalInterface
    private interface To {
        SchemaAndValue apply(byte[] data) throws Exception;
    }

    /**
     * The convert, parse, headerConvert and headerParse ops: a fresh (header) converter, configured; then, when
     * serialise, the request's schema and value written ("bytes"); then the bytes (or the request's "data") read
     * back ("back").
     */
    private static void conversion(JsonNode req, ObjectNode resp, boolean header, boolean serialise) throws PhaseError {
        Constructor<?> ctor = ctor(reqText(req, "class"), header ? HeaderConverter.class : Converter.class);
        Map<String, Object> config = config(req.get("config"));
        boolean isKey = bool(req.get("isKey"));
        String topic = optText(req, "topic");
        String key = optText(req, "key");
        Schema schema = null;
        Object value = null;
        byte[] data = null;
        try {
            if (serialise) {
                schema = decodeSchema(req.get("schema"));
                value = decodeValue(req.get("value"));
            } else {
                data = decodeData(req.get("data"));
            }
        } catch (Throwable e) {
            throw inputError(e);
        }
        AutoCloseable c = null;
        try {
            From from;
            To to;
            try {
                if (header) {
                    HeaderConverter h = (HeaderConverter) instantiate(ctor);
                    c = h;
                    h.configure(config);
                    from = (s, v) -> h.fromConnectHeader(topic, key, s, v);
                    to = d -> h.toConnectHeader(topic, key, d);
                } else {
                    Converter k = (Converter) instantiate(ctor);
                    c = k;
                    k.configure(config, isKey);
                    from = (s, v) -> k.fromConnectData(topic, new RecordHeaders(), s, v);
                    to = d -> k.toConnectData(topic, new RecordHeaders(), d);
                }
            } catch (Throwable e) {
                throw new PhaseError("configure", e);
            }
            if (serialise) {
                try {
                    data = from.apply(schema, value);
                } catch (Throwable e) {
                    throw new PhaseError("from", e);
                }
                resp.set("bytes", encodeBytes(data));
            }
            SchemaAndValue back;
            try {
                back = to.apply(data);
            } catch (Throwable e) {
                throw new PhaseError("to", e);
            }
            resp.set("back", encodeSAV(back));
        } finally {
            closeQuietly(c);
        }
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static void transform(JsonNode req, ObjectNode resp) throws PhaseError {
        Constructor<?> ctor = ctor(reqText(req, "class"), Transformation.class);
        Map<String, Object> config = config(req.get("config"));
        JsonNode pred = req.get("predicate");
        Constructor<?> pctor = null;
        Map<String, Object> pconfig = null;
        boolean negate = false;
        if (pred != null && !pred.isNull()) {
            if (!pred.isObject()) {
                throw new HarnessError("predicate is not an object");
            }
            pctor = ctor(reqText(pred, "class"), Predicate.class);
            pconfig = config(pred.get("config"));
            negate = bool(pred.get("negate"));
        }
        ConnectRecord record;
        try {
            record = decodeRecord(req.get("record"));
        } catch (Throwable e) {
            throw inputError(e);
        }
        Transformation t = null;
        Predicate p = null;
        try {
            try {
                t = (Transformation) instantiate(ctor);
                t.configure(config);
            } catch (Throwable e) {
                throw new PhaseError("configure", e);
            }
            if (pctor != null) {
                try {
                    p = (Predicate) instantiate(pctor);
                    p.configure(pconfig);
                } catch (Throwable e) {
                    throw new PhaseError("configure", e);
                }
            }
            boolean applies = true;
            if (p != null) {
                try {
                    applies = p.test(record) != negate;
                } catch (Throwable e) {
                    throw new PhaseError("predicate", e);
                }
            }
            ConnectRecord outRec = record;
            if (applies) {
                try {
                    outRec = t.apply(record);
                } catch (Throwable e) {
                    throw new PhaseError("apply", e);
                }
            }
            resp.set("record", encodeRecord(outRec));
        } finally {
            closeQuietly(t);
            closeQuietly(p);
        }
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static void predicate(JsonNode req, ObjectNode resp) throws PhaseError {
        Constructor<?> ctor = ctor(reqText(req, "class"), Predicate.class);
        Map<String, Object> config = config(req.get("config"));
        ConnectRecord record;
        try {
            record = decodeRecord(req.get("record"));
        } catch (Throwable e) {
            throw inputError(e);
        }
        Predicate p = null;
        try {
            try {
                p = (Predicate) instantiate(ctor);
                p.configure(config);
            } catch (Throwable e) {
                throw new PhaseError("configure", e);
            }
            boolean result;
            try {
                result = p.test(record);
            } catch (Throwable e) {
                throw new PhaseError("predicate", e);
            }
            resp.put("result", result);
        } finally {
            closeQuietly(p);
        }
    }

    // ---------------------------------------------------------------- plumbing

    private static Constructor<?> ctor(String cls, Class<?> iface) {
        String cacheKey = iface.getName() + " " + cls;
        Constructor<?> c = CTORS.get(cacheKey);
        if (c != null) {
            return c;
        }
        Class<?> k;
        try {
            k = Class.forName(cls);
        } catch (Throwable e) {
            throw new HarnessError("cannot load class " + cls + ": " + describe(e));
        }
        if (!iface.isAssignableFrom(k)) {
            throw new HarnessError(cls + " is not a " + iface.getName());
        }
        try {
            c = k.getDeclaredConstructor();
            c.setAccessible(true);
        } catch (Throwable e) {
            throw new HarnessError(cls + " has no usable no-argument constructor: " + describe(e));
        }
        CTORS.put(cacheKey, c);
        return c;
    }

    private static Object instantiate(Constructor<?> c) throws Throwable {
        try {
            return c.newInstance();
        } catch (InvocationTargetException e) {
            throw e.getCause() != null ? e.getCause() : e;
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Throwable e) {
            // ignored (see the header comment)
        }
    }

    private static String describe(Throwable e) {
        String name = e.getClass().getSimpleName();
        if (name.isEmpty()) {
            name = e.getClass().getName();
        }
        return name + ": " + e.getMessage();
    }

    private static InputError inputError(Throwable e) {
        if (e instanceof InputError) {
            return (InputError) e;
        }
        return new InputError(describe(e));
    }

    private static String reqText(JsonNode n, String member) {
        JsonNode v = n.get(member);
        if (v == null || !v.isTextual()) {
            throw new HarnessError("member \"" + member + "\" missing or not a string");
        }
        return v.textValue();
    }

    private static String optText(JsonNode n, String member) {
        JsonNode v = n.get(member);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw new HarnessError("member \"" + member + "\" is not a string");
        }
        return v.textValue();
    }

    private static boolean bool(JsonNode v) {
        if (v == null || v.isNull()) {
            return false;
        }
        if (!v.isBoolean()) {
            throw new HarnessError("boolean member is " + v.getNodeType());
        }
        return v.booleanValue();
    }

    private static Map<String, Object> config(JsonNode n) {
        Map<String, Object> m = new HashMap<>();
        if (n == null || n.isNull()) {
            return m;
        }
        if (!n.isObject()) {
            throw new HarnessError("config is not an object");
        }
        for (Map.Entry<String, JsonNode> e : n.properties()) {
            JsonNode v = e.getValue();
            if (v.isNull()) {
                m.put(e.getKey(), null);
            } else if (v.isTextual()) {
                m.put(e.getKey(), v.textValue());
            } else if (v.isValueNode()) {
                m.put(e.getKey(), v.asText());
            } else {
                m.put(e.getKey(), v.toString());
            }
        }
        return m;
    }

    // ---------------------------------------------------------------- decoding (input)

    private static byte[] decodeData(JsonNode n) {
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isTextual()) {
            throw new InputError("data is not a base64 string");
        }
        try {
            return B64D.decode(n.textValue());
        } catch (IllegalArgumentException e) {
            throw new InputError("bad base64: " + e.getMessage());
        }
    }

    private static long decLong(JsonNode n, String what) {
        if (n != null && n.isTextual()) {
            try {
                return Long.parseLong(n.textValue());
            } catch (NumberFormatException e) {
                throw new InputError(what + ": not a 64-bit decimal: " + n.textValue());
            }
        }
        if (n != null && n.isIntegralNumber() && n.canConvertToLong()) {
            return n.longValue();
        }
        throw new InputError(what + ": not a decimal string: " + n);
    }

    private static long intIn(JsonNode n, String what, long min, long max) {
        if (n == null || !n.isIntegralNumber() || !n.canConvertToLong()) {
            throw new InputError(what + ": not an integer: " + n);
        }
        long v = n.longValue();
        if (v < min || v > max) {
            throw new InputError(what + ": out of range: " + v);
        }
        return v;
    }

    private static String hexDigits(JsonNode n, String what, int max) {
        if (n == null || !n.isTextual() || n.textValue().isEmpty() || n.textValue().length() > max) {
            throw new InputError(what + ": not a hex string of at most " + max + " digits: " + n);
        }
        return n.textValue();
    }

    /** Whether decodeValue builds maps as HashMap (SMT requests) or LinkedHashMap. */
    static boolean hashMaps;

    static Object decodeValue(JsonNode n) {
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isObject() || n.size() != 1) {
            throw new InputError("a tagged value must be null or an object with one member: " + n);
        }
        Map.Entry<String, JsonNode> e = n.properties().iterator().next();
        String tag = e.getKey();
        JsonNode v = e.getValue();
        switch (tag) {
            case "int8":
                return (byte) intIn(v, "int8", Byte.MIN_VALUE, Byte.MAX_VALUE);
            case "int16":
                return (short) intIn(v, "int16", Short.MIN_VALUE, Short.MAX_VALUE);
            case "int32":
                return (int) intIn(v, "int32", Integer.MIN_VALUE, Integer.MAX_VALUE);
            case "int64":
                return decLong(v, "int64");
            case "float32":
                try {
                    return Float.intBitsToFloat(Integer.parseUnsignedInt(hexDigits(v, "float32", 8), 16));
                } catch (NumberFormatException x) {
                    throw new InputError("float32: bad hex: " + v);
                }
            case "float64":
                try {
                    return Double.longBitsToDouble(Long.parseUnsignedLong(hexDigits(v, "float64", 16), 16));
                } catch (NumberFormatException x) {
                    throw new InputError("float64: bad hex: " + v);
                }
            case "boolean":
                if (!v.isBoolean()) {
                    throw new InputError("boolean: not a JSON boolean: " + v);
                }
                return v.booleanValue();
            case "string":
                if (!v.isTextual()) {
                    throw new InputError("string: not a JSON string: " + v);
                }
                return v.textValue();
            case "bytes": {
                byte[] b = decodeData(v);
                if (b == null) {
                    throw new InputError("bytes: null");
                }
                return b;
            }
            case "array": {
                if (!v.isArray()) {
                    throw new InputError("array: not a JSON array");
                }
                List<Object> l = new ArrayList<>(v.size());
                for (JsonNode x : v) {
                    l.add(decodeValue(x));
                }
                return l;
            }
            case "map": {
                if (!v.isArray()) {
                    throw new InputError("map: not a JSON array");
                }
                Map<Object, Object> m = hashMaps ? new HashMap<>() : new LinkedHashMap<>();
                for (JsonNode x : v) {
                    if (!x.isArray() || x.size() != 2) {
                        throw new InputError("map: an entry is not a [key, value] pair: " + x);
                    }
                    Object key = decodeValue(x.get(0));
                    m.put(key, decodeValue(x.get(1)));
                }
                return m;
            }
            case "struct": {
                if (!v.isObject()) {
                    throw new InputError("struct: not an object");
                }
                Schema s = decodeSchema(v.get("schema"));
                if (s == null) {
                    throw new InputError("struct: schema is null");
                }
                Struct st = new Struct(s);
                JsonNode fields = v.get("fields");
                if (fields != null && !fields.isNull()) {
                    if (!fields.isArray()) {
                        throw new InputError("struct: fields is not an array");
                    }
                    for (JsonNode f : fields) {
                        if (!f.isArray() || f.size() != 2 || !f.get(0).isTextual()) {
                            throw new InputError("struct: a field is not a [name, value] pair: " + f);
                        }
                        JsonNode fv = f.get(1);
                        if (fv != null && !fv.isNull()) {
                            st.put(f.get(0).textValue(), decodeValue(fv));
                        }
                    }
                }
                return st;
            }
            case "date":
                return new Date(decLong(v, "date"));
            case "decimal": {
                if (!v.isObject()) {
                    throw new InputError("decimal: not an object");
                }
                JsonNode u = v.get("unscaled");
                BigInteger unscaled;
                try {
                    unscaled = u != null && u.isTextual() ? new BigInteger(u.textValue())
                            : BigInteger.valueOf(decLong(u, "decimal unscaled"));
                } catch (NumberFormatException x) {
                    throw new InputError("decimal: bad unscaled " + u);
                }
                int scale = (int) intIn(v.get("scale"), "decimal scale", Integer.MIN_VALUE, Integer.MAX_VALUE);
                return new BigDecimal(unscaled, scale);
            }
            default:
                throw new InputError("unknown tag " + tag);
        }
    }

    static Schema decodeSchema(JsonNode n) {
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isObject()) {
            throw new InputError("a schema must be null or an object: " + n);
        }
        JsonNode tn = n.get("type");
        if (tn == null || !tn.isTextual()) {
            throw new InputError("schema type missing");
        }
        Schema.Type type;
        try {
            type = Schema.Type.valueOf(tn.textValue());
        } catch (IllegalArgumentException e) {
            throw new InputError("unknown schema type " + tn.textValue());
        }
        SchemaBuilder b;
        switch (type) {
            case ARRAY:
                b = SchemaBuilder.array(decodeSchema(n.get("valueSchema")));
                break;
            case MAP:
                b = SchemaBuilder.map(decodeSchema(n.get("keySchema")), decodeSchema(n.get("valueSchema")));
                break;
            case STRUCT: {
                b = SchemaBuilder.struct();
                JsonNode fields = n.get("fields");
                if (fields != null && !fields.isNull()) {
                    if (!fields.isArray()) {
                        throw new InputError("schema fields is not an array");
                    }
                    for (JsonNode f : fields) {
                        if (!f.isObject()) {
                            throw new InputError("a schema field is not an object: " + f);
                        }
                        JsonNode fname = f.get("name");
                        b.field(fname == null || fname.isNull() ? null : fname.asText(), decodeSchema(f.get("schema")));
                    }
                }
                break;
            }
            default:
                b = SchemaBuilder.type(type);
        }
        JsonNode opt = n.get("optional");
        if (opt != null && opt.asBoolean(false)) {
            b.optional();
        }
        JsonNode name = n.get("name");
        if (name != null && !name.isNull()) {
            b.name(name.asText());
        }
        JsonNode version = n.get("version");
        if (version != null && !version.isNull()) {
            b.version((int) intIn(version, "schema version", Integer.MIN_VALUE, Integer.MAX_VALUE));
        }
        JsonNode doc = n.get("doc");
        if (doc != null && !doc.isNull()) {
            b.doc(doc.asText());
        }
        JsonNode params = n.get("parameters");
        if (params != null && !params.isNull()) {
            if (!params.isArray()) {
                throw new InputError("schema parameters is not an array");
            }
            Map<String, String> pm = new LinkedHashMap<>();
            for (JsonNode p : params) {
                if (!p.isArray() || p.size() != 2) {
                    throw new InputError("a schema parameter is not a [key, value] pair: " + p);
                }
                pm.put(p.get(0).isNull() ? null : p.get(0).asText(), p.get(1).isNull() ? null : p.get(1).asText());
            }
            b.parameters(pm);
        }
        JsonNode def = n.get("default");
        if (def != null && !def.isNull()) {
            b.defaultValue(decodeValue(def));
        }
        return b.build();
    }

    @SuppressWarnings("rawtypes")
    static ConnectRecord decodeRecord(JsonNode n) {
        if (n == null || !n.isObject()) {
            throw new InputError("record is not an object");
        }
        String topic = n.hasNonNull("topic") ? n.get("topic").asText() : null;
        Integer partition = null;
        if (n.hasNonNull("partition")) {
            partition = (int) intIn(n.get("partition"), "partition", Integer.MIN_VALUE, Integer.MAX_VALUE);
        }
        Schema keySchema = decodeSchema(n.get("keySchema"));
        Object key = decodeValue(n.get("key"));
        Schema valueSchema = decodeSchema(n.get("valueSchema"));
        Object value = decodeValue(n.get("value"));
        Long timestamp = n.hasNonNull("timestamp") ? decLong(n.get("timestamp"), "timestamp") : null;
        ConnectHeaders headers = new ConnectHeaders();
        JsonNode hs = n.get("headers");
        if (hs != null && !hs.isNull()) {
            if (!hs.isArray()) {
                throw new InputError("headers is not an array");
            }
            for (JsonNode h : hs) {
                if (!h.isObject()) {
                    throw new InputError("a header is not an object: " + h);
                }
                String hk = h.hasNonNull("key") ? h.get("key").asText() : null;
                headers.add(hk, decodeValue(h.get("value")), decodeSchema(h.get("schema")));
            }
        }
        JsonNode sink = n.get("sink");
        if (sink == null || sink.isNull()) {
            return new SourceRecord(null, null, topic, partition, keySchema, key, valueSchema, value, timestamp,
                    headers);
        }
        if (!sink.isObject()) {
            throw new InputError("sink is not an object");
        }
        long offset = decLong(sink.get("offset"), "offset");
        JsonNode tt = sink.get("timestampType");
        TimestampType type;
        if (tt == null || tt.isNull()) {
            type = TimestampType.NO_TIMESTAMP_TYPE;
        } else {
            try {
                type = TimestampType.forName(tt.asText());
            } catch (RuntimeException e) {
                throw new InputError("unknown timestampType " + tt.asText());
            }
        }
        return new SinkRecord(topic, partition == null ? 0 : partition, keySchema, key, valueSchema, value, offset,
                timestamp, type, headers);
    }

    // ---------------------------------------------------------------- encoding (output)

    private static JsonNode encodeBytes(byte[] b) {
        return b == null ? F.nullNode() : F.textNode(B64E.encodeToString(b));
    }

    private static JsonNode encodeSAV(SchemaAndValue sav) {
        if (sav == null) {
            return F.nullNode();
        }
        ObjectNode o = F.objectNode();
        o.set("schema", encodeSchema(sav.schema()));
        o.set("value", encodeValue(sav.value()));
        return o;
    }

    private static String hex(long bits, int digits) {
        char[] c = new char[digits];
        for (int i = digits - 1; i >= 0; i--) {
            c[i] = HEX[(int) (bits & 0xf)];
            bits >>>= 4;
        }
        return new String(c);
    }

    private static ObjectNode tagged(String tag, JsonNode v) {
        ObjectNode o = F.objectNode();
        o.set(tag, v);
        return o;
    }

    static JsonNode encodeValue(Object v) {
        if (v == null) {
            return F.nullNode();
        }
        if (v instanceof Byte) {
            return tagged("int8", F.numberNode(((Byte) v).intValue()));
        }
        if (v instanceof Short) {
            return tagged("int16", F.numberNode(((Short) v).intValue()));
        }
        if (v instanceof Integer) {
            return tagged("int32", F.numberNode((Integer) v));
        }
        if (v instanceof Long) {
            return tagged("int64", F.textNode(Long.toString((Long) v)));
        }
        if (v instanceof Float) {
            return tagged("float32", F.textNode(hex(Float.floatToIntBits((Float) v) & 0xffffffffL, 8)));
        }
        if (v instanceof Double) {
            return tagged("float64", F.textNode(hex(Double.doubleToLongBits((Double) v), 16)));
        }
        if (v instanceof Boolean) {
            return tagged("boolean", F.booleanNode((Boolean) v));
        }
        if (v instanceof String) {
            return tagged("string", F.textNode((String) v));
        }
        if (v instanceof byte[]) {
            return tagged("bytes", F.textNode(B64E.encodeToString((byte[]) v)));
        }
        if (v instanceof ByteBuffer) {
            ByteBuffer bb = ((ByteBuffer) v).duplicate();
            byte[] b = new byte[bb.remaining()];
            bb.get(b);
            return tagged("bytes", F.textNode(B64E.encodeToString(b)));
        }
        if (v instanceof List) {
            ArrayNode a = F.arrayNode();
            for (Object x : (List<?>) v) {
                a.add(encodeValue(x));
            }
            return tagged("array", a);
        }
        if (v instanceof Map) {
            ArrayNode a = F.arrayNode();
            for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                ArrayNode pair = F.arrayNode();
                pair.add(encodeValue(e.getKey()));
                pair.add(encodeValue(e.getValue()));
                a.add(pair);
            }
            return tagged("map", a);
        }
        if (v instanceof Struct) {
            Struct s = (Struct) v;
            ObjectNode o = F.objectNode();
            Schema schema = s.schema();
            o.set("schema", encodeSchema(schema));
            ArrayNode fields = F.arrayNode();
            for (Field f : schema.fields()) {
                ArrayNode pair = F.arrayNode();
                pair.add(f.name());
                pair.add(encodeValue(s.getWithoutDefault(f.name())));
                fields.add(pair);
            }
            o.set("fields", fields);
            return tagged("struct", o);
        }
        if (v instanceof Date) {
            return tagged("date", F.textNode(Long.toString(((Date) v).getTime())));
        }
        if (v instanceof BigDecimal) {
            BigDecimal d = (BigDecimal) v;
            ObjectNode o = F.objectNode();
            o.put("unscaled", d.unscaledValue().toString());
            o.put("scale", d.scale());
            return tagged("decimal", o);
        }
        String s;
        try {
            s = String.valueOf(v);
        } catch (Throwable e) {
            s = "<toString failed: " + describe(e) + ">";
        }
        return tagged("other", F.textNode(v.getClass().getName() + ": " + s));
    }

    static JsonNode encodeSchema(Schema s) {
        if (s == null) {
            return F.nullNode();
        }
        ObjectNode o = F.objectNode();
        Schema.Type type = s.type();
        o.put("type", type == null ? null : type.name());
        o.put("optional", s.isOptional());
        o.put("name", s.name());
        Integer version = s.version();
        if (version == null) {
            o.putNull("version");
        } else {
            o.put("version", version.intValue());
        }
        o.put("doc", s.doc());
        Map<String, String> params = s.parameters();
        if (params == null) {
            o.putNull("parameters");
        } else {
            ArrayNode a = o.putArray("parameters");
            for (Map.Entry<String, String> e : params.entrySet()) {
                ArrayNode pair = a.addArray();
                pair.add(e.getKey());
                pair.add(e.getValue());
            }
        }
        Object def = s.defaultValue();
        if (def != null) {
            o.set("default", encodeValue(def));
        }
        if (type == Schema.Type.STRUCT) {
            ArrayNode a = o.putArray("fields");
            for (Field f : s.fields()) {
                ObjectNode fo = a.addObject();
                fo.put("name", f.name());
                fo.set("schema", encodeSchema(f.schema()));
            }
        }
        if (type == Schema.Type.MAP) {
            o.set("keySchema", encodeSchema(s.keySchema()));
        }
        if (type == Schema.Type.MAP || type == Schema.Type.ARRAY) {
            o.set("valueSchema", encodeSchema(s.valueSchema()));
        }
        return o;
    }

    @SuppressWarnings("rawtypes")
    static JsonNode encodeRecord(ConnectRecord r) {
        if (r == null) {
            return F.nullNode();
        }
        ObjectNode o = F.objectNode();
        o.put("topic", r.topic());
        Integer partition = r.kafkaPartition();
        if (partition == null) {
            o.putNull("partition");
        } else {
            o.put("partition", partition.intValue());
        }
        o.set("keySchema", encodeSchema(r.keySchema()));
        o.set("key", encodeValue(r.key()));
        o.set("valueSchema", encodeSchema(r.valueSchema()));
        o.set("value", encodeValue(r.value()));
        Long ts = r.timestamp();
        if (ts == null) {
            o.putNull("timestamp");
        } else {
            o.put("timestamp", Long.toString(ts));
        }
        ArrayNode hs = o.putArray("headers");
        if (r.headers() != null) {
            for (Object ho : r.headers()) {
                Header h = (Header) ho;
                ObjectNode hn = hs.addObject();
                hn.put("key", h.key());
                hn.set("schema", encodeSchema(h.schema()));
                hn.set("value", encodeValue(h.value()));
            }
        }
        if (r instanceof SinkRecord) {
            SinkRecord sr = (SinkRecord) r;
            ObjectNode sn = o.putObject("sink");
            sn.put("offset", Long.toString(sr.kafkaOffset()));
            TimestampType tt = sr.timestampType();
            sn.put("timestampType", tt == null ? null : tt.name);
        } else {
            o.putNull("sink");
        }
        return o;
    }
}
