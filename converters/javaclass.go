package converters

// The built-in converters implement connect.JavaClassNamer with the class of
// their Kafka Connect counterpart (the Class* constants), which Kafka Connect
// reports as the KEY_CONVERTER, VALUE_CONVERTER and HEADER_CONVERTER
// stages' class (WorkerSinkTask.convertAndTransformRecord passes the
// converter plugin's getClass()) in the dead-letter queue's
// __connect.errors.class.name header and its error log.

// JavaClass returns ClassJSON, org.apache.kafka.connect.json.JsonConverter.
func (c *JSON) JavaClass() string { return ClassJSON }

// JavaClass returns ClassString, org.apache.kafka.connect.storage.StringConverter.
func (c *String) JavaClass() string { return ClassString }

// JavaClass returns ClassByteArray, org.apache.kafka.connect.converters.ByteArrayConverter.
func (c *ByteArray) JavaClass() string { return ClassByteArray }

// JavaClass returns ClassSimpleHeader, org.apache.kafka.connect.storage.SimpleHeaderConverter.
func (c *SimpleHeader) JavaClass() string { return ClassSimpleHeader }

// JavaClass returns the class of the fixed-width converter:
// org.apache.kafka.connect.converters.BooleanConverter, ShortConverter,
// IntegerConverter, LongConverter, FloatConverter or DoubleConverter.
func (c *Number) JavaClass() string {
	return "org.apache.kafka.connect.converters." + c.name
}
