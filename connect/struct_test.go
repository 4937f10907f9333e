package connect

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

func personSchema() *Schema {
	return StructBuilder().Name("com.acme.Person").
		Field("name", StringSchema).
		Field("age", OptionalInt32Schema).
		Field("country", NewSchemaBuilder(TypeString).DefaultValue("NL").MustBuild()).
		Field("photo", OptionalBytesSchema).
		MustBuild()
}

func TestNewStructPanicsOnNonStruct(t *testing.T) {
	for _, s := range []*Schema{nil, Int32Schema, ArrayBuilder(StringSchema).MustBuild()} {
		func() {
			defer func() {
				r := recover()
				if r == nil {
					t.Errorf("NewStruct(%v) did not panic", s)
					return
				}
				if msg, _ := r.(string); !strings.Contains(msg, "NewStruct needs a STRUCT schema, got "+s.String()) {
					t.Errorf("panic = %v", r)
				}
			}()
			NewStruct(s)
		}()
	}
}

func TestStructPut(t *testing.T) {
	schema := personSchema()
	tests := []struct {
		name   string
		field  string
		v      any
		path   string // "" = ok
		reason string
	}{
		{"string", "name", "Ada", "", ""},
		{"optional int32", "age", int32(36), "", ""},
		{"optional nil", "age", nil, "", ""},
		{"nil with default", "country", nil, "", ""},
		{"bytes", "photo", []byte{1, 2, 3}, "", ""},
		{"wrong type int", "age", 36, "age", "expects Go type int32, got int"},
		{"wrong type int64", "age", int64(36), "age", "expects Go type int32, got int64"},
		{"required nil", "name", nil, "name", "null used for required STRING schema"},
		{"string for bytes", "photo", "abc", "photo", "expects Go type []byte, got string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := NewStruct(schema)
			st.values[schema.Field(tc.field).Index] = "sentinel"
			err := st.Put(tc.field, tc.v)
			got, _ := st.GetWithoutDefault(tc.field)
			if tc.path == "" {
				if err != nil {
					t.Fatalf("Put(%q, %v) = %v", tc.field, tc.v, err)
				}
				if !ValuesEqual(got, tc.v) {
					t.Errorf("after Put, value = %v, want %v", got, tc.v)
				}
				return
			}
			validationErr(t, err, tc.path, tc.reason)
			if err != nil && !strings.Contains(err.Error(), `field "`+tc.field+`"`) {
				t.Errorf("error %q does not name the field", err)
			}
			if got != "sentinel" {
				t.Errorf("failed Put changed the struct: value = %v", got)
			}
		})
	}
}

func TestStructUnknownField(t *testing.T) {
	st := NewStruct(personSchema())
	want := `connect: Schema{com.acme.Person:STRUCT} has no field "nope"`
	check := func(op string, err error) {
		t.Helper()
		if err == nil || err.Error() != want {
			t.Errorf("%s error = %v, want %q", op, err, want)
		}
	}
	check("Put", st.Put("nope", "x"))
	_, err := st.Get("nope")
	check("Get", err)
	_, err = st.GetWithoutDefault("nope")
	check("GetWithoutDefault", err)
	_, err = GetAs[string](st, "nope")
	check("GetAs", err)
	func() {
		defer func() {
			if recover() == nil {
				t.Error("MustPut on an unknown field did not panic")
			}
		}()
		st.MustPut("nope", "x")
	}()
}

func TestStructGetDefaults(t *testing.T) {
	st := NewStruct(personSchema()).MustPut("name", "Ada")
	tests := []struct {
		field       string
		get, getRaw any
	}{
		{"name", "Ada", "Ada"},
		{"age", nil, nil},
		{"country", "NL", nil}, // unset: Get returns the default
		{"photo", nil, nil},
	}
	for _, tc := range tests {
		got, err := st.Get(tc.field)
		if err != nil || !ValuesEqual(got, tc.get) {
			t.Errorf("Get(%q) = %v, %v; want %v", tc.field, got, err, tc.get)
		}
		raw, err := st.GetWithoutDefault(tc.field)
		if err != nil || !ValuesEqual(raw, tc.getRaw) {
			t.Errorf("GetWithoutDefault(%q) = %v, %v; want %v", tc.field, raw, err, tc.getRaw)
		}
	}
	st.MustPut("country", "DE")
	if got, _ := st.Get("country"); got != "DE" {
		t.Errorf("Get(country) after Put = %v, want DE", got)
	}
	st.MustPut("country", nil)
	if got, _ := st.Get("country"); got != "NL" {
		t.Errorf("Get(country) after Put(nil) = %v, want default NL", got)
	}
	if got := st.At(0); got != "Ada" {
		t.Errorf("At(0) = %v", got)
	}
	if got := st.At(2); got != nil {
		t.Errorf("At(2) = %v, want nil (At ignores defaults)", got)
	}
	if st.Schema() == nil || st.Schema().Name != "com.acme.Person" {
		t.Errorf("Schema() = %v", st.Schema())
	}
}

func TestStructPutField(t *testing.T) {
	schema := personSchema()
	st := NewStruct(schema)
	f := schema.Field("age")
	if err := st.PutField(f, int32(7)); err != nil {
		t.Fatal(err)
	}
	if got := st.At(f.Index); got != int32(7) {
		t.Errorf("At = %v", got)
	}
	validationErr(t, st.PutField(f, "seven"), "age", "expects Go type int32, got string")
	if got := st.At(f.Index); got != int32(7) {
		t.Errorf("failed PutField changed the value to %v", got)
	}
}

func TestGetAs(t *testing.T) {
	st := NewStruct(personSchema()).MustPut("name", "Ada").MustPut("photo", []byte{9})
	if got, err := GetAs[string](st, "name"); err != nil || got != "Ada" {
		t.Errorf("GetAs[string](name) = %q, %v", got, err)
	}
	if got, err := GetAs[string](st, "country"); err != nil || got != "NL" {
		t.Errorf("GetAs[string](country) = %q, %v; want the default", got, err)
	}
	if got, err := GetAs[[]byte](st, "photo"); err != nil || len(got) != 1 || got[0] != 9 {
		t.Errorf("GetAs[[]byte](photo) = %v, %v", got, err)
	}
	if got, err := GetAs[int32](st, "age"); err != nil || got != 0 {
		t.Errorf("GetAs[int32](unset optional) = %v, %v; want 0, nil", got, err)
	}
	if got, err := GetAs[any](st, "name"); err != nil || got != "Ada" {
		t.Errorf("GetAs[any](name) = %v, %v", got, err)
	}
	got, err := GetAs[int64](st, "name")
	if err == nil || got != 0 {
		t.Fatalf("GetAs[int64](name) = %v, %v; want error", got, err)
	}
	if want := `connect: field "name" holds string, not int64`; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}

func TestStructValidate(t *testing.T) {
	o := newOrderSchemas()
	person := personSchema()

	// Missing required field, named by path.
	st := NewStruct(person)
	validationErr(t, st.Validate(), "name", "null used for required STRING schema")
	st.MustPut("name", "Ada")
	if err := st.Validate(); err != nil {
		t.Errorf("Validate with only required fields set (default for country) = %v", err)
	}

	// The first offending field in field order is reported.
	ord := NewStruct(o.order)
	validationErr(t, ord.Validate(), "id", "null used for required INT64 schema")
	ord.MustPut("id", int64(1))
	validationErr(t, ord.Validate(), "customer", "null used for required STRUCT schema com.acme.Customer")

	// Put validates nested structs fully, as Kafka Connect does.
	emptyCustomer := NewStruct(o.customer)
	validationErr(t, ord.Put("customer", emptyCustomer), "customer.name", "null used for required STRING schema")
	incomplete := NewStruct(o.customer).MustPut("name", "Ada")
	validationErr(t, ord.Put("customer", incomplete), "customer.address", "null used for required STRUCT schema com.acme.Address")

	// A struct of another schema is rejected, by path.
	other := StructBuilder().Name("com.acme.Other").Field("name", StringSchema).MustBuild()
	validationErr(t, ord.Put("customer", NewStruct(other).MustPut("name", "x")), "customer",
		"struct schema Schema{com.acme.Other:STRUCT} does not match field schema Schema{com.acme.Customer:STRUCT}")

	// A struct of an equal (but distinct) schema is accepted.
	customerCopy := FromSchema(o.customer).MustBuild()
	addr := NewStruct(o.address).MustPut("zip", "1234")
	c := NewStruct(customerCopy).MustPut("name", "Ada").MustPut("address", addr)
	if err := ord.Put("customer", c); err != nil {
		t.Errorf("Put of struct with equal schema = %v", err)
	}
	ord.MustPut("items", []any{o.item2("a", 1)})
	if err := ord.Validate(); err != nil {
		t.Fatalf("complete order: %v", err)
	}

	// Values put into a slice can be changed afterwards; Validate catches it.
	items := []any{o.item2("a", 1), o.item2("b", 2), o.item2("c", 3)}
	ord.MustPut("items", items)
	items[2] = NewStruct(o.item).MustPut("sku", "c")
	validationErr(t, ord.Validate(), "items[2].qty", "null used for required INT32 schema")
	items[2] = NewStruct(other).MustPut("name", "x")
	validationErr(t, ord.Validate(), "items[2]", "does not match field schema Schema{com.acme.Item:STRUCT}")
}

func TestStructEqual(t *testing.T) {
	schema := personSchema()
	mk := func(name string, photo []byte) *Struct {
		s := NewStruct(schema).MustPut("name", name)
		if photo != nil {
			s.MustPut("photo", photo)
		}
		return s
	}
	a := mk("Ada", []byte{1, 2})
	tests := []struct {
		name string
		b    *Struct
		want bool
	}{
		{"same", a, true},
		{"equal values", mk("Ada", []byte{1, 2}), true},
		{"other value", mk("Bob", []byte{1, 2}), false},
		{"other bytes", mk("Ada", []byte{1, 3}), false},
		{"unset vs set", mk("Ada", nil), false},
		{"equal schema copy", NewStruct(FromSchema(schema).MustBuild()).MustPut("name", "Ada").MustPut("photo", []byte{1, 2}), true},
		{"other schema", NewStruct(FromSchema(schema).Name("other").MustBuild()).MustPut("name", "Ada").MustPut("photo", []byte{1, 2}), false},
		{"nil", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := a.Equal(tc.b); got != tc.want {
				t.Errorf("a.Equal(b) = %v, want %v", got, tc.want)
			}
			if tc.b != nil {
				if got := tc.b.Equal(a); got != tc.want {
					t.Errorf("b.Equal(a) = %v, want %v", got, tc.want)
				}
			}
		})
	}
	var n1, n2 *Struct
	if !n1.Equal(n2) {
		t.Error("nil.Equal(nil) = false")
	}
	if n1.Equal(a) {
		t.Error("nil.Equal(a) = true")
	}
}

func TestStructString(t *testing.T) {
	o := newOrderSchemas()
	amount := StructBuilder().Field("amount", DecimalSchema(2)).Field("note", OptionalStringSchema).MustBuild()
	tests := []struct {
		name string
		s    *Struct
		want string
	}{
		{"empty", NewStruct(personSchema()), "Struct{}"},
		{"unset omitted", NewStruct(personSchema()).MustPut("name", "Ada").MustPut("age", int32(36)), "Struct{name=Ada,age=36}"},
		{"default not shown", NewStruct(personSchema()).MustPut("name", "Ada").MustPut("photo", []byte{1, 2}), "Struct{name=Ada,photo=[1 2]}"},
		{"decimal", NewStruct(amount).MustPut("amount", NewDecimal(-1234, 2)), "Struct{amount=-12.34}"},
		{"nested", NewStruct(o.customer).MustPut("name", "Ada").MustPut("address", NewStruct(o.address).MustPut("zip", "1234")),
			"Struct{name=Ada,address=Struct{zip=1234}}"},
	}
	for _, tc := range tests {
		if got := tc.s.String(); got != tc.want {
			t.Errorf("%s: String() = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestStructMustPutChains(t *testing.T) {
	st := NewStruct(personSchema())
	if got := st.MustPut("name", "Ada"); got != st {
		t.Error("MustPut does not return its receiver")
	}
	defer func() {
		r := recover()
		err, ok := r.(error)
		if !ok {
			t.Fatalf("MustPut panic value = %#v, want an error", r)
		}
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Path != "age" {
			t.Errorf("MustPut panic = %v", err)
		}
	}()
	st.MustPut("age", "old")
}

// Schemas and fully built structs are shared read-only between goroutines.
func TestSharedSchemaConcurrentReads(t *testing.T) {
	o := newOrderSchemas()
	addr := NewStruct(o.address).MustPut("zip", "1234")
	cust := NewStruct(o.customer).MustPut("name", "Ada").MustPut("address", addr)
	ord := NewStruct(o.order).MustPut("id", int64(1)).MustPut("customer", cust).
		MustPut("items", []any{o.item2("a", 1)})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				if err := ValidateValue(o.order, ord); err != nil {
					t.Error(err)
					return
				}
				mine := NewStruct(o.item).MustPut("sku", "x").MustPut("qty", int32(j))
				if v, _ := GetAs[int32](mine, "qty"); v != int32(j) {
					t.Errorf("qty = %d", v)
					return
				}
				_ = ord.String()
				_ = o.order.Equal(FromSchema(o.order).MustBuild())
			}
		}()
	}
	wg.Wait()
}
