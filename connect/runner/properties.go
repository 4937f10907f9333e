package runner

import (
	"io"

	"github.com/sluicehq/sluice/internal/properties"
)

// ParseProperties reads Java .properties syntax, the format of Kafka
// Connect's worker and connector configuration files, into the map form the
// Runner (Config.Worker, CreateConnector) and source/sink
// ConfigFromProperties take: one key per logical line, separated from its
// value by '=', ':' or white space; lines starting with '#' or '!' are
// comments; a line ending in an odd number of backslashes continues on the
// next (leading white space of the continuation dropped); the escapes \t \n
// \r \f \uXXXX and \<char> are decoded. A key given twice keeps its last
// value. Values are not trimmed at the end, as in Java. A malformed line
// (e.g. a bad \u escape) fails with an error naming its line number.
func ParseProperties(r io.Reader) (map[string]string, error) {
	return properties.Parse(r)
}

// ReadPropertiesFile parses the .properties file at path as ParseProperties
// does; errors name the file (and the line, for syntax errors).
func ReadPropertiesFile(path string) (map[string]string, error) {
	return properties.ReadFile(path)
}
