package configprovider_test

import (
	"context"
	"fmt"

	"github.com/sluicehq/sluice/connect/configprovider"
)

// A provider written in Go (here a map standing for a secrets manager)
// resolves ${name:path:key} references; what no provider resolves stays as
// written, as in Kafka Connect.
func ExampleResolve() {
	vault := configprovider.ProviderFunc(func(_ context.Context, path string, keys []string) (map[string]string, error) {
		secrets := map[string]map[string]string{"secret/db": {"password": "hunter2"}}
		return secrets[path], nil
	})
	config := map[string]string{
		"connection.password": "${vault:secret/db:password}",
		"connection.user":     "${env:DB_USER}", // no "env" provider here
	}
	resolved, _, err := configprovider.Resolve(context.Background(),
		map[string]configprovider.Provider{"vault": vault}, config)
	if err != nil {
		panic(err)
	}
	fmt.Println(resolved["connection.password"])
	fmt.Println(resolved["connection.user"])
	// Output:
	// hunter2
	// ${env:DB_USER}
}
