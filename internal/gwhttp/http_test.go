package gwhttp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestRequestMarshal(t *testing.T) {
	r := Request{Method: "RDG_OUT_DATA", Target: "/remoteDesktopGateway/", Header: []Field{
		{"Host", "gw.example.com"}, {"RDG-Connection-Id", "{00000000-0000-0000-0000-000000000000}"}, {"Content-Length", "0"}}}
	b, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := "RDG_OUT_DATA /remoteDesktopGateway/ HTTP/1.1\r\nHost: gw.example.com\r\n" +
		"RDG-Connection-Id: {00000000-0000-0000-0000-000000000000}\r\nContent-Length: 0\r\n\r\n"
	if string(b) != want {
		t.Fatalf("got %q", b)
	}
	for _, bad := range []Request{
		{Method: "GET", Target: "/", Header: []Field{{"Host", "a\r\nX-Evil: 1"}}},
		{Method: "GET", Target: "/ HTTP/1.0\r\n"},
		{Method: "BAD METHOD", Target: "/"},
		{Method: "GET", Target: "/", Header: []Field{{"Bad:Name", "x"}}},
	} {
		if _, err := bad.Marshal(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

func TestReadResponseHead(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		status   int
		err      string
		notHTTP  bool
		rest     string
	}{
		{"401 with challenges", "HTTP/1.1 401 Unauthorized\r\nServer: Microsoft-HTTPAPI/2.0\r\nWWW-Authenticate: Negotiate\r\nWWW-Authenticate: NTLM\r\nContent-Length: 0\r\n\r\nrest",
			401, "", false, "rest"},
		{"bare LF", "HTTP/1.0 200 OK\nX: y\n\nseed", 200, "", false, "seed"},
		{"empty lines first", "\r\n\r\nHTTP/1.1 404 Not Found\r\n\r\n", 404, "", false, ""},
		{"no reason", "HTTP/1.1 204\r\n\r\n", 204, "", false, ""},
		{"TPKT", "\x03\x00\x00\x13\x0e\xd0", 0, "", true, ""},
		{"TLS alert", "\x15\x03\x01\x00\x02\x02\x28", 0, "", true, ""},
		{"SSH", "SSH-2.0-OpenSSH_9.2\r\n", 0, "", true, ""},
		{"folded", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", 0, "folded", false, ""},
		{"bad status", "HTTP/1.1 2000 OK\r\n\r\n", 0, "status line", false, ""},
		{"bad field", "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", 0, "header line", false, ""},
		{"cut short", "HTTP/1.1 200 OK\r\nX: y", 0, "unexpected EOF", false, ""},
		{"huge", "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", MaxHead) + "\r\n\r\n", 0, "longer than", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := bufio.NewReader(strings.NewReader(tc.in))
			resp, _, err := ReadResponseHead(r, MaxHead)
			var nh *NotHTTPError
			switch {
			case tc.notHTTP:
				if !errors.As(err, &nh) {
					t.Fatalf("err = %v, want *NotHTTPError", err)
				}
				return
			case tc.err != "":
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if resp.Status != tc.status {
				t.Fatalf("status %d", resp.Status)
			}
			rest, _ := io.ReadAll(r)
			if string(rest) != tc.rest {
				t.Fatalf("left %q, want %q", rest, tc.rest)
			}
		})
	}
}

func TestChallengesAndLength(t *testing.T) {
	resp, err := ParseResponseHead([]byte("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Negotiate, NTLM\r\n" +
		"www-authenticate: Basic realm=\"gw, the gateway\", charset=\"UTF-8\"\r\nWWW-Authenticate: NTLM TlRMTVNTUAACAAAA==\r\n" +
		"Content-Length: 12\r\nContent-Length: 12\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range resp.Schemes() {
		got = append(got, c.Scheme+"="+c.Param)
	}
	want := []string{"Negotiate=", "NTLM=", `Basic=realm="gw, the gateway", charset="UTF-8"`, "NTLM=TlRMTVNTUAACAAAA=="}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("schemes %q, want %q", got, want)
	}
	if params, ok := resp.Challenges("ntlm"); !ok || len(params) != 2 || params[1] != "TlRMTVNTUAACAAAA==" {
		t.Fatalf("NTLM challenges %q %v", params, ok)
	}
	if n, ok, err := resp.ContentLength(); n != 12 || !ok || err != nil {
		t.Fatalf("Content-Length %d %v %v", n, ok, err)
	}
	bad, _ := ParseResponseHead([]byte("HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Length: 13\r\n\r\n"))
	if _, _, err := bad.ContentLength(); !errors.Is(err, ErrMalformed) {
		t.Fatalf("two lengths: %v", err)
	}
}

func TestChunked(t *testing.T) {
	body := string(AppendChunk(AppendChunk(nil, []byte("hello ")), []byte("world"))) + "0;ext=1\r\nTrailer: x\r\n\r\nnext"
	br := bufio.NewReader(strings.NewReader(body))
	got, err := io.ReadAll(&ChunkedReader{R: br})
	if err != nil || string(got) != "hello world" {
		t.Fatalf("%q %v", got, err)
	}
	if rest, _ := io.ReadAll(br); string(rest) != "next" {
		t.Fatalf("left %q", rest)
	}
	for _, bad := range []string{"zz\r\nab\r\n", "5\r\nabcdefg\r\n", "-1\r\n", "3\r\nabc", "100000000\r\n"} {
		_, err := io.ReadAll(&ChunkedReader{R: bufio.NewReader(strings.NewReader(bad)), MaxChunk: 1 << 20})
		if err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestWebSocketFrames(t *testing.T) {
	// RFC 6455 5.7's examples.
	for _, tc := range []struct {
		wire   []byte
		op     Opcode
		masked bool
		data   string
	}{
		{[]byte{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}, OpText, false, "Hello"},
		{[]byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}, OpText, true, "Hello"},
		{[]byte{0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}, OpPing, false, "Hello"},
	} {
		f, err := ReadFrame(bytes.NewReader(tc.wire), 1024)
		if err != nil || f.Op != tc.op || f.Masked != tc.masked || string(f.Payload) != tc.data || !f.Fin {
			t.Errorf("% x: %+v %v", tc.wire, f, err)
		}
		var mask *[4]byte
		if tc.masked {
			mask = &[4]byte{0x37, 0xfa, 0x21, 0x3d}
		}
		if b := AppendFrame(nil, true, tc.op, mask, []byte(tc.data)); !bytes.Equal(b, tc.wire) {
			t.Errorf("AppendFrame = % x, want % x", b, tc.wire)
		}
	}
	if got := AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Errorf("AcceptKey = %q (RFC 6455 1.3)", got)
	}
	if !StandardKey("dGhlIHNhbXBsZSBub25jZQ==") || StandardKey("ABCDEFGHIJKLMNO") {
		t.Error("StandardKey")
	}
	for _, size := range []int{125, 126, 0xFFFF, 0x10000} {
		p := bytes.Repeat([]byte{7}, size)
		f, err := ReadFrame(bytes.NewReader(AppendFrame(nil, true, OpBinary, &[4]byte{1, 2, 3, 4}, p)), 1<<17)
		if err != nil || !bytes.Equal(f.Payload, p) {
			t.Errorf("size %d: %v", size, err)
		}
	}
	for name, wire := range map[string][]byte{
		"reserved bit":       {0xC2, 0x00},
		"reserved opcode":    {0x83, 0x00},
		"long ping":          {0x89, 0x7E, 0x00, 0x80},
		"fragmented close":   {0x08, 0x00},
		"short in 16 bits":   {0x82, 0x7E, 0x00, 0x05},
		"top bit of 64 bits": {0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0},
		"over the cap":       {0x82, 0x7E, 0xFF, 0xFF},
	} {
		if _, err := ReadFrame(bytes.NewReader(wire), 1024); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestMessageReader(t *testing.T) {
	var wire []byte
	wire = AppendFrame(wire, false, OpBinary, nil, []byte("abc"))
	wire = AppendFrame(wire, true, OpPing, nil, []byte("p"))
	wire = AppendFrame(wire, true, OpContinuation, nil, []byte("def"))
	wire = AppendFrame(wire, true, OpClose, nil, []byte{0x03, 0xe8, 'b', 'y', 'e'})
	var pongs []string
	m := &MessageReader{R: bytes.NewReader(wire), Max: 1024, Pong: func(op Opcode, p []byte) error {
		pongs = append(pongs, op.String()+":"+string(p))
		return nil
	}}
	got, err := io.ReadAll(m)
	var ce *CloseError
	if string(got) != "abcdef" || !errors.As(err, &ce) || ce.Code != 1000 || ce.Reason != "bye" {
		t.Fatalf("%q %v", got, err)
	}
	if strings.Join(pongs, ",") != "pong:p,close:\x03\xe8" {
		t.Fatalf("answers %q", pongs)
	}
	masked := AppendFrame(nil, true, OpBinary, &[4]byte{1, 2, 3, 4}, []byte("x"))
	if _, err := io.ReadAll(&MessageReader{R: bytes.NewReader(masked), Max: 10}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("a masked frame from a server: %v", err)
	}
}
