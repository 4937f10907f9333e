package transforms

// Kafka Connect class names of the built-in transformations and predicates
// (connect-transforms-4.3.1.jar). Each built-in implements
// connect.JavaClassNamer with its canonical class, including the $Key/$Value
// nested class of the record part it works on, whatever name or alias the
// configuration used: that is what Kafka Connect reports as the
// TRANSFORMATION stage's class (TransformationStage.transformClass) in the
// dead-letter queue's __connect.errors.class.name header and its error log.

// partClass returns KafkaTransformsPackage + name + "$Key" or "$Value".
func partClass(name string, p Part) string {
	return KafkaTransformsPackage + name + "$" + p.String()
}

// JavaClass returns org.apache.kafka.connect.transforms.Cast$Key or Cast$Value.
func (t *Cast) JavaClass() string { return partClass("Cast", t.part) }

// JavaClass returns org.apache.kafka.connect.transforms.ExtractField$Key or ExtractField$Value.
func (t *ExtractField) JavaClass() string { return partClass("ExtractField", t.part) }

// JavaClass returns org.apache.kafka.connect.transforms.Flatten$Key or Flatten$Value.
func (t *Flatten) JavaClass() string { return partClass("Flatten", t.part) }

// JavaClass returns org.apache.kafka.connect.transforms.HeaderFrom$Key or HeaderFrom$Value.
func (t *HeaderFrom) JavaClass() string { return partClass("HeaderFrom", t.part) }

// JavaClass returns org.apache.kafka.connect.transforms.HoistField$Key or HoistField$Value.
func (t *HoistField) JavaClass() string { return partClass("HoistField", t.part) }

// JavaClass returns org.apache.kafka.connect.transforms.InsertField$Key or InsertField$Value.
func (t *InsertField) JavaClass() string { return partClass("InsertField", t.part) }

// JavaClass returns org.apache.kafka.connect.transforms.MaskField$Key or MaskField$Value.
func (t *MaskField) JavaClass() string { return partClass("MaskField", t.part) }

// JavaClass returns org.apache.kafka.connect.transforms.ReplaceField$Key or ReplaceField$Value.
func (t *ReplaceField) JavaClass() string { return partClass("ReplaceField", t.part) }

// JavaClass returns org.apache.kafka.connect.transforms.SetSchemaMetadata$Key or SetSchemaMetadata$Value.
func (t *SetSchemaMetadata) JavaClass() string { return partClass("SetSchemaMetadata", t.part) }

// JavaClass returns org.apache.kafka.connect.transforms.TimestampConverter$Key or TimestampConverter$Value.
func (t *TimestampConverter) JavaClass() string { return partClass("TimestampConverter", t.part) }

// JavaClass returns org.apache.kafka.connect.transforms.DropHeaders.
func (t *DropHeaders) JavaClass() string { return KafkaTransformsPackage + "DropHeaders" }

// JavaClass returns org.apache.kafka.connect.transforms.Filter.
func (Filter) JavaClass() string { return KafkaTransformsPackage + "Filter" }

// JavaClass returns org.apache.kafka.connect.transforms.InsertHeader.
func (t *InsertHeader) JavaClass() string { return KafkaTransformsPackage + "InsertHeader" }

// JavaClass returns org.apache.kafka.connect.transforms.RegexRouter.
func (t *RegexRouter) JavaClass() string { return KafkaTransformsPackage + "RegexRouter" }

// JavaClass returns org.apache.kafka.connect.transforms.TimestampRouter.
func (t *TimestampRouter) JavaClass() string { return KafkaTransformsPackage + "TimestampRouter" }

// JavaClass returns org.apache.kafka.connect.transforms.ValueToKey.
func (t *ValueToKey) JavaClass() string { return KafkaTransformsPackage + "ValueToKey" }

// JavaClass returns org.apache.kafka.connect.transforms.predicates.TopicNameMatches.
func (p *TopicNameMatches) JavaClass() string { return KafkaPredicatesPackage + "TopicNameMatches" }

// JavaClass returns org.apache.kafka.connect.transforms.predicates.HasHeaderKey.
func (p *HasHeaderKey) JavaClass() string { return KafkaPredicatesPackage + "HasHeaderKey" }

// JavaClass returns org.apache.kafka.connect.transforms.predicates.RecordIsTombstone.
func (RecordIsTombstone) JavaClass() string { return KafkaPredicatesPackage + "RecordIsTombstone" }
