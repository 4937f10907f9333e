package converters_test

import (
	"context"
	"fmt"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/converters"
)

func ExampleNewJSON() {
	order := connect.StructBuilder().Name("com.acme.Order").
		Field("id", connect.Int32Schema).
		Field("amt", connect.DecimalBuilder(2).Optional().MustBuild()).
		MustBuild()
	value := connect.NewStruct(order).
		MustPut("id", int32(1)).
		MustPut("amt", connect.NewDecimal(222, 2)) // 2.22

	// The zero config means Kafka Connect's defaults: schemas.enable=true,
	// decimal.format=BASE64, replace.null.with.default=true.
	c, err := converters.NewJSON(converters.JSONConfig{})
	if err != nil {
		panic(err)
	}
	b, err := c.FromConnect(context.Background(), "orders", nil, order, value)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))

	sv, err := c.ToConnect(context.Background(), "orders", nil, b)
	if err != nil {
		panic(err)
	}
	fmt.Println(sv.Schema, sv.Value)
	// Output:
	// {"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"},"field":"amt"}],"optional":false,"name":"com.acme.Order"},"payload":{"id":1,"amt":"AN4="}}
	// Schema{com.acme.Order:STRUCT} Struct{id=1,amt=2.22}
}

func ExampleNewJSON_schemaless() {
	c, _ := converters.NewJSON(converters.JSONConfig{SchemasDisabled: true})
	sv, err := c.ToConnect(context.Background(), "events", nil, []byte(`{"n":42,"ratio":0.5,"tags":["a"]}`))
	if err != nil {
		panic(err)
	}
	m := sv.Value.(map[string]any)
	fmt.Printf("%T %T %T\n", m["n"], m["ratio"], m["tags"])

	_, err = c.ToConnect(context.Background(), "events", nil, []byte(`{"n":`))
	fmt.Println(err)
	// Output:
	// int64 float64 []interface {}
	// JsonConverter: converting field "{n}": invalid JSON at offset 5: unexpected end of input
}

func ExampleRegistry() {
	// Properties as they appear in a connector config, with the
	// value.converter. prefix already stripped.
	r := converters.DefaultRegistry()
	c, err := r.New("org.apache.kafka.connect.json.JsonConverter", map[string]string{"schemas.enable": "false"}, false)
	if err != nil {
		panic(err)
	}
	b, _ := c.FromConnect(context.Background(), "t", nil, connect.Int32Schema, int32(7))
	fmt.Println(string(b))

	_, err = r.New("json", map[string]string{"schemas.enable": "yes"}, false)
	fmt.Println(err)

	// Users (and later converters) add their own classes.
	r.Register("com.acme.ShoutingConverter", converters.Factory{
		Converter: func(props map[string]string, isKey bool) (converters.Converter, error) {
			return converters.NewString(), nil
		},
	}, "shouting")
	_, err = r.New("shouting", nil, false)
	fmt.Println(err)
	// Output:
	// 7
	// converters: configuring org.apache.kafka.connect.json.JsonConverter: schemas.enable: want true or false, got "yes"
	// <nil>
}

func ExampleNewHeader() {
	h, _ := converters.NewHeader("org.apache.kafka.connect.storage.SimpleHeaderConverter", nil)
	for _, text := range []string{"42", "70000", "2.5", "true", "2024-01-02", "hello"} {
		sv, _ := h.ToConnectHeader(context.Background(), "t", "h", []byte(text))
		fmt.Println(sv.Schema.Type, sv.Value)
	}
	// Output:
	// INT8 42
	// INT32 70000
	// FLOAT32 2.5
	// BOOLEAN true
	// INT32 2024-01-02 00:00:00 +0000 UTC
	// STRING hello
}
