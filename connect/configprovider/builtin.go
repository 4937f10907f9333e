package configprovider

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/sluicehq/sluice/internal/properties"
)

// allowedPaths is KIP-993's allowed.paths parameter of the file and
// directory providers: when set, only paths under one of these are read.
type allowedPaths []string

func newAllowedPaths(params map[string]string) (allowedPaths, error) {
	v, ok := params["allowed.paths"]
	if !ok || strings.TrimSpace(v) == "" {
		return nil, nil
	}
	var out allowedPaths
	for p := range strings.SplitSeq(v, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !filepath.IsAbs(p) {
			return nil, fmt.Errorf("allowed.paths: %q is not an absolute path", p)
		}
		out = append(out, filepath.Clean(p))
	}
	return out, nil
}

// allows reports whether path may be read.
func (a allowedPaths) allows(path string) bool {
	if a == nil {
		return true
	}
	p := filepath.Clean(path)
	for _, dir := range a {
		if p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, string(filepath.Separator))+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// File is Kafka's FileConfigProvider: ${name:/path/to/file.properties:key}
// is the value of key in that Java .properties file. A file outside the
// allowed.paths parameter (when set) or a missing path returns no values,
// leaving the reference as written; an unreadable file is an error naming
// it.
type File struct{ allowed allowedPaths }

// NewFile returns a File provider; params takes allowed.paths, a
// comma-separated list of absolute paths under which files may be read.
func NewFile(params map[string]string) (*File, error) {
	a, err := newAllowedPaths(params)
	if err != nil {
		return nil, err
	}
	return &File{allowed: a}, nil
}

// Get implements Provider.
func (f *File) Get(_ context.Context, path string, keys []string) (map[string]string, error) {
	out := map[string]string{}
	if path == "" || !f.allowed.allows(path) {
		return out, nil
	}
	props, err := properties.ReadFile(path)
	if err != nil {
		// The error names the file (and line); it never quotes values.
		return nil, fmt.Errorf("could not read properties from file %s: %w", path, unquoted(err))
	}
	for _, k := range keys {
		if v, ok := props[k]; ok {
			out[k] = v
		}
	}
	return out, nil
}

// unquoted keeps an error's kind (not found, permission) without any text
// of the file that a syntax error might quote.
func unquoted(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	return errors.New("malformed properties file")
}

// EnvVar is Kafka's EnvVarConfigProvider (KIP-887): ${name:VAR} is the
// environment variable VAR. Variables whose names do not match the
// allowlist.pattern parameter (a regular expression matched against the
// whole name; default: every variable) are invisible, leaving the
// reference as written. A path (${name:path:VAR}) is an error, as in Kafka.
type EnvVar struct{ allow *regexp.Regexp }

// NewEnvVar returns an EnvVar provider; params takes allowlist.pattern.
func NewEnvVar(params map[string]string) (*EnvVar, error) {
	e := &EnvVar{}
	if p, ok := params["allowlist.pattern"]; ok && p != "" {
		re, err := regexp.Compile(`^(?:` + p + `)$`)
		if err != nil {
			return nil, fmt.Errorf("allowlist.pattern: %w", err)
		}
		e.allow = re
	}
	return e, nil
}

// Get implements Provider.
func (e *EnvVar) Get(_ context.Context, path string, keys []string) (map[string]string, error) {
	if path != "" {
		return nil, fmt.Errorf("path is not supported for EnvVarConfigProvider, invalid value %q", path)
	}
	out := map[string]string{}
	for _, k := range keys {
		if e.allow != nil && !e.allow.MatchString(k) {
			continue
		}
		if v, ok := os.LookupEnv(k); ok {
			out[k] = v
		}
	}
	return out, nil
}

// Directory is Kafka's DirectoryConfigProvider:
// ${name:/path/to/dir:file} is the content of the regular file named file
// directly in that directory (Kubernetes and Docker secrets volumes), as
// is. A path that is not a directory, or outside the allowed.paths
// parameter (when set), returns no values, leaving the reference as
// written; an unreadable file is an error naming it.
type Directory struct{ allowed allowedPaths }

// NewDirectory returns a Directory provider; params takes allowed.paths.
func NewDirectory(params map[string]string) (*Directory, error) {
	a, err := newAllowedPaths(params)
	if err != nil {
		return nil, err
	}
	return &Directory{allowed: a}, nil
}

// Get implements Provider.
func (d *Directory) Get(_ context.Context, path string, keys []string) (map[string]string, error) {
	out := map[string]string{}
	if path == "" || !d.allowed.allows(path) {
		return out, nil
	}
	if st, err := os.Stat(path); err != nil || !st.IsDir() {
		return out, nil
	}
	for _, k := range keys {
		if k == "" || strings.ContainsRune(k, filepath.Separator) || k == "." || k == ".." {
			continue
		}
		file := filepath.Join(path, k)
		st, err := os.Stat(file)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("could not read file %s: %w", file, unquoted(err))
		}
		out[k] = string(b)
	}
	return out, nil
}
