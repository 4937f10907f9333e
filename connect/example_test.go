package connect_test

import (
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/connect"
)

// Build a nested STRUCT schema, fill a Struct, and see how validation names
// the offending field.
func ExampleSchemaBuilder() {
	address := connect.StructBuilder().Name("com.acme.Address").
		Field("zip", connect.StringSchema).
		Field("city", connect.OptionalStringSchema).
		MustBuild()
	customer, err := connect.StructBuilder().Name("com.acme.Customer").Version(1).
		Field("id", connect.Int64Schema).
		Field("name", connect.StringSchema).
		Field("country", connect.NewSchemaBuilder(connect.TypeString).DefaultValue("NL").MustBuild()).
		Field("address", address).
		Field("balance", connect.DecimalSchema(2)).
		Build()
	if err != nil {
		panic(err)
	}

	balance, _ := connect.ParseDecimal("-12.50")
	c := connect.NewStruct(customer).
		MustPut("id", int64(42)).
		MustPut("name", "Ada").
		MustPut("address", connect.NewStruct(address).MustPut("zip", "1011AB")).
		MustPut("balance", balance)
	fmt.Println(customer)
	fmt.Println(c)
	fmt.Println("valid:", c.Validate() == nil)
	country, _ := connect.GetAs[string](c, "country")
	fmt.Println("country (default):", country)

	err = c.Put("id", 42) // an int, not an int64
	var ve *connect.ValidationError
	if errors.As(err, &ve) {
		fmt.Println("path:", ve.Path)
	}
	fmt.Println(err)

	_, err = connect.NewSchemaBuilder(connect.TypeInt32).Field("x", connect.StringSchema).Build()
	fmt.Println(err)
	// Output:
	// Schema{com.acme.Customer:STRUCT}
	// Struct{id=42,name=Ada,address=Struct{zip=1011AB},balance=-12.50}
	// valid: true
	// country (default): NL
	// path: id
	// connect: invalid value for field "id": INT64 schema expects Go type int64, got int
	// connect: cannot add field "x" to a INT32 schema
}

// Decimals travel as Kafka Connect encodes them: the unscaled value as
// big-endian two's complement bytes, with the scale in the schema.
func ExampleDecimal() {
	schema := connect.DecimalSchema(2)
	d, err := connect.ParseDecimal("-1.29")
	if err != nil {
		panic(err)
	}
	b, _ := connect.DecimalToBytes(schema, d)
	fmt.Printf("%s unscaled=%s scale=%d bytes=% x\n", d, d.Unscaled, d.Scale, b)

	back, _ := connect.DecimalFromBytes(schema, b)
	fmt.Println(back, back.Equal(d))

	_, err = connect.DecimalToBytes(schema, connect.NewDecimal(1234, 3))
	fmt.Println(err)

	r, _ := connect.NewDecimal(1234, 3).Rescale(4)
	fmt.Println(r, r.Rat(), r.Float64())
	// Output:
	// -1.29 unscaled=-129 scale=2 bytes=ff 7f
	// -1.29 true
	// connect: Decimal has scale 3 but its schema has scale 2
	// 1.2340 617/500 1.234
}
