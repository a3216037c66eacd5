package negotiate

import (
	"encoding/binary"
	"fmt"
)

// EarlyUserAuthResult is the Early User Authorization Result PDU
// (MS-RDPBCGR 2.2.10.2), sent after CredSSP when PROTOCOL_HYBRID_EX was
// selected.
type EarlyUserAuthResult uint32

const (
	EarlyUserAuthSuccess      EarlyUserAuthResult = 0
	EarlyUserAuthAccessDenied EarlyUserAuthResult = 5
)

var earlyUserAuthResultNames = map[EarlyUserAuthResult]string{
	EarlyUserAuthSuccess:      "SUCCESS",
	EarlyUserAuthAccessDenied: "ACCESS_DENIED",
}

// String returns the spec name, or EARLY_USER_AUTH_RESULT_0x%08X if unknown.
func (r EarlyUserAuthResult) String() string {
	return specName(earlyUserAuthResultNames, r, "EARLY_USER_AUTH_RESULT_0x%08X")
}

// ParseEarlyUserAuthResult parses the 4-byte little-endian authzResult.
func ParseEarlyUserAuthResult(b []byte) (EarlyUserAuthResult, error) {
	if len(b) != 4 {
		return 0, fmt.Errorf("early user authorization result: %w: %d bytes, want 4", ErrMalformed, len(b))
	}
	return EarlyUserAuthResult(binary.LittleEndian.Uint32(b)), nil
}

// Marshal returns the 4-byte wire form.
func (r EarlyUserAuthResult) Marshal() []byte { return le32(uint32(r)) }
