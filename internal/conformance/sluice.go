package conformance

import (
	"context"
	"encoding/base64"
	"fmt"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/converters"
	"github.com/sluicehq/sluice/internal/safecall"
	"github.com/sluicehq/sluice/transforms"
)

// RunSluice runs req through Sluice's converters and transforms and returns
// the result in canonical form. A panic is a failure of the phase it
// happened in (and shows up as a divergence whenever Kafka Connect did not
// fail too).
func RunSluice(ctx context.Context, req *Request) *Response {
	resp := &Response{ID: req.ID}
	if (req.Op == OpTransform || req.Op == OpPredicate) && req.Record == nil {
		resp.InputError = "no record"
		return resp
	}
	switch req.Op {
	case OpConvert, OpParse:
		runConverter(ctx, req, resp)
	case OpHeaderConvert, OpHeaderParse:
		runHeaderConverter(ctx, req, resp)
	case OpTransform:
		runTransform(ctx, req, resp)
	case OpPredicate:
		runPredicate(ctx, req, resp)
	default:
		resp.HarnessError = fmt.Sprintf("unknown op %q", req.Op)
	}
	return resp
}

var (
	converterRegistry = converters.DefaultRegistry()
	transformRegistry = transforms.NewRegistry()
)

func fail(resp *Response, phase string, err error) {
	resp.Phase = phase
	resp.Error = fmt.Sprintf("%T: %v", err, err)
}

// guard runs fn, turning a panic into an error.
func guard(fn func() error) error {
	return safecall.Call("conformance", fn)
}

func decodeData(s *string) ([]byte, error) {
	if s == nil {
		return nil, nil
	}
	return base64.StdEncoding.DecodeString(*s)
}

func encodeData(b []byte) *string {
	if b == nil {
		return nil
	}
	return ptr(base64.StdEncoding.EncodeToString(b))
}

func runConverter(ctx context.Context, req *Request, resp *Response) {
	var conv converters.Converter
	if err := guard(func() (err error) {
		conv, err = converterRegistry.New(req.Class, req.Config, req.IsKey)
		return err
	}); err != nil {
		fail(resp, "configure", err)
		return
	}
	roundTrip(req, resp,
		func(schema *connect.Schema, value any) ([]byte, error) {
			var hdrs connect.Headers
			return conv.FromConnect(ctx, req.Topic, &hdrs, schema, value)
		},
		func(data []byte) (connect.SchemaAndValue, error) { return conv.ToConnect(ctx, req.Topic, nil, data) })
}

func runHeaderConverter(ctx context.Context, req *Request, resp *Response) {
	var conv converters.HeaderConverter
	if err := guard(func() (err error) {
		conv, err = converterRegistry.NewHeader(req.Class, req.Config)
		return err
	}); err != nil {
		fail(resp, "configure", err)
		return
	}
	roundTrip(req, resp,
		func(schema *connect.Schema, value any) ([]byte, error) {
			return conv.FromConnectHeader(ctx, req.Topic, req.Key, schema, value)
		},
		func(data []byte) (connect.SchemaAndValue, error) {
			return conv.ToConnectHeader(ctx, req.Topic, req.Key, data)
		})
}

// roundTrip serialises the request's schema and value with from (convert
// ops) or takes its data (parse ops), then reads the bytes with to.
func roundTrip(req *Request, resp *Response, from func(*connect.Schema, any) ([]byte, error),
	to func([]byte) (connect.SchemaAndValue, error)) {
	var data []byte
	if req.Op == OpConvert || req.Op == OpHeaderConvert {
		schema, err := toSchema(req.Schema)
		if err != nil {
			resp.InputError = err.Error()
			return
		}
		value, err := toValue(schema, req.Value)
		if err != nil {
			resp.InputError = err.Error()
			return
		}
		if err := guard(func() (err error) {
			data, err = from(schema, value)
			return err
		}); err != nil {
			fail(resp, "from", err)
			return
		}
		resp.Bytes = encodeData(data)
	} else {
		var err error
		if data, err = decodeData(req.Data); err != nil {
			resp.InputError = err.Error()
			return
		}
	}
	var sv connect.SchemaAndValue
	if err := guard(func() (err error) {
		sv, err = to(data)
		return err
	}); err != nil {
		fail(resp, "to", err)
		return
	}
	resp.Back = &SchemaValue{Schema: fromSchema(sv.Schema), Value: fromValue(sv.Value)}
}

func runTransform(ctx context.Context, req *Request, resp *Response) {
	var tr transforms.Transformation
	if err := guard(func() (err error) {
		tr, err = transformRegistry.NewTransformation(req.Class, req.Config)
		return err
	}); err != nil {
		fail(resp, "configure", err)
		return
	}
	defer closeIfCloser(tr)
	var pred transforms.Predicate
	if req.Predicate != nil {
		if pred = newPredicate(req.Predicate.Class, req.Predicate.Config, resp); pred == nil {
			return
		}
		defer closeIfCloser(pred)
	}
	rec, err := toRecord(req.Record)
	if err != nil {
		resp.InputError = err.Error()
		return
	}
	if pred != nil {
		ok, tested := testPredicate(ctx, pred, rec, resp)
		if !tested {
			return
		}
		if ok == req.Predicate.Negate {
			resp.Record = fromRecord(rec, req.Record.Sink != nil)
			return
		}
	}
	var out *connect.Record
	if err := guard(func() (err error) {
		out, err = tr.Apply(ctx, rec)
		return err
	}); err != nil {
		fail(resp, "apply", err)
		return
	}
	if out != nil {
		resp.Record = fromRecord(out, req.Record.Sink != nil)
	}
}

func runPredicate(ctx context.Context, req *Request, resp *Response) {
	pred := newPredicate(req.Class, req.Config, resp)
	if pred == nil {
		return
	}
	defer closeIfCloser(pred)
	rec, err := toRecord(req.Record)
	if err != nil {
		resp.InputError = err.Error()
		return
	}
	if ok, tested := testPredicate(ctx, pred, rec, resp); tested {
		resp.Result = &ok
	}
}

// newPredicate builds a predicate, or records the configure failure in
// resp and returns nil.
func newPredicate(class string, config map[string]string, resp *Response) transforms.Predicate {
	var pred transforms.Predicate
	if err := guard(func() (err error) {
		pred, err = transformRegistry.NewPredicate(class, config)
		return err
	}); err != nil {
		fail(resp, "configure", err)
		return nil
	}
	return pred
}

// testPredicate tests rec, or records the failure in resp and reports
// false for tested.
func testPredicate(ctx context.Context, pred transforms.Predicate, rec *connect.Record, resp *Response) (result, tested bool) {
	if err := guard(func() (err error) {
		result, err = pred.Test(ctx, rec)
		return err
	}); err != nil {
		fail(resp, "predicate", err)
		return false, false
	}
	return result, true
}

func closeIfCloser(x any) {
	if c, ok := x.(interface{ Close() error }); ok {
		_ = c.Close()
	}
}
