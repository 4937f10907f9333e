package main

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/sluicehq/sluice/connect/configprovider"
)

// resolveWorkerVariables returns the worker properties read from path with
// their config provider references (${file:…}, ${env:…}, ${dir:…}, as the
// file's config.providers keys declare them) resolved, as Kafka's
// AbstractConfig resolves a worker's own file at start (KIP-421), and the
// providers, with which the Runner resolves the connectors' references
// each time it starts one. The config.providers.* keys themselves are kept
// as written. Errors name the file, the key and the provider, never a
// value.
func resolveWorkerVariables(ctx context.Context, path string, props map[string]string) (map[string]string, map[string]configprovider.Provider, error) {
	providers, err := configprovider.FromProperties(props, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(providers) == 0 {
		return props, providers, nil
	}
	own := maps.Clone(props)
	maps.DeleteFunc(own, func(k, _ string) bool { return strings.HasPrefix(k, configprovider.KeyProviders) })
	resolved, _, err := configprovider.Resolve(ctx, providers, own)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	out := maps.Clone(props)
	maps.Copy(out, resolved)
	return out, providers, nil
}
