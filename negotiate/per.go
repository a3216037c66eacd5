package negotiate

import (
	"encoding/binary"
	"fmt"
)

// ALIGNED PER (X.691) as the MCS domain PDUs (T.125 7 parts 3-10) and the GCC conference
// PDUs (T.124, gcc.go) use it.

// appendPERLength appends a length determinant (X.691 10.9): one octet
// below 128, else two with the top bit set. n must be < 16384.
func appendPERLength(b []byte, n int) []byte {
	if n < 0x80 {
		return append(b, byte(n))
	}
	return append(b, 0x80|byte(n>>8), byte(n))
}

// appendPERUint appends an unconstrained non-negative INTEGER: a length
// octet and the minimal big-endian value (at least one octet).
func appendPERUint(b []byte, v uint32) []byte {
	var be [4]byte
	binary.BigEndian.PutUint32(be[:], v)
	i := 0
	for i < 3 && be[i] == 0 {
		i++
	}
	b = append(b, byte(4-i))
	return append(b, be[i:]...)
}

func appendPERUserID(b []byte, id uint16) []byte {
	return binary.BigEndian.AppendUint16(b, id-mcsBaseChannelID)
}

// appendPERChoiceResult appends the CHOICE index, one optional-field bit
// and the four-bit Result spread over two octets, as Attach-User-Confirm
// and Channel-Join-Confirm start.
func appendPERChoiceResult(b []byte, choice byte, present bool, r MCSResult) []byte {
	p := byte(0)
	if present {
		p = 1
	}
	r &= 0xF
	return append(b, choice<<2|p<<1|byte(r>>3), byte(r&7)<<5)
}

type perReader []byte

func (r *perReader) u8(what string) (uint8, error) {
	if len(*r) < 1 {
		return 0, fmt.Errorf("mcs: %w: %s: truncated", ErrMalformed, what)
	}
	v := (*r)[0]
	*r = (*r)[1:]
	return v, nil
}

func (r *perReader) u16(what string) (uint16, error) {
	if len(*r) < 2 {
		return 0, fmt.Errorf("mcs: %w: %s: truncated", ErrMalformed, what)
	}
	v := binary.BigEndian.Uint16(*r)
	*r = (*r)[2:]
	return v, nil
}

func (r *perReader) userID(what string) (uint16, error) {
	v, err := r.u16(what)
	if err != nil {
		return 0, err
	}
	if uint32(v)+mcsBaseChannelID > 0xFFFF {
		return 0, fmt.Errorf("mcs: %w: %s: UserId %d out of range", ErrMalformed, what, uint32(v)+mcsBaseChannelID)
	}
	return v + mcsBaseChannelID, nil
}

// length reads a length determinant of one or two octets; the
// fragmented form (11xxxxxx) is refused.
func (r *perReader) length(what string) (int, error) {
	b0, err := r.u8(what)
	if err != nil {
		return 0, err
	}
	switch {
	case b0&0x80 == 0:
		return int(b0), nil
	case b0&0xC0 == 0x80:
		b1, err := r.u8(what)
		if err != nil {
			return 0, err
		}
		return int(b0&0x3F)<<8 | int(b1), nil
	}
	return 0, fmt.Errorf("mcs: %w: %s: fragmented PER length 0x%02x", ErrMalformed, what, b0)
}

// uint reads an unconstrained non-negative INTEGER of 1 to 4 octets.
func (r *perReader) uint(what string) (uint32, error) {
	n, err := r.u8(what)
	if err != nil {
		return 0, err
	}
	if n < 1 || n > 4 || int(n) > len(*r) {
		return 0, fmt.Errorf("mcs: %w: %s: INTEGER of %d octets", ErrMalformed, what, n)
	}
	var v uint32
	for _, c := range (*r)[:n] {
		v = v<<8 | uint32(c)
	}
	*r = (*r)[n:]
	return v, nil
}

func (r *perReader) choiceResult(choice byte, what string) (present bool, res MCSResult, err error) {
	if len(*r) < 2 || (*r)[0]>>2 != choice {
		return false, 0, fmt.Errorf("mcs: %w: not a %s: % x", ErrMalformed, what, head(*r))
	}
	b0, b1 := (*r)[0], (*r)[1]
	if b1&0x1F != 0 {
		return false, 0, fmt.Errorf("mcs: %w: %s: non-zero padding bits", ErrMalformed, what)
	}
	*r = (*r)[2:]
	return b0&2 != 0, MCSResult((b0&1)<<3 | b1>>5), nil
}

func (r *perReader) end(what string) error {
	if len(*r) != 0 {
		return fmt.Errorf("mcs: %w: %d trailing bytes in %s", ErrMalformed, len(*r), what)
	}
	return nil
}
