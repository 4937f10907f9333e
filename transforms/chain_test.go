package transforms

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/sluicehq/sluice/connect"
)

type closer struct {
	Transformation
	closed *int
}

func (c closer) Close() error { *c.closed++; return nil }

type closingPred struct {
	RecordIsTombstone
	closed *int
}

func (c *closingPred) Close() error { *c.closed++; return io.ErrClosedPipe }

func setTopic(topic string) TransformationFunc {
	return func(_ context.Context, r *connect.Record) (*connect.Record, error) {
		r.Topic = topic
		return r, nil
	}
}

func TestChainPredicateNegate(t *testing.T) {
	isOrders := must(NewTopicNameMatches(TopicNameMatchesConfig{Pattern: "orders"}))
	tests := []struct {
		name   string
		pred   Predicate
		negate bool
		topic  string
		want   string
	}{
		{"no predicate", nil, false, "orders", "x"},
		{"match", isOrders, false, "orders", "x"},
		{"no match", isOrders, false, "users", "users"},
		{"negate match", isOrders, true, "orders", "orders"},
		{"negate no match", isOrders, true, "users", "x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewChain(Stage{Alias: "s", Transformation: setTopic("x"), Predicate: tc.pred, Negate: tc.negate})
			if err != nil {
				t.Fatal(err)
			}
			out, err := c.Apply(ctx, &connect.Record{Topic: tc.topic})
			if err != nil {
				t.Fatal(err)
			}
			if out.Topic != tc.want {
				t.Fatalf("topic %q, want %q", out.Topic, tc.want)
			}
		})
	}
}

func TestChainDropStops(t *testing.T) {
	called := false
	c := must(NewChain(
		Stage{Transformation: Filter{}},
		Stage{Transformation: TransformationFunc(func(_ context.Context, r *connect.Record) (*connect.Record, error) {
			called = true
			return r, nil
		})},
	))
	out, err := c.Apply(ctx, &connect.Record{Topic: "t"})
	if out != nil || err != nil || called {
		t.Fatalf("out %v err %v called %v", out, err, called)
	}
}

func TestChainEmptyAndNil(t *testing.T) {
	r := &connect.Record{Topic: "t"}
	var nilChain *Chain
	for _, c := range []*Chain{nilChain, must(NewChain())} {
		out, err := c.Apply(ctx, r)
		if out != r || err != nil {
			t.Fatalf("got %v %v", out, err)
		}
		if c.Len() != 0 || c.Close() != nil {
			t.Fatal("empty chain")
		}
	}
}

func TestChainErrors(t *testing.T) {
	boom := connect.Retriable(errors.New("boom"))
	failing := TransformationFunc(func(context.Context, *connect.Record) (*connect.Record, error) { return nil, boom })
	c := must(NewChain(Stage{Alias: "f", Transformation: failing, Class: "com.acme.Fail"}))
	_, err := c.Apply(ctx, &connect.Record{})
	var ce *ChainError
	if !errors.As(err, &ce) || ce.Alias != "f" || ce.Class != "com.acme.Fail" || ce.Predicate != "" {
		t.Fatalf("got %#v", err)
	}
	if !connect.IsRetriable(err) || !errors.Is(err, boom) {
		t.Fatal("cause not visible through ChainError")
	}
	wantErr(t, err, `transformation "f" (com.acme.Fail) failed: retriable: boom`)

	failingPred := PredicateFunc(func(context.Context, *connect.Record) (bool, error) { return false, errors.New("bad") })
	c = must(NewChain(Stage{Alias: "f", Transformation: Filter{}, Predicate: failingPred, PredicateAlias: "p"}))
	_, err = c.Apply(ctx, &connect.Record{})
	if !errors.As(err, &ce) || ce.Predicate != "p" || ce.Class != "transforms.PredicateFunc" {
		t.Fatalf("got %#v", err)
	}
	wantErr(t, err, `predicate "p" of transformation "f" (transforms.PredicateFunc) failed: bad`)

	// The runtime builds a RecordError from it.
	re := connect.NewRecordError("c", 0, connect.StageTransformation, ce.Component, &connect.Record{Topic: "t"}, 1, err)
	wantErr(t, re, "stage TRANSFORMATION")
}

func TestNewChainValidation(t *testing.T) {
	_, err := NewChain(Stage{Alias: "a"})
	wantErr(t, err, "transforms.a.type: no transformation")
	_, err = NewChain(Stage{Alias: "a", Transformation: Filter{}, Negate: true})
	wantErr(t, err, "transforms.a.negate: negate requires a predicate")
	_, err = NewChain(Stage{Alias: "a", Transformation: Filter{}}, Stage{Alias: "a", Transformation: Filter{}})
	wantErr(t, err, `duplicate alias "a"`)
	c := must(NewChain(Stage{Transformation: Filter{}}))
	if s := c.Stages(); s[0].Alias != "0" || s[0].Class != "transforms.Filter" {
		t.Fatalf("defaults: %+v", s[0])
	}
}

func TestChainClose(t *testing.T) {
	var tc, pc int
	p := &closingPred{closed: &pc}
	c := must(NewChain(
		Stage{Alias: "a", Transformation: closer{Filter{}, &tc}, Predicate: p},
		Stage{Alias: "b", Transformation: closer{Filter{}, &tc}, Predicate: p},
		Stage{Alias: "c", Transformation: TransformationFunc(nil), Predicate: PredicateFunc(nil)},
	))
	err := c.Close()
	if tc != 2 || pc != 1 {
		t.Fatalf("closed %d transformations, %d predicates", tc, pc)
	}
	wantErr(t, err, `closing predicate "a-predicate"`)
}

func TestChainApplyAllocs(t *testing.T) {
	isOrders := must(NewTopicNameMatches(TopicNameMatchesConfig{Pattern: "orders"}))
	pass := TransformationFunc(func(_ context.Context, r *connect.Record) (*connect.Record, error) { return r, nil })
	c := must(NewChain(
		Stage{Alias: "a", Transformation: pass, Predicate: isOrders},
		Stage{Alias: "b", Transformation: pass, Predicate: isOrders, Negate: true},
		Stage{Alias: "c", Transformation: pass},
	))
	r := &connect.Record{Topic: "orders"}
	if n := testing.AllocsPerRun(100, func() { _, _ = c.Apply(ctx, r) }); n != 0 {
		t.Fatalf("chain allocates %v per record", n)
	}
}

func TestChainConcurrent(t *testing.T) {
	c := must(NewRegistry().ParseChain(map[string]string{
		"transforms":                   "ins,route",
		"transforms.ins.type":          "InsertField$Value",
		"transforms.ins.topic.field":   "t",
		"transforms.route.type":        "RegexRouter",
		"transforms.route.regex":       "(.*)",
		"transforms.route.replacement": "x-$1",
	}))
	done := make(chan bool)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 200; i++ {
				r := sourceRec("orders", personSchema, person())
				out, err := c.Apply(ctx, r)
				if err != nil || out.Topic != "x-orders" {
					panic(err)
				}
			}
			done <- true
		}()
	}
	for g := 0; g < 8; g++ {
		<-done
	}
}
