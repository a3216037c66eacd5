// Package gwhttp frames what an RD Gateway's transports carry (MS-TSGU
// 2.1.2): HTTP/1.1 requests and responses as a gateway client writes and
// reads them (RFC 9112), the chunked transfer coding of the IN channel
// and of some OUT channels (RFC 9112 7.1), and WebSocket frames (RFC
// 6455), the newer transport. Everything read has a hard size cap, and a
// parser says no instead of panicking; the MS-TSGU packets themselves are
// package negotiate/tsgu.
package gwhttp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ErrMalformed is wrapped by every framing error a peer causes.
var ErrMalformed = errors.New("gwhttp: malformed")

// Field is one header field, as sent.
type Field struct{ Name, Value string }

// Request is an HTTP/1.1 request head.
type Request struct {
	Method, Target string
	Header         []Field
}

// Marshal returns the request head, CRLF-terminated. A name or value that
// holds CR, LF or NUL is refused: it would split the head.
func (r *Request) Marshal() ([]byte, error) {
	if !token(r.Method) || r.Target == "" || strings.ContainsAny(r.Target, " \r\n\x00") {
		return nil, fmt.Errorf("gwhttp: request line %q %q", r.Method, r.Target)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\n", r.Method, r.Target)
	for _, f := range r.Header {
		if !token(f.Name) || strings.ContainsAny(f.Value, "\r\n\x00") {
			return nil, fmt.Errorf("gwhttp: header field %q", f.Name)
		}
		fmt.Fprintf(&b, "%s: %s\r\n", f.Name, f.Value)
	}
	b.WriteString("\r\n")
	return b.Bytes(), nil
}

// Response is an HTTP/1.x response head.
type Response struct {
	Proto  string // "HTTP/1.1"
	Status int
	Reason string
	Header []Field
}

// Get returns the first value of the field name (any case), "" if none.
func (r *Response) Get(name string) string {
	for _, f := range r.Header {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Values returns every value of the field name (any case), in order.
func (r *Response) Values(name string) []string {
	var vs []string
	for _, f := range r.Header {
		if strings.EqualFold(f.Name, name) {
			vs = append(vs, f.Value)
		}
	}
	return vs
}

// Chunked reports whether the body uses the chunked transfer coding.
func (r *Response) Chunked() bool {
	for _, v := range r.Values("Transfer-Encoding") {
		for _, c := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(c), "chunked") {
				return true
			}
		}
	}
	return false
}

// ContentLength returns the Content-Length, and whether there was one. A
// value that is not one non-negative number (or several that disagree)
// is an error (RFC 9112 6.3).
func (r *Response) ContentLength() (int64, bool, error) {
	vs := r.Values("Content-Length")
	if len(vs) == 0 {
		return 0, false, nil
	}
	var n int64 = -1
	for _, v := range vs {
		for _, p := range strings.Split(v, ",") {
			m, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
			if err != nil || m < 0 || n >= 0 && m != n {
				return 0, true, fmt.Errorf("%w: Content-Length %q", ErrMalformed, v)
			}
			n = m
		}
	}
	return n, true, nil
}

// Challenges returns the parameter of every WWW-Authenticate challenge of
// the scheme (any case): "" for a bare challenge, the token otherwise.
// RD Gateways send one challenge per field ("WWW-Authenticate: NTLM",
// "WWW-Authenticate: Negotiate TlRMTVNT..."); a field listing several
// schemes with commas is split where a new scheme starts.
func (r *Response) Challenges(scheme string) (params []string, offered bool) {
	for _, c := range r.Schemes() {
		if strings.EqualFold(c.Scheme, scheme) {
			params = append(params, c.Param)
			offered = true
		}
	}
	return params, offered
}

// Challenge is one WWW-Authenticate challenge.
type Challenge struct{ Scheme, Param string }

// Schemes returns the challenges of every WWW-Authenticate field, in order.
func (r *Response) Schemes() []Challenge {
	var cs []Challenge
	for _, v := range r.Values("WWW-Authenticate") {
		for _, part := range splitChallenges(v) {
			scheme, param, _ := strings.Cut(strings.TrimSpace(part), " ")
			if scheme != "" {
				cs = append(cs, Challenge{Scheme: scheme, Param: strings.TrimSpace(param)})
			}
		}
	}
	return cs
}

// splitChallenges splits "Negotiate, NTLM, Basic realm=\"a, b\", x=y" at
// the commas that start a new challenge (a token followed by a space or
// the end), not at those between one challenge's auth-params nor inside
// a quoted string.
func splitChallenges(v string) []string {
	var parts []string
	start, quoted := 0, false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			parts = append(parts, v[start:i])
			start = i + 1
		}
	}
	parts = append(parts, v[start:])
	var out []string
	for i, p := range parts {
		name, _, _ := strings.Cut(strings.TrimSpace(p), " ")
		if i == 0 || token(name) && !strings.HasSuffix(name, "=") {
			out = append(out, p)
			continue
		}
		out[len(out)-1] += "," + p
	}
	return out
}

// Limits on a response head: a gateway's is well under 2 KiB.
const (
	MaxHead   = 16 << 10
	maxFields = 100
)

// NotHTTPError: the peer's first bytes are not an HTTP response.
type NotHTTPError struct{ First []byte }

func (e *NotHTTPError) Error() string {
	return fmt.Sprintf("gwhttp: the answer is not HTTP (%q)", e.First)
}

// ReadResponseHead reads a response head of at most max bytes from r and
// returns it with its raw bytes. The body is left in r. A peer whose first
// bytes are not "HTTP/" gets a *NotHTTPError at once, without waiting for
// a line end it may never send.
func ReadResponseHead(r *bufio.Reader, max int) (*Response, []byte, error) {
	// RFC 9112 2.2: a few empty lines before the status line are ignored.
	for range 8 {
		b, err := r.Peek(1)
		if err != nil || b[0] != '\r' && b[0] != '\n' {
			break
		}
		r.Discard(1)
	}
	first, err := r.Peek(5)
	if len(first) > 0 && !bytes.HasPrefix([]byte("HTTP/"), first) && !bytes.HasPrefix(first, []byte("HTTP/")) {
		return nil, nil, &NotHTTPError{First: peekSome(r)}
	}
	if err != nil {
		if len(first) > 0 {
			err = unexpectedEOF(err)
		}
		return nil, nil, err
	}
	var raw []byte
	lineStart := 0
	for {
		piece, err := r.ReadSlice('\n')
		raw = append(raw, piece...)
		if len(raw) > max {
			return nil, raw, fmt.Errorf("%w: response head longer than %d bytes", ErrMalformed, max)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return nil, raw, unexpectedEOF(err)
		}
		line := raw[lineStart:]
		lineStart = len(raw)
		if string(line) == "\r\n" || string(line) == "\n" {
			break
		}
	}
	resp, err := ParseResponseHead(raw)
	return resp, raw, err
}

// peekSome returns what r holds already, at most 16 bytes, for an error.
func peekSome(r *bufio.Reader) []byte {
	b, _ := r.Peek(min(r.Buffered(), 16))
	return append([]byte(nil), b...)
}

func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// ParseResponseHead parses a whole response head, from the status line to
// the empty line. Obsolete line folding is refused (RFC 9112 5.2), as are
// field names that are not tokens.
func ParseResponseHead(b []byte) (*Response, error) {
	lines := strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	if len(lines) < 2 || lines[len(lines)-1] != "" || lines[len(lines)-2] != "" {
		return nil, fmt.Errorf("%w: response head without its empty line", ErrMalformed)
	}
	lines = lines[:len(lines)-2]
	if len(lines) == 0 {
		return nil, fmt.Errorf("%w: empty response head", ErrMalformed)
	}
	proto, rest, _ := strings.Cut(lines[0], " ")
	code, reason, _ := strings.Cut(rest, " ")
	if !strings.HasPrefix(proto, "HTTP/1.") || len(proto) != 8 || proto[7] < '0' || proto[7] > '9' {
		return nil, &NotHTTPError{First: []byte(lines[0][:min(len(lines[0]), 16)])}
	}
	status, err := strconv.Atoi(code)
	if err != nil || len(code) != 3 || status < 100 {
		return nil, fmt.Errorf("%w: status line %q", ErrMalformed, lines[0])
	}
	resp := &Response{Proto: proto, Status: status, Reason: reason}
	if len(lines)-1 > maxFields {
		return nil, fmt.Errorf("%w: %d header fields, more than %d", ErrMalformed, len(lines)-1, maxFields)
	}
	for _, l := range lines[1:] {
		if l == "" || l[0] == ' ' || l[0] == '\t' {
			return nil, fmt.Errorf("%w: folded or empty header line %q", ErrMalformed, l)
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok || !token(name) {
			return nil, fmt.Errorf("%w: header line %q", ErrMalformed, l)
		}
		resp.Header = append(resp.Header, Field{Name: name, Value: strings.Trim(value, " \t")})
	}
	return resp, nil
}

// token reports whether s is an RFC 9110 token (a method, a field name).
func token(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}
