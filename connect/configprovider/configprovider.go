// Package configprovider resolves Kafka Connect's configuration variables,
// ${provider:path:key} and ${provider:key}, with Kafka's config providers
// (KIP-297, KIP-421, KIP-887, KIP-993) and with providers written in Go
// (a secrets manager, a vault): a connector's configuration keeps the
// references, and the values are looked up only when the connector is
// built.
//
// A worker declares its providers with Kafka Connect's keys:
//
//	config.providers=file,env,dir
//	config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider
//	config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider
//	config.providers.env.param.allowlist.pattern=^KAFKA_.*
//	config.providers.dir.class=org.apache.kafka.common.config.provider.DirectoryConfigProvider
//
// [FromProperties] turns those keys into providers; [Resolve] replaces the
// variables of a configuration as Kafka's ConfigTransformer does. The
// Runner (package connect/runner) does both for every connector it builds
// from properties.
package configprovider

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// Provider looks up configuration values, as Kafka's ConfigProvider does.
//
// Get returns the values of keys under path (path is "" for a reference
// without one, ${name:key}). A key it does not know is left out of the
// result (the reference then stays in the configuration as written); an
// error means the lookup itself failed (an unreadable file, an unreachable
// secrets manager) and fails the connector's start. Errors must not quote
// secret values. Get may be called concurrently, by connectors starting at
// the same time, and must honour ctx.
type Provider interface {
	Get(ctx context.Context, path string, keys []string) (map[string]string, error)
}

// ProviderFunc adapts a function to [Provider].
type ProviderFunc func(ctx context.Context, path string, keys []string) (map[string]string, error)

// Get calls f.
func (f ProviderFunc) Get(ctx context.Context, path string, keys []string) (map[string]string, error) {
	return f(ctx, path, keys)
}

// Factory makes a provider from its parameters: the
// config.providers.<name>.param.* keys, prefix removed. An error fails
// [FromProperties], naming the provider.
type Factory func(params map[string]string) (Provider, error)

// Kafka's class names of the built-in providers, the values
// config.providers.<name>.class takes.
const (
	FileClass      = "org.apache.kafka.common.config.provider.FileConfigProvider"
	EnvVarClass    = "org.apache.kafka.common.config.provider.EnvVarConfigProvider"
	DirectoryClass = "org.apache.kafka.common.config.provider.DirectoryConfigProvider"
)

// Properties keys read by FromProperties.
const (
	// KeyProviders lists the providers' names (comma-separated).
	KeyProviders = "config.providers"
)

// FromProperties returns the providers a worker's properties declare:
// config.providers lists names; config.providers.<name>.class names each
// one's class (FileClass, EnvVarClass, DirectoryClass, or a class in
// classes, which may also replace a built-in one); and
// config.providers.<name>.param.* are its parameters. Without
// config.providers it returns no providers. A missing or unknown class, or
// a factory's error, fails with an error naming the key; every problem is
// reported.
func FromProperties(props map[string]string, classes map[string]Factory) (map[string]Provider, error) {
	list := strings.TrimSpace(props[KeyProviders])
	if list == "" {
		return map[string]Provider{}, nil
	}
	out := map[string]Provider{}
	var errs []string
	for name := range strings.SplitSeq(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		prefix := KeyProviders + "." + name + "."
		classKey := prefix + "class"
		class := strings.TrimSpace(props[classKey])
		if class == "" {
			errs = append(errs, fmt.Sprintf("%s: missing: config.providers lists %q but names no class for it", classKey, name))
			continue
		}
		params := map[string]string{}
		for k, v := range props {
			if p, ok := strings.CutPrefix(k, prefix+"param."); ok {
				params[p] = v
			}
		}
		f, ok := classes[class]
		if !ok {
			f, ok = builtin[class]
		}
		if !ok {
			known := slices.Sorted(maps.Keys(builtin))
			for c := range classes {
				known = append(known, c)
			}
			errs = append(errs, fmt.Sprintf("%s: unknown config provider class %q (known: %s)", classKey, class, strings.Join(known, ", ")))
			continue
		}
		p, err := f(params)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%sparam: config provider %s (%s): %v", prefix, name, class, err))
			continue
		}
		out[name] = p
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("config providers: %s", strings.Join(errs, "; "))
	}
	return out, nil
}

var builtin = map[string]Factory{
	FileClass:      func(params map[string]string) (Provider, error) { return NewFile(params) },
	EnvVarClass:    func(params map[string]string) (Provider, error) { return NewEnvVar(params) },
	DirectoryClass: func(params map[string]string) (Provider, error) { return NewDirectory(params) },
}

// variable is Kafka's ConfigTransformer.DEFAULT_PATTERN: ${provider:key} or
// ${provider:path:key}.
var variable = regexp.MustCompile(`\$\{([^}]*?):(([^}]*?):)?([^}]*?)\}`)

// HasVariables reports whether value holds a ${provider:…} reference.
func HasVariables(value string) bool { return variable.MatchString(value) }

// ResolveError is a failed lookup: it names the configuration key, the
// provider and the path, never a value.
type ResolveError struct {
	// Key is a configuration key whose value references the provider.
	Key      string
	Provider string
	Path     string
	Err      error
}

func (e *ResolveError) Error() string {
	return fmt.Sprintf("resolving %s: config provider %q, path %q: %v", e.Key, e.Provider, e.Path, e.Err)
}

// Unwrap returns the provider's error.
func (e *ResolveError) Unwrap() error { return e.Err }

// Resolve returns a copy of config with its variables replaced as Kafka's
// ConfigTransformer replaces them: every ${name:path:key} or ${name:key}
// (path "") whose provider is in providers and whose key the provider
// returned is replaced by the value; a reference to an unknown provider,
// or to a key the provider did not return, is left as written. Each
// provider is asked once per path, for all the keys wanted under it.
// values lists the values the providers supplied that were substituted,
// sorted, so that the caller can mask them in logs and error texts. config
// is not modified. A provider's error fails Resolve with a *ResolveError.
func Resolve(ctx context.Context, providers map[string]Provider, config map[string]string) (out map[string]string, values []string, err error) {
	type ref struct{ provider, path string }
	wanted := map[ref][]string{}
	firstKey := map[ref]string{}
	for _, k := range slices.Sorted(maps.Keys(config)) {
		for _, m := range variable.FindAllStringSubmatch(config[k], -1) {
			r := ref{m[1], m[3]}
			if _, ok := providers[r.provider]; !ok {
				continue
			}
			if !slices.Contains(wanted[r], m[4]) {
				wanted[r] = append(wanted[r], m[4])
			}
			if _, ok := firstKey[r]; !ok {
				firstKey[r] = k
			}
		}
	}
	out = maps.Clone(config)
	if len(wanted) == 0 {
		return out, nil, nil
	}
	lookups := make(map[ref]map[string]string, len(wanted))
	for _, r := range slices.SortedFunc(maps.Keys(wanted), func(a, b ref) int {
		return strings.Compare(a.provider+"\x00"+a.path, b.provider+"\x00"+b.path)
	}) {
		data, err := providers[r.provider].Get(ctx, r.path, wanted[r])
		if err != nil {
			return nil, nil, &ResolveError{Key: firstKey[r], Provider: r.provider, Path: r.path, Err: err}
		}
		lookups[r] = data
	}
	for k, v := range config {
		nv := variable.ReplaceAllStringFunc(v, func(match string) string {
			m := variable.FindStringSubmatch(match)
			if val, ok := lookups[ref{m[1], m[3]}][m[4]]; ok {
				if !slices.Contains(values, val) {
					values = append(values, val)
				}
				return val
			}
			return match
		})
		out[k] = nv
	}
	slices.Sort(values)
	return out, values, nil
}
