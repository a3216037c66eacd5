package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/internal/labtest"
)

// validate checks v against the subset of JSON Schema that
// docs/result.schema.json uses: type, required, properties,
// additionalProperties:false, items, enum, pattern, minimum, maximum and
// format date-time. It returns every violation, with its JSON path.
func validate(schema map[string]any, v any, path string) []string {
	var errs []string
	fail := func(format string, a ...any) { errs = append(errs, path+": "+fmt.Sprintf(format, a...)) }
	if ref, ok := schema["$ref"].(string); ok {
		defs, _ := schemaRoot["$defs"].(map[string]any)
		target, ok := defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
		if !ok || !strings.HasPrefix(ref, "#/$defs/") {
			fail("unresolvable $ref %q", ref)
			return errs
		}
		schema = target
	}
	if typ, ok := schema["type"].(string); ok {
		good := false
		switch typ {
		case "object":
			_, good = v.(map[string]any)
		case "array":
			_, good = v.([]any)
		case "string":
			_, good = v.(string)
		case "boolean":
			_, good = v.(bool)
		case "number":
			_, good = v.(float64)
		case "integer":
			f, isNum := v.(float64)
			good = isNum && f == math.Trunc(f)
		}
		if !good {
			fail("want %s, got %T", typ, v)
			return errs
		}
	}
	if enum, ok := schema["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			if e == v {
				found = true
			}
		}
		if !found {
			fail("%v not in %v", v, enum)
		}
	}
	if s, ok := v.(string); ok {
		if p, ok := schema["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(s) {
			fail("%q does not match %s", s, p)
		}
		if schema["format"] == "date-time" {
			if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
				fail("not a date-time: %q", s)
			}
		}
	}
	if f, ok := v.(float64); ok {
		if m, ok := schema["minimum"].(float64); ok && f < m {
			fail("%v < minimum %v", f, m)
		}
		if m, ok := schema["maximum"].(float64); ok && f > m {
			fail("%v > maximum %v", f, m)
		}
	}
	if obj, ok := v.(map[string]any); ok {
		props, _ := schema["properties"].(map[string]any)
		for _, r := range asSlice(schema["required"]) {
			if _, ok := obj[r.(string)]; !ok {
				fail("missing required %q", r)
			}
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			sub, known := props[k].(map[string]any)
			if !known {
				if schema["additionalProperties"] == false {
					fail("property %q not in the schema", k)
				}
				continue
			}
			errs = append(errs, validate(sub, obj[k], path+"."+k)...)
		}
	}
	if arr, ok := v.([]any); ok {
		if items, ok := schema["items"].(map[string]any); ok {
			for i, e := range arr {
				errs = append(errs, validate(items, e, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	}
	return errs
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

// schemaRoot is the loaded schema, for "#/$defs/..." references.
var schemaRoot map[string]any

func loadSchema(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile("../../docs/result.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	schemaRoot = s
	return s
}

// The validator must be able to say no, or the schema test proves nothing.
func TestValidatorRejects(t *testing.T) {
	s := loadSchema(t)
	for _, doc := range []string{
		`{}`,
		`{"schema_version":1,"class":"Bad Class","ok":true,"group":"ok","exit_code":0,"title":"","detail":"","phase":"tls","target":"x","logon_attempted":false,"start":"2026-01-01T00:00:00Z","duration_ms":1,"phases":[],"findings":[]}`,
		`{"schema_version":1,"class":"ok","ok":true,"group":"ok","exit_code":0,"title":"","detail":"","phase":"tls","target":"x","logon_attempted":false,"start":"2026-01-01T00:00:00Z","duration_ms":1,"phases":[],"findings":[],"password":"x"}`,
		`{"schema_version":1,"class":"ok","ok":true,"group":"ok","exit_code":0,"title":"","detail":"","phase":"tls","target":"x","logon_attempted":false,"start":"2026-01-01T00:00:00Z","duration_ms":1,"phases":[],"findings":[],"security_layers":{"PROTOCOL_TLS":{"accepted":"yes"}},"security_meaning":[{"id":"Bad"}]}`,
		`{"schema_version":1,"class":"ok","ok":true,"group":"ok","exit_code":9,"title":"","detail":"","phase":"tls","target":"x","logon_attempted":false,"start":"yesterday","duration_ms":1,"phases":[{"phase":"warp"}],"findings":[]}`,
	} {
		var v any
		json.Unmarshal([]byte(doc), &v)
		if errs := validate(s, v, "$"); len(errs) == 0 {
			t.Errorf("validator accepted %s", doc)
		}
	}
}

// TestLabJSONMatchesSchema validates real output, from the lab's servers,
// against the documented schema: every field, both ways.
func TestLabJSONMatchesSchema(t *testing.T) {
	s := loadSchema(t)
	user, domain, password := labtest.Account()
	for _, args := range [][]string{
		{labtest.Peer(t, "nla")},
		{labtest.Peer(t, "nla"), "-u", domain + `\` + user},
		{labtest.Peer(t, "nla"), "-u", domain + `\nobody`},
		{labtest.Peer(t, "tls"), "-u", domain + `\` + user},
		{labtest.Peer(t, "tls"), "-u", domain + `\` + user, "--depth", "session"},
		{labtest.Peer(t, "xrdp"), "--protocols", "tls", "--depth", "session"},
		{labtest.Peer(t, "nla"), "-u", domain + `\` + user, "--depth", "session"},
		{labtest.Peer(t, "rdp"), "--protocols", "rdp", "--depth", "session"},
		{labtest.Peer(t, "rdp")},
		{labtest.Peer(t, "closed")},
		{labtest.Peer(t, "nla"), "--enumerate"},
		{labtest.Peer(t, "xrdp"), "--enumerate"},
		{labtest.Peer(t, "rdp"), "--enumerate"},
		{labtest.Peer(t, "closed"), "--enumerate"},
		{labtest.Peer(t, "tls"), "--require-trusted-cert"},
		{labtest.Peer(t, "xrdp"), "--protocols", "tls", "--cert-sha256", strings.Repeat("ab", 32)},
	} {
		t.Setenv(passwordEnv, password)
		_, stdout, _ := rdpprobe(t, append([]string{"--output", "json"}, args...)...)
		var v any
		if err := json.Unmarshal([]byte(stdout), &v); err != nil {
			t.Fatalf("%v: not JSON: %v", args, err)
		}
		for _, e := range validate(s, v, "$") {
			t.Errorf("%v: %s", args, e)
		}
		if slices.Contains(args, "--enumerate") {
			layers, _ := v.(map[string]any)["security_layers"].(map[string]any)
			if len(layers) != 6 {
				t.Errorf("%v: security_layers has %d entries, want 6", args, len(layers))
			}
		}
	}
}
