package classify

import (
	"bytes"
	"flag"
	"os"
	"testing"
)

var updateREADME = flag.Bool("update-readme", false, "rewrite the class table in ../README.md")

// TestREADMEClasses keeps the README's class table equal to the table in
// classes.go, so the documentation cannot drift from what the tool says.
// Regenerate with: go test ./classify -run TestREADMEClasses -update-readme
func TestREADMEClasses(t *testing.T) {
	const path = "../README.md"
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	begin, end := []byte("<!-- classes:begin -->\n"), []byte("<!-- classes:end -->")
	i, j := bytes.Index(readme, begin), bytes.Index(readme, end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the %q ... %q markers", path, begin, end)
	}
	var table bytes.Buffer
	if err := WriteMarkdownTable(&table); err != nil {
		t.Fatal(err)
	}
	got := readme[i+len(begin) : j]
	if bytes.Equal(got, table.Bytes()) {
		return
	}
	if !*updateREADME {
		t.Fatalf("the class table in %s is stale; run: go test ./classify -run TestREADMEClasses -update-readme", path)
	}
	out := append(append(append([]byte{}, readme[:i+len(begin)]...), table.Bytes()...), readme[j:]...)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}
