package packaging

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestImage builds the FROM scratch image with make image and runs it on
// the host's network: the exporter answers as a user of no account. It
// needs podman, which the lab does not install (skipped without it, CI
// included). A machine whose sandbox refuses podman's defaults can pass
// run flags in RDPPROBE_PODMAN_RUN_FLAGS (one such needed "--runtime runc
// --ulimit nofile=20000:20000 --ulimit nproc=1000:1000").
func TestImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a release binary and an image: not under -short")
	}
	podman, err := exec.LookPath("podman")
	if err != nil {
		t.Skip("no podman: the image is not built")
	}
	repo, _ := filepath.Abs("..")
	dist := t.TempDir()
	const version = "v1.2.3-image"
	run(t, repo, nil, "make", "image", "DIST="+dist, "VERSION="+version, "CONTAINER="+podman)
	image := "localhost/rdpprobe:" + version
	defer exec.Command(podman, "rmi", "-f", image).Run()
	if out := run(t, "", nil, podman, "image", "inspect", "--format", "{{.Config.User}} {{.Config.Entrypoint}} {{len .RootFS.Layers}}", image); strings.TrimSpace(out) != "65532:65532 [/usr/bin/rdpprobe serve] 3" {
		t.Errorf("image config %q, want user 65532, entry point rdpprobe serve and three layers (binary, CA certificates, config)", out)
	}
	name := "rdpprobe-image-test"
	exec.Command(podman, "rm", "-f", name).Run()
	args := append([]string{"run", "-d", "--name", name, "--network=host"}, strings.Fields(os.Getenv("RDPPROBE_PODMAN_RUN_FLAGS"))...)
	args = append(args, image, "--config=/etc/rdpprobe/rdpprobe.yml", "--web.listen-address=127.0.0.1:19884")
	defer exec.Command(podman, "rm", "-f", name).Run()
	if out, err := exec.Command(podman, args...).CombinedOutput(); err != nil {
		if strings.Contains(string(out), "OCI") {
			// The image is built and checked; this machine cannot run it.
			t.Skipf("podman cannot run a container here (set RDPPROBE_PODMAN_RUN_FLAGS): %s", out)
		}
		t.Fatalf("podman run: %v\n%s", err, out)
	}
	var body string
	for i := 0; i < 50 && body == ""; i++ {
		time.Sleep(100 * time.Millisecond)
		resp, err := http.Get("http://127.0.0.1:19884/probe?target=127.0.0.1:33899")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
	}
	if !strings.Contains(body, `probe_rdp_result{class="tcp_refused"} 1`) {
		logs, _ := exec.Command(podman, "logs", name).CombinedOutput()
		t.Fatalf("the exporter in the image answered %q\n%s", body, logs)
	}
	if ps := run(t, "", nil, podman, "top", name, "user", "args"); !strings.Contains(ps, "65532") {
		t.Errorf("the exporter does not run as 65532:\n%s", ps)
	}
}
