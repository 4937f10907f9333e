package connect

import "fmt"

// JavaClassNamer is implemented by components (converters, header
// converters, transforms, predicates, tasks) that have a Kafka Connect
// counterpart: JavaClass returns that counterpart's fully qualified Java
// class name, e.g. "org.apache.kafka.connect.json.JsonConverter" or
// "org.apache.kafka.connect.transforms.Cast$Value". It is what Sluice shows
// where Kafka Connect shows a class name (the dead-letter queue's
// __connect.errors.class.name header, the *-class metrics, plugin lists), so
// that routing rules, dashboards and runbooks written for Kafka Connect keep
// matching. It must be cheap and return the same value on every call; safe
// for concurrent use.
type JavaClassNamer interface {
	JavaClass() string
}

// ClassName returns the class name Sluice reports for component v: its
// JavaClass when v implements JavaClassNamer and returns a non-empty name,
// otherwise its Go type as fmt's %T prints it (e.g. "*mypkg.Converter"),
// and "" for nil.
func ClassName(v any) string {
	if v == nil {
		return ""
	}
	if n, ok := v.(JavaClassNamer); ok {
		if c := n.JavaClass(); c != "" {
			return c
		}
	}
	return fmt.Sprintf("%T", v)
}
