package krb5

import (
	"bufio"
	"context"
	"encoding/hex"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rdpprobe/rdpprobe/internal/labtest"
)

// mitPeer runs testdata/mitgss.py: MIT's GSS-API through python3-gssapi.
type mitPeer struct {
	t   *testing.T
	in  *bufio.Writer
	out *bufio.Scanner
	cmd *exec.Cmd
}

func startMIT(t *testing.T, k labtest.KerberosLab, mode string, env ...string) *mitPeer {
	t.Helper()
	py := labtest.Tool(t, "python3-gssapi")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, py, filepath.Join("testdata", "mitgss.py"), mode, k.SPN)
	cmd.Env = append(k.Env(filepath.Join(t.TempDir(), "cc")), env...)
	cmd.Env = append(cmd.Env, "KRB5RCACHETYPE=none")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil && !t.Failed() {
			t.Errorf("mitgss.py %s: %v\n%s", mode, err, stderr.String())
		}
		if t.Failed() {
			t.Logf("mitgss.py stderr:\n%s", stderr.String())
		}
	})
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 1<<20)
	return &mitPeer{t: t, in: bufio.NewWriter(stdin), out: sc, cmd: cmd}
}

func (p *mitPeer) send(b []byte) {
	p.in.WriteString(hex.EncodeToString(b) + "\n")
	p.in.Flush()
}

func (p *mitPeer) recv() []byte {
	p.t.Helper()
	if !p.out.Scan() {
		p.t.Fatalf("mitgss.py ended early: %v", p.out.Err())
	}
	b, err := hex.DecodeString(p.out.Text())
	if err != nil {
		p.t.Fatal(err)
	}
	return b
}

// Our initiator against MIT's acceptor: MIT takes our AP-REQ and answers
// with an AP-REP we verify; MIT opens our sealed Wrap token (RRC 28) and
// checks our MIC, and we open its Wrap and check its MIC. This is the
// independent check of RFC 4121 4.1 and 4.2.
func TestLabMITAcceptor(t *testing.T) {
	k := labtest.Kerberos(t)
	c := labClient(k, k.Users["good"])
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := c.ServiceTicket(ctx, k.SPN)
	if err != nil {
		t.Fatal(err)
	}
	mit := startMIT(t, k, "accept", "KRB5_KTNAME=FILE:"+k.Keytab)
	ini := &Initiator{Ticket: st}
	ap, err := ini.APReq()
	if err != nil {
		t.Fatal(err)
	}
	mit.send(ap)
	gctx, err := ini.APRep(mit.recv())
	if err != nil {
		t.Fatalf("MIT's AP-REP: %v", err)
	}
	t.Logf("MIT acceptor: subkey %v, etype %s", gctx.AcceptorSubkey, ETypeName(gctx.KeyEType))
	w, err := gctx.Wrap([]byte("pubKeyAuth"))
	if err != nil {
		t.Fatal(err)
	}
	mit.send(w)
	if got := string(mit.recv()); got != "pubKeyAuth" {
		t.Fatalf("MIT unwrapped %q", got)
	}
	got, err := gctx.Unwrap(mit.recv())
	if err != nil || string(got) != "mit:pubKeyAuth" {
		t.Fatalf("our unwrap of MIT's token: %q, %v", got, err)
	}
	mic, err := gctx.MIC([]byte("mic"))
	if err != nil {
		t.Fatal(err)
	}
	mit.send(mic)
	if got := string(mit.recv()); got != "ok" {
		t.Fatalf("MIT on our MIC: %q", got)
	}
	if err := gctx.VerifyMIC([]byte("mic"), mit.recv()); err != nil {
		t.Fatalf("MIT's MIC: %v", err)
	}
}

// MIT's initiator against our acceptor (the test server's side).
func TestLabMITInitiator(t *testing.T) {
	k := labtest.Kerberos(t)
	cc := filepath.Join(t.TempDir(), "krb5cc")
	if out, err := k.Kinit(t, k.Users["good"], k.Password, cc); err != nil {
		t.Fatalf("kinit: %v\n%s", err, out)
	}
	kt, err := LoadKeytab(k.Keytab)
	if err != nil {
		t.Fatal(err)
	}
	mit := startMIT(t, k, "init", "KRB5CCNAME=FILE:"+cc)
	acc := &Acceptor{Keytab: kt, SPN: k.SPN}
	res, err := acc.Accept(mit.recv())
	if err != nil {
		t.Fatalf("our acceptor on MIT's AP-REQ: %v", err)
	}
	if res.Client != k.Users["good"]+"@"+k.Realm || res.Flags&GSSMutual == 0 || res.Reply == nil {
		t.Fatalf("accepted %+v", res)
	}
	mit.send(res.Reply)
	got, err := res.Context.Unwrap(mit.recv())
	if err != nil || string(got) != "mit-init" {
		t.Fatalf("our unwrap of MIT's token: %q, %v", got, err)
	}
	w, err := res.Context.Wrap([]byte("from-acceptor"))
	if err != nil {
		t.Fatal(err)
	}
	mit.send(w)
	if got := string(mit.recv()); got != "from-acceptor" {
		t.Fatalf("MIT unwrapped %q", got)
	}
}
