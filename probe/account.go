package probe

import (
	"errors"
	"fmt"
	"strings"
)

// ParseAccount splits the forms mstsc accepts: DOMAIN\user, COMPUTER\user,
// .\user (a local account of the target) and user@upn (sent whole, with no
// domain, as Windows does for a UPN). The command line's -u and the
// exporter's module credentials both use it, so an account written the same
// way means the same thing in both.
func ParseAccount(s string) (user, domain string, err error) {
	if s == "" {
		return "", "", errors.New("empty user name")
	}
	if i := strings.IndexByte(s, '\\'); i >= 0 {
		user, domain = s[i+1:], s[:i]
		if user == "" || strings.ContainsRune(user, '\\') {
			return "", "", fmt.Errorf("user %q: expected DOMAIN\\user", s)
		}
		return user, domain, nil
	}
	return s, "", nil
}
