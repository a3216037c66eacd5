package main

import (
	"os"
	"testing"

	"github.com/rdpprobe/rdpprobe/internal/labtest"
)

// TestMain keeps Kerberos on this machine (labtest.IsolateKerberos).
func TestMain(m *testing.M) { os.Exit(labtest.RunIsolated(m)) }
