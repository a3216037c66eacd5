package exporter

import (
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v2"

	"github.com/rdpprobe/rdpprobe/internal/cli"
)

// yamlTypes are the config's types, by the names yaml.v2's errors give
// them, with the words for the file's reader and the keys each takes.
var yamlTypes = map[string]struct {
	where string
	keys  []string
}{
	"exporter.Config":      {"at the top of the file", yamlKeys(Config{})},
	"exporter.Module":      {"in a module", yamlKeys(Module{})},
	"exporter.Credentials": {"in credentials", yamlKeys(Credentials{})},
}

// yamlKeys lists the keys of a struct's yaml tags.
func yamlKeys(v any) []string {
	var keys []string
	t := reflect.TypeOf(v)
	for i := range t.NumField() {
		tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if tag != "" && tag != "-" {
			keys = append(keys, tag)
		}
	}
	sort.Strings(keys)
	return keys
}

// yamlValueTypes name Go's types as a YAML value is expected to be.
var yamlValueTypes = map[string]string{
	"time.Duration":               "a duration (like 15s or 1m30s)",
	"string":                      "a single value",
	"classify.ID":                 "a class name",
	"[]string":                    "a list (like [a, b])",
	"[]classify.ID":               "a list of class names (like [ok])",
	"exporter.Module":             "a module (a mapping of keys)",
	"exporter.Credentials":        "credentials (a mapping with user and password_file or password_env)",
	"map[string]*exporter.Module": "the modules (a mapping of names to modules)",
	"exporter.Config":             "the file (a mapping with modules:)",
}

var (
	reUnknownField = regexp.MustCompile(`^line (\d+): field (\S+) not found in type (\S+)$`)
	reCannot       = regexp.MustCompile("^line (\\d+): cannot unmarshal !!(\\w+)(?: `([^`]*)`)? into (\\S+)$")
	yamlKinds      = map[string]string{"str": "text", "int": "a number", "float": "a number", "bool": "true or false",
		"seq": "a list", "map": "a mapping", "null": "nothing"}
)

// yamlError turns yaml.v2's words (Go type names, "field X not found") into
// the file's: the line, the key, the keys that exist there and the one
// likely meant.
func yamlError(err error) error {
	te, ok := err.(*yaml.TypeError)
	if !ok {
		return fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var lines []string
	for _, e := range te.Errors {
		lines = append(lines, yamlErrorLine(e))
	}
	return fmt.Errorf("%s", strings.Join(lines, "; "))
}

func yamlErrorLine(e string) string {
	if m := reUnknownField.FindStringSubmatch(e); m != nil {
		line, key, typ := m[1], m[2], m[3]
		t, ok := yamlTypes[typ]
		if !ok {
			return fmt.Sprintf("line %s: unknown key %q", line, key)
		}
		s := fmt.Sprintf("line %s: unknown key %q %s", line, key, t.where)
		if passwordLike(key) && typ != "exporter.Config" {
			return s + ": a password is never written in the config; give credentials a password_file or a password_env"
		}
		if near := cli.ClosestWord(key, t.keys); near != "" {
			s += fmt.Sprintf("; did you mean %s?", near)
		}
		return s + " (the keys there: " + strings.Join(t.keys, ", ") + ")"
	}
	if m := reCannot.FindStringSubmatch(e); m != nil {
		line, kind, val, typ := m[1], m[2], m[3], m[4]
		want := yamlValueTypes[typ]
		if want == "" {
			want = "something else"
		}
		got := yamlKinds[kind]
		if got == "" {
			got = kind
		}
		if val != "" {
			got = fmt.Sprintf("%q", val)
		}
		return fmt.Sprintf("line %s: %s where %s is expected", line, got, want)
	}
	return e
}

// passwordLike: a key that means to hold a password (or a misspelt one).
func passwordLike(key string) bool {
	k := strings.ToLower(key)
	return strings.Contains(k, "pass") || strings.Contains(k, "pasw") || strings.Contains(k, "pwd") ||
		cli.ClosestWord(k, []string{"password"}) != ""
}
