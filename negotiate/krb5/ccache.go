package krb5

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/messages"
)

// maxCCache caps a ccache file read: a few tickets are a few KiB.
const maxCCache = 1 << 20

// ErrCCacheNoTGT is wrapped when a ccache holds no usable TGT for the realm.
var ErrCCacheNoTGT = errors.New("krb5: ccache has no valid TGT")

// CCache is an MIT credential cache (the FILE: type, versions 3 and 4),
// parsed by gokrb5.
type CCache struct {
	Path string
	cc   *credentials.CCache
}

// CCacheFromEnv is the ccache that KRB5CCNAME names, or "" if it is unset.
func CCacheFromEnv() string { return os.Getenv("KRB5CCNAME") }

// LoadCCache reads a ccache named as KRB5CCNAME does: "FILE:/path" or a
// bare path. Other types (KEYRING:, KCM:, DIR:, MEMORY:, API:) cannot be
// read from a file and are refused with their name.
func LoadCCache(name string) (*CCache, error) {
	path := name
	if typ, rest, ok := strings.Cut(name, ":"); ok && !strings.HasPrefix(name, "/") {
		if !strings.EqualFold(typ, "FILE") {
			return nil, fmt.Errorf("krb5: ccache %q: type %s is not supported (only FILE:)", name, typ)
		}
		path = rest
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("krb5: ccache: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCCache+1))
	if err != nil {
		return nil, fmt.Errorf("krb5: ccache: %w", err)
	}
	if len(b) > maxCCache {
		return nil, fmt.Errorf("krb5: ccache %s is larger than %d bytes", path, maxCCache)
	}
	c, err := ParseCCache(b)
	if err != nil {
		return nil, fmt.Errorf("krb5: ccache %s: %w", path, err)
	}
	c.Path = path
	return c, nil
}

// ParseCCache parses the bytes of an MIT ccache file.
func ParseCCache(b []byte) (c *CCache, err error) {
	defer recoverMalformed("ccache", &err)
	var cc credentials.CCache
	if err := cc.Unmarshal(b); err != nil {
		return nil, errMalformed("ccache", "%v", err)
	}
	return &CCache{cc: &cc}, nil
}

// Principal is the ccache's default principal: the user (components joined
// by "/") and the realm.
func (c *CCache) Principal() (user, realm string) {
	p := c.cc.DefaultPrincipal
	return strings.Join(p.PrincipalName.NameString, "/"), p.Realm
}

// TGT returns the ccache's krbtgt/REALM@REALM credential, if it is valid at now.
func (c *CCache) TGT(realm string, now time.Time) (*Credential, error) {
	for _, e := range c.cc.Credentials {
		s := e.Server.PrincipalName.NameString
		if len(s) != 2 || s[0] != "krbtgt" || !strings.EqualFold(s[1], realm) || !strings.EqualFold(e.Server.Realm, realm) {
			continue
		}
		if !e.EndTime.IsZero() && !now.Before(e.EndTime) {
			return nil, fmt.Errorf("%w for %s: it expired at %s", ErrCCacheNoTGT, realm, e.EndTime.UTC().Format(time.RFC3339))
		}
		var tkt messages.Ticket
		if err := unmarshalTicket(&tkt, e.Ticket); err != nil {
			return nil, fmt.Errorf("krb5: ccache TGT: %w", err)
		}
		if _, err := getEType(e.Key.KeyType); err != nil {
			return nil, fmt.Errorf("krb5: ccache TGT session key: %w", err)
		}
		key := e.Key
		key.KeyValue = append([]byte(nil), key.KeyValue...)
		return &Credential{CName: e.Client.PrincipalName, CRealm: e.Client.Realm, SName: e.Server.PrincipalName,
			SRealm: e.Server.Realm, Ticket: tkt, SessionKey: key, AuthTime: e.AuthTime, StartTime: e.StartTime,
			EndTime: e.EndTime}, nil
	}
	return nil, fmt.Errorf("%w for %s", ErrCCacheNoTGT, realm)
}

func unmarshalTicket(t *messages.Ticket, b []byte) (err error) {
	defer recoverMalformed("Ticket", &err)
	if err := t.Unmarshal(b); err != nil {
		return errMalformed("Ticket", "%v", err)
	}
	return nil
}
