package avro_test

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/converters"
	"github.com/sluicehq/sluice/converters/avro"
)

func ExampleNew() {
	// An in-process Schema Registry; use your registry's URLs instead.
	registry := srfake.New()
	defer registry.Close()

	c, err := avro.New(avro.Config{URLs: []string{registry.URL()}}, false)
	if err != nil {
		panic(err)
	}
	schema := connect.StructBuilder().Name("com.acme.Order").
		Field("id", connect.Int64Schema).
		Field("amount", connect.DecimalSchema(2)).
		MustBuild()
	value := connect.NewStruct(schema).
		MustPut("id", int64(42)).
		MustPut("amount", connect.NewDecimal(1999, 2))

	ctx := context.Background()
	data, err := c.FromConnect(ctx, "orders", nil, schema, value)
	if err != nil {
		panic(err)
	}
	fmt.Printf("% x\n", data)
	registered, _ := registry.GetSchema("orders-value", 1)
	fmt.Println(registered.Schema.Schema)

	back, err := c.ToConnect(ctx, "orders", nil, data)
	if err != nil {
		panic(err)
	}
	fmt.Println(back.Value, "version", back.Schema.Version)
	// Output:
	// 00 00 00 00 01 54 04 07 cf
	// {"type":"record","name":"Order","namespace":"com.acme","fields":[{"name":"id","type":"long"},{"name":"amount","type":{"type":"bytes","scale":2,"precision":64,"connect.version":1,"connect.parameters":{"scale":"2"},"connect.name":"org.apache.kafka.connect.data.Decimal","logicalType":"decimal"}}],"connect.name":"com.acme.Order"}
	// Struct{id=42,amount=19.99} version 1
}

func ExampleRegister() {
	r := converters.DefaultRegistry()
	avro.Register(r)
	c, err := r.New("io.confluent.connect.avro.AvroConverter", map[string]string{
		"schema.registry.url":         "http://registry-1:8081,http://registry-2:8081",
		"value.subject.name.strategy": "io.confluent.kafka.serializers.subject.RecordNameStrategy",
		"auto.register.schemas":       "false",
	}, false)
	if err != nil {
		panic(err)
	}
	cfg := c.(*avro.Converter).Config()
	fmt.Println(cfg.URLs, cfg.SubjectNameStrategy, cfg.AutoRegisterDisabled)
	// Output: [http://registry-1:8081 http://registry-2:8081] RecordNameStrategy true
}
