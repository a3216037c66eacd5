package exporter

import (
	"fmt"
	"os"
	"testing"

	"github.com/rdpprobe/rdpprobe/internal/labtest"
)

// TestMain keeps Kerberos on this machine (labtest.IsolateKerberos).
func TestMain(m *testing.M) {
	cleanup, err := labtest.IsolateKerberos()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	cleanup()
	os.Exit(code)
}
