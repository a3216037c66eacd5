//go:build !windows

package main

import "os"

// enableVT: every Unix terminal handles ANSI escape sequences.
func enableVT(*os.File) bool { return true }
