package negotiate

import (
	"encoding/binary"
	"fmt"
)

// BER (X.690 8.1) as MCS (T.125 7 part 2) and CredSSP (MS-CSSP 2.2.1) use it: definite
// lengths only, in the few tags those PDUs have. The MCS connect PDUs are written with the
// appendBER* helpers and read with berReader; CredSSP reads through cryptobyte (credssp.go).

// BER identifier octets (X.690 8.1.2).
const (
	berBoolean     = 0x01
	berInteger     = 0x02
	berOctetString = 0x04
	berEnumerated  = 0x0A
	berSequence    = 0x30
	berContext     = 0x80 // class bits of a context-specific tag
	berConstructed = 0x20
)

// appendBERLength appends a definite length, short form below 128, else
// the shortest long form.
func appendBERLength(b []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(b, byte(n))
	case n <= 0xFF:
		return append(b, 0x81, byte(n))
	case n <= 0xFFFF:
		return append(b, 0x82, byte(n>>8), byte(n))
	default:
		return append(b, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
}

func appendBERTLV(b []byte, tag byte, v []byte) []byte {
	b = append(b, tag)
	b = appendBERLength(b, len(v))
	return append(b, v...)
}

// appendBERApplication appends a constructed [APPLICATION n] TLV in
// high-tag-number form (n > 30, as 101 and 102 are).
func appendBERApplication(b []byte, n byte, v []byte) []byte {
	b = append(b, 0x7F, n)
	b = appendBERLength(b, len(v))
	return append(b, v...)
}

// appendBERUint appends a non-negative INTEGER or ENUMERATED in the fewest
// octets, with a leading zero when the top bit would read as a sign.
func appendBERUint(b []byte, tag byte, v uint32) []byte {
	var be [5]byte
	binary.BigEndian.PutUint32(be[1:], v)
	i := 1
	for i < 4 && be[i] == 0 && be[i+1]&0x80 == 0 {
		i++
	}
	if be[i]&0x80 != 0 {
		i--
	}
	return appendBERTLV(b, tag, be[i:])
}

// berReader walks BER TLVs with definite lengths; every read is checked.
type berReader []byte

func (s *berReader) header(what string) (tag0 byte, tag1 byte, n int, err error) {
	b := *s
	if len(b) < 2 {
		return 0, 0, 0, fmt.Errorf("mcs: %w: %s: truncated BER header", ErrMalformed, what)
	}
	tag0, b = b[0], b[1:]
	if tag0&0x1F == 0x1F {
		// High-tag-number form: we only need one subsequent octet (< 128).
		if b[0]&0x80 != 0 {
			return 0, 0, 0, fmt.Errorf("mcs: %w: %s: tag number over 127", ErrMalformed, what)
		}
		tag1, b = b[0], b[1:]
		if len(b) < 1 {
			return 0, 0, 0, fmt.Errorf("mcs: %w: %s: truncated BER header", ErrMalformed, what)
		}
	}
	l0 := b[0]
	b = b[1:]
	n = int(l0)
	if l0 >= 0x80 {
		k := int(l0 & 0x7F)
		if k == 0 || k > 3 || len(b) < k {
			return 0, 0, 0, fmt.Errorf("mcs: %w: %s: bad BER length octet 0x%02x", ErrMalformed, what, l0)
		}
		n = 0
		for _, c := range b[:k] {
			n = n<<8 | int(c)
		}
		b = b[k:]
	}
	if n > len(b) {
		return 0, 0, 0, fmt.Errorf("mcs: %w: %s: length %d exceeds the %d bytes left", ErrMalformed, what, n, len(b))
	}
	*s = b
	return tag0, tag1, n, nil
}

func (s *berReader) take(n int) berReader {
	v := (*s)[:n:n]
	*s = (*s)[n:]
	return v
}

func (s *berReader) expect(tag byte, what string) (berReader, error) {
	save := *s
	t, _, n, err := s.header(what)
	if err != nil {
		return nil, err
	}
	if t != tag {
		*s = save
		return nil, fmt.Errorf("mcs: %w: %s: tag 0x%02x, want 0x%02x", ErrMalformed, what, t, tag)
	}
	return s.take(n), nil
}

func (s *berReader) expectApplication(num byte, what string) (berReader, error) {
	t0, t1, n, err := s.header(what)
	if err != nil {
		return nil, err
	}
	if t0 != 0x7F || t1 != num {
		return nil, fmt.Errorf("mcs: %w: %s: tag %02x %02x, want [APPLICATION %d] (7f %02x)", ErrMalformed, what, t0, t1, num, num)
	}
	return s.take(n), nil
}

func (s *berReader) octets(what string) ([]byte, error) {
	v, err := s.expect(berOctetString, what)
	if err != nil {
		return nil, err
	}
	return append([]byte{}, v...), nil
}

// uint reads a non-negative INTEGER/ENUMERATED that fits 32 bits.
func (s *berReader) uint(tag byte, what string) (uint32, error) {
	v, err := s.expect(tag, what)
	if err != nil {
		return 0, err
	}
	if len(v) == 0 || v[0]&0x80 != 0 {
		return 0, fmt.Errorf("mcs: %w: %s: empty or negative", ErrMalformed, what)
	}
	for len(v) > 1 && v[0] == 0 {
		v = v[1:]
	}
	if len(v) > 4 {
		return 0, fmt.Errorf("mcs: %w: %s: %d octets", ErrMalformed, what, len(v))
	}
	var n uint32
	for _, c := range v {
		n = n<<8 | uint32(c)
	}
	return n, nil
}

func (s *berReader) end(what string) error {
	if len(*s) != 0 {
		return fmt.Errorf("mcs: %w: %d trailing bytes in %s", ErrMalformed, len(*s), what)
	}
	return nil
}
