package gwhttp

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// AppendChunk appends one chunk of the chunked transfer coding (RFC 9112
// 7.1) carrying b; an empty b would end the body, so it appends nothing.
func AppendChunk(dst, b []byte) []byte {
	if len(b) == 0 {
		return dst
	}
	dst = strconv.AppendUint(dst, uint64(len(b)), 16)
	dst = append(dst, '\r', '\n')
	dst = append(dst, b...)
	return append(dst, '\r', '\n')
}

// LastChunk ends a chunked body without trailer fields.
const LastChunk = "0\r\n\r\n"

// maxChunkLine caps a chunk-size line with its extensions.
const maxChunkLine = 1024

// ChunkedReader decodes a chunked body (RFC 9112 7.1) from R: Read returns
// the chunks' data, and io.EOF after the last chunk and its trailer.
// MaxChunk, if not zero, caps a chunk's size: a peer cannot make the
// reader expect gigabytes.
type ChunkedReader struct {
	R        *bufio.Reader
	MaxChunk int64

	left int64 // bytes left in the current chunk
	crlf bool  // the current chunk's data is done; its CRLF is due
	err  error
}

func (c *ChunkedReader) Read(p []byte) (int, error) {
	for c.err == nil {
		if c.crlf {
			c.err = c.readCRLF()
			c.crlf = false
			continue
		}
		if c.left > 0 {
			if int64(len(p)) > c.left {
				p = p[:c.left]
			}
			n, err := c.R.Read(p)
			c.left -= int64(n)
			if c.left == 0 {
				c.crlf = true
			}
			if n == 0 && err != nil {
				c.err = unexpectedEOF(err)
				continue
			}
			return n, nil
		}
		if len(p) == 0 {
			return 0, nil
		}
		c.err = c.readSize()
	}
	return 0, c.err
}

func (c *ChunkedReader) readCRLF() error {
	line, err := readLine(c.R, maxChunkLine)
	if err != nil {
		return err
	}
	if line != "" {
		return fmt.Errorf("%w: chunk data longer than its size (%q)", ErrMalformed, line[:min(len(line), 16)])
	}
	return nil
}

// readSize reads a chunk-size line; the last chunk's trailer fields are
// read and dropped.
func (c *ChunkedReader) readSize() error {
	line, err := readLine(c.R, maxChunkLine)
	if err != nil {
		return err
	}
	size, _, _ := strings.Cut(line, ";")
	size = strings.TrimRight(size, " \t")
	n, err := strconv.ParseInt(size, 16, 64)
	if err != nil || n < 0 || size == "" || strings.ContainsAny(size, "+-") {
		return fmt.Errorf("%w: chunk size %q", ErrMalformed, line[:min(len(line), 32)])
	}
	if c.MaxChunk > 0 && n > c.MaxChunk {
		return fmt.Errorf("%w: chunk of %d bytes, more than the %d allowed", ErrMalformed, n, c.MaxChunk)
	}
	if n > 0 {
		c.left = n
		return nil
	}
	for range maxFields {
		t, err := readLine(c.R, maxChunkLine)
		if err != nil {
			return err
		}
		if t == "" {
			return io.EOF
		}
	}
	return fmt.Errorf("%w: more than %d trailer fields", ErrMalformed, maxFields)
}

// readLine reads one CRLF- (or LF-) terminated line of at most max bytes,
// without its line end.
func readLine(r *bufio.Reader, max int) (string, error) {
	var line []byte
	for {
		piece, err := r.ReadSlice('\n')
		line = append(line, piece...)
		if len(line) > max {
			return "", fmt.Errorf("%w: line longer than %d bytes", ErrMalformed, max)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return "", unexpectedEOF(err)
		}
		return strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r"), nil
	}
}
