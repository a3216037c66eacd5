package negotiate

import (
	"errors"
	"testing"
)

func TestEarlyUserAuthResult(t *testing.T) {
	tests := []struct {
		in   []byte
		want EarlyUserAuthResult
		name string
		err  bool
	}{
		{[]byte{0, 0, 0, 0}, EarlyUserAuthSuccess, "SUCCESS", false},
		{[]byte{5, 0, 0, 0}, EarlyUserAuthAccessDenied, "ACCESS_DENIED", false},
		{[]byte{0, 0, 0, 5}, 0x05000000, "EARLY_USER_AUTH_RESULT_0x05000000", false}, // little-endian
		{[]byte{5, 0, 0}, 0, "", true},
		{[]byte{5, 0, 0, 0, 0}, 0, "", true},
		{nil, 0, "", true},
	}
	for _, tt := range tests {
		got, err := ParseEarlyUserAuthResult(tt.in)
		if tt.err {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("% x: err = %v", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want || got.String() != tt.name {
			t.Errorf("% x: got %v (%q), %v", tt.in, got, got.String(), err)
		}
		if b := got.Marshal(); string(b) != string(tt.in) {
			t.Errorf("Marshal = % x, want % x", b, tt.in)
		}
	}
}
