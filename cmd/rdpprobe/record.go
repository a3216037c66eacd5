package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rdpprobe/rdpprobe/classify"
	"github.com/rdpprobe/rdpprobe/fixture"
	"github.com/rdpprobe/rdpprobe/probe"
)

// recording is one --record run: a fixture of the conversation and the TLS
// key log that lets Wireshark decrypt a capture of it.
type recording struct {
	recorder    *fixture.Recorder
	keylog      *os.File
	fixturePath string
	keylogPath  string
}

func startRecording(dir, target string) (*recording, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	base := strings.NewReplacer(":", "_", "[", "", "]", "", "/", "_").Replace(target) + "-" + time.Now().UTC().Format("20060102T150405Z")
	r := &recording{
		recorder:    &fixture.Recorder{},
		fixturePath: filepath.Join(dir, base+".fixture"),
		keylogPath:  filepath.Join(dir, base+".keylog"),
	}
	// The key log decrypts the TLS channel, NTLM responses included: keep
	// it private like a password hash.
	f, err := os.OpenFile(r.keylogPath, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	r.keylog = f
	return r, nil
}

func (r *recording) finish(res *probe.Result, v classify.Verdict) error {
	r.keylog.Close()
	creds := "no"
	if res.Credentials {
		creds = "yes"
	}
	header := map[string]string{
		"source":      "recorded by rdpprobe " + version,
		"target":      res.Target,
		"recorded":    res.Start.UTC().Format(time.RFC3339),
		"offer":       probe.FormatOffer(res.Offered, res.AllowStandardRDP),
		"credentials": creds,
		"class":       string(v.Class.ID),
		"phase":       string(v.Phase),
	}
	if res.Depth != "" {
		header["depth"] = string(res.Depth) // a replay must run the same phases
	}
	fx := r.recorder.Fixture(header)
	f, err := os.OpenFile(r.fixturePath, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := fx.Write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%s: %w", r.fixturePath, err)
	}
	return nil
}
