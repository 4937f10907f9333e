package source

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"unicode/utf8"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/safecall"
)

// Every call into task and connector code goes through one of these: a
// panic becomes a *safecall.PanicError (value and stack trace), which fails
// the task (FAILED, restart policy applies) instead of the process.

func (r *taskRunner) callNewTask() (task Task, err error) {
	err = safecall.Call("NewTask", func() error {
		if task = r.p.cfg.NewTask(); task == nil {
			return errors.New("NewTask returned nil")
		}
		class, version := connect.ClassName(task), connect.VersionOf(task)
		r.taskName.Store(&taskIdent{class, version})
		return nil
	})
	return task, err // nil when NewTask panicked or returned nil
}

func (r *taskRunner) callStart(ctx context.Context) error {
	return safecall.Call("Start", func() error { return r.task.Start(ctx, taskContext{r}) })
}

func (r *taskRunner) callPoll(ctx context.Context) (batch []connect.Record, err error) {
	err = safecall.Call("Poll", func() error {
		batch, err = r.task.Poll(ctx)
		return err
	})
	return batch, err // nil after a panic: Poll never returned
}

func (r *taskRunner) callStop(ctx context.Context) error {
	return safecall.Call("Stop", func() error { return r.task.Stop(ctx) })
}

func (r *taskRunner) callCommitRecord(ctx context.Context, rec *connect.Record, meta *RecordMetadata) error {
	return safecall.Call("CommitRecord", func() error { return r.committer.CommitRecord(ctx, rec, meta) })
}

func (r *taskRunner) callCommit(ctx context.Context, c Committer) error {
	return safecall.Call("Commit", func() error { return c.Commit(ctx) })
}

func callTaskConfigs(ctx context.Context, c Connector, config map[string]string, maxTasks int) (configs []map[string]string, err error) {
	err = safecall.Call("connector TaskConfigs", func() error {
		configs, err = c.TaskConfigs(ctx, config, maxTasks)
		return err
	})
	return configs, err
}

// checkOffsets reports a source partition or offset the offset stores
// cannot serialise (Kafka Connect's OffsetUtils.validateFormat): members
// must be strings (valid UTF-8), booleans, integers (unsigned ones up to the
// largest Java long), finite floats or nil, named types of those kinds
// included. It allocates nothing for valid maps once it has seen the offset
// map's member names (it keeps the previous offset's names to check the next
// one by lookup). A source partition that is
// the very map of one of the last validParts found valid (a task reusing one
// map per source partition, the common case) is not walked again: maps a
// task returned must not be modified afterwards
// (connect.Record.SourcePartition). Poll goroutine only.
func (r *taskRunner) checkOffsets(rec *connect.Record) error {
	if _, known := r.validParts.Get(rec.SourcePartition); !known {
		if err := checkOffsetMap(rec.SourcePartition); err != nil {
			return fmt.Errorf("source partition %s: %w", connect.FormatMap(rec.SourcePartition), err)
		}
		r.validParts.Put(rec.SourcePartition, struct{}{})
	}
	if err := r.checkOffset(rec.SourceOffset); err != nil {
		return fmt.Errorf("source offset %s of source partition %s: %w",
			connect.FormatMap(rec.SourceOffset), connect.FormatMap(rec.SourcePartition), err)
	}
	return nil
}

// checkOffset is checkOffsetMap for source offsets, which are usually a new
// map per record with the member names of the previous one: when m has as
// many members as the offset last walked and holds each of its names, its
// names were checked already and only its values are, by lookup (cheaper
// than a range over the map). Otherwise m is walked and its names kept for
// the next record. Poll goroutine only.
func (r *taskRunner) checkOffset(m map[string]any) error {
	if len(m) == len(r.offsetNames) {
		known := true
		for _, k := range r.offsetNames {
			v, ok := m[k]
			if !ok || checkOffsetValue(v) != nil {
				known = false // the walk below reports a bad value
				break
			}
		}
		if known {
			return nil
		}
	}
	if err := checkOffsetMap(m); err != nil {
		return err
	}
	r.offsetNames = r.offsetNames[:0]
	for k := range m {
		r.offsetNames = append(r.offsetNames, k)
	}
	return nil
}

func checkOffsetMap(m map[string]any) error {
	for k, v := range m {
		if !utf8.ValidString(k) {
			return fmt.Errorf("member name %q is not valid UTF-8", k)
		}
		if err := checkOffsetValue(v); err != nil {
			return fmt.Errorf("member %q: %w", k, err)
		}
	}
	return nil
}

func checkOffsetValue(v any) error {
	switch x := v.(type) {
	case nil, bool, int, int64, int32, int16, int8, uint32, uint16, uint8:
		return nil
	case string:
		if !utf8.ValidString(x) {
			return fmt.Errorf("string value is not valid UTF-8")
		}
		return nil
	case uint:
		return checkUint(uint64(x))
	case uint64:
		return checkUint(x)
	case float64:
		return checkFloat(x)
	case float32:
		return checkFloat(float64(x))
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String:
		return checkOffsetValue(rv.String())
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return checkUint(rv.Uint())
	case reflect.Float32, reflect.Float64:
		return checkFloat(rv.Float())
	}
	return fmt.Errorf("value of type %T is not allowed in source partitions and offsets: use a string, bool, integer, float or nil (Kafka Connect's OffsetUtils.validateFormat)", v)
}

func checkUint(u uint64) error {
	if u > math.MaxInt64 {
		return fmt.Errorf("integer %d is out of range (above the largest Java long)", u)
	}
	return nil
}

func checkFloat(f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("float %v cannot be written as JSON", f)
	}
	return nil
}
