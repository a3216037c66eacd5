package utf16le

import (
	"encoding/hex"
	"testing"
)

func TestEncodeDecode(t *testing.T) {
	for _, tt := range []struct{ s, hex string }{
		{"", ""},
		{"CORP", "43004f0052005000"},
		{"é€", "e900ac20"},
		{"𝄞", "34d81edd"}, // U+1D11E: a surrogate pair
	} {
		b := Encode(tt.s)
		if got := hex.EncodeToString(b); got != tt.hex {
			t.Errorf("Encode(%q) = %s, want %s", tt.s, got, tt.hex)
		}
		if got := Decode(b); got != tt.s {
			t.Errorf("Decode(%s) = %q, want %q", tt.hex, got, tt.s)
		}
	}
	// An unpaired surrogate is U+FFFD; an odd trailing byte is dropped.
	if got := Decode([]byte{0x00, 0xd8, 0x41, 0x00, 0x42}); got != "\uFFFDA" {
		t.Errorf("Decode(unpaired, odd) = %q", got)
	}
}
