package gwhttp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzReadResponseHead: any bytes give a head, or an error, never a panic
// nor a head longer than the cap.
func FuzzReadResponseHead(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: NTLM TlRMTVNTUAACAAAA\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kZGzzOo0xbYo+Q=\r\n\r\n",
		"HTTP/1.1 200 OK\r\n\r\n\xab\xcd\xab\xcd", "\r\nHTTP/1.0 404 Not Found\nServer: x\n\n", "\x03\x00\x00\x13",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		resp, raw, err := ReadResponseHead(bufio.NewReader(bytes.NewReader(b)), 1024)
		if len(raw) > 1024+4096 {
			t.Fatalf("read %d bytes past a cap of 1024", len(raw))
		}
		if err != nil {
			return
		}
		resp.Schemes()
		resp.ContentLength()
		resp.Chunked()
		if again, err := ParseResponseHead(raw); err != nil || again.Status != resp.Status || len(again.Header) != len(resp.Header) {
			t.Fatalf("re-parse: %v", err)
		}
	})
}

// FuzzChunked: decoding any bytes ends in EOF or an error; what a
// well-formed body decodes to encodes back to the same data.
func FuzzChunked(f *testing.F) {
	f.Add([]byte("5\r\nhello\r\n0\r\n\r\n"))
	f.Add([]byte("a;x=y\r\n0123456789\r\n0\r\nT: v\r\n\r\n"))
	f.Add([]byte("ffffffffffffffff\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		data, err := io.ReadAll(&ChunkedReader{R: bufio.NewReader(bytes.NewReader(b)), MaxChunk: 1 << 16})
		if err != nil {
			return
		}
		enc := append(AppendChunk(nil, data), LastChunk...)
		again, err := io.ReadAll(&ChunkedReader{R: bufio.NewReader(bytes.NewReader(enc))})
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("re-encode: %q %v", again, err)
		}
	})
}

// FuzzWebSocketFrame: a frame read from any bytes is within the cap and
// writes back to bytes that read to the same frame.
func FuzzWebSocketFrame(f *testing.F) {
	f.Add([]byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58})
	f.Add(AppendFrame(nil, true, OpBinary, nil, bytes.Repeat([]byte{1}, 300)))
	f.Add([]byte{0x88, 0x02, 0x03, 0xe8})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := ReadFrame(bytes.NewReader(b), 4096)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if len(fr.Payload) > 4096 {
			t.Fatalf("payload of %d bytes", len(fr.Payload))
		}
		var mask *[4]byte
		if fr.Masked {
			mask = &[4]byte{9, 8, 7, 6}
		}
		again, err := ReadFrame(bytes.NewReader(AppendFrame(nil, fr.Fin, fr.Op, mask, fr.Payload)), 4096)
		if err != nil || again.Fin != fr.Fin || again.Op != fr.Op || !bytes.Equal(again.Payload, fr.Payload) {
			t.Fatalf("round trip: %+v %v", again, err)
		}
		// The stream reader takes the same bytes without panicking.
		io.ReadAll(&MessageReader{R: bytes.NewReader(b), Max: 4096, WantMasked: fr.Masked, Pong: func(Opcode, []byte) error { return nil }})
	})
}
