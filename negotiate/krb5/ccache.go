package krb5

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
	"golang.org/x/crypto/cryptobyte"
)

// maxCCache caps a ccache file read: a few tickets are a few KiB.
const maxCCache = 1 << 20

// ErrCCacheNoTGT is wrapped when a ccache holds no usable TGT for the realm.
var ErrCCacheNoTGT = errors.New("krb5: ccache has no valid TGT")

// CCache is an MIT credential cache file (versions 3 and 4, the FILE:
// type; MIT's ccache_file_format). Our parser rather than gokrb5's: that one
// allocates whatever count the file claims (credentials/ccache.go makes
// []types.HostAddress of the address count read) and slices unchecked.
type CCache struct {
	Path             string
	DefaultPrincipal ccPrincipal
	Credentials      []ccCredential
}

type ccPrincipal struct {
	Realm string
	Name  types.PrincipalName
}

type ccCredential struct {
	Client, Server                      ccPrincipal
	Key                                 types.EncryptionKey
	AuthTime, StartTime, EndTime, Renew time.Time
	Ticket                              []byte
}

// Caps on what a ccache may claim.
const (
	maxCCComponents  = 16
	maxCCCredentials = 256
	maxCCList        = 64
)

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
	b, err := readCapped(path, "ccache", maxCCache)
	if err != nil {
		return nil, err
	}
	c, err := ParseCCache(b)
	if err != nil {
		return nil, fmt.Errorf("krb5: ccache %s: %w", path, err)
	}
	c.Path = path
	return c, nil
}

// ParseCCache parses the bytes of an MIT ccache file.
func ParseCCache(b []byte) (*CCache, error) {
	in := cryptobyte.String(b)
	var version uint16
	if !in.ReadUint16(&version) || (version != 0x0503 && version != 0x0504) {
		return nil, errMalformed("ccache", "version %#04x: only 0x0503 and 0x0504 (big-endian) are read", version)
	}
	if version == 0x0504 {
		var hdr cryptobyte.String
		if !in.ReadUint16LengthPrefixed(&hdr) {
			return nil, errMalformed("ccache", "header")
		}
	}
	c := &CCache{}
	var ok bool
	if c.DefaultPrincipal, ok = readCCPrincipal(&in); !ok {
		return nil, errMalformed("ccache", "default principal")
	}
	for !in.Empty() {
		if len(c.Credentials) == maxCCCredentials {
			return nil, errMalformed("ccache", "more than %d credentials", maxCCCredentials)
		}
		cred, ok := readCCCredential(&in, version)
		if !ok {
			return nil, errMalformed("ccache", "credential %d", len(c.Credentials))
		}
		c.Credentials = append(c.Credentials, cred)
	}
	return c, nil
}

func readCCData(in *cryptobyte.String, v *[]byte) bool {
	var n uint32
	if !in.ReadUint32(&n) || int64(n) > int64(len(*in)) {
		return false
	}
	var d []byte
	if !in.ReadBytes(&d, int(n)) {
		return false
	}
	*v = append([]byte{}, d...)
	return true
}

func readCCPrincipal(in *cryptobyte.String) (ccPrincipal, bool) {
	var p ccPrincipal
	var nameType, n uint32
	var realm []byte
	if !in.ReadUint32(&nameType) || !in.ReadUint32(&n) || n > maxCCComponents || !readCCData(in, &realm) {
		return p, false
	}
	p.Realm, p.Name.NameType = string(realm), int32(nameType)
	for range n {
		var comp []byte
		if !readCCData(in, &comp) {
			return p, false
		}
		p.Name.NameString = append(p.Name.NameString, string(comp))
	}
	return p, true
}

func readCCTime(in *cryptobyte.String, t *time.Time) bool {
	var v uint32
	if !in.ReadUint32(&v) {
		return false
	}
	if v != 0 {
		*t = time.Unix(int64(v), 0).UTC()
	}
	return true
}

func readCCCredential(in *cryptobyte.String, version uint16) (ccCredential, bool) {
	var c ccCredential
	var ok bool
	if c.Client, ok = readCCPrincipal(in); !ok {
		return c, false
	}
	if c.Server, ok = readCCPrincipal(in); !ok {
		return c, false
	}
	var etype uint16
	if !in.ReadUint16(&etype) || (version == 0x0503 && !in.ReadUint16(&etype)) || !readCCData(in, &c.Key.KeyValue) {
		return c, false
	}
	c.Key.KeyType = int32(etype)
	var isSKey uint8
	var flags uint32
	if !readCCTime(in, &c.AuthTime) || !readCCTime(in, &c.StartTime) || !readCCTime(in, &c.EndTime) ||
		!readCCTime(in, &c.Renew) || !in.ReadUint8(&isSKey) || !in.ReadUint32(&flags) {
		return c, false
	}
	for range 2 { // addresses, then authdata: a type and data each
		var n uint32
		if !in.ReadUint32(&n) || n > maxCCList {
			return c, false
		}
		for range n {
			var typ uint16
			var d []byte
			if !in.ReadUint16(&typ) || !readCCData(in, &d) {
				return c, false
			}
		}
	}
	var second []byte
	if !readCCData(in, &c.Ticket) || !readCCData(in, &second) {
		return c, false
	}
	return c, true
}

// Principal is the ccache's default principal: the user (components joined
// by "/") and the realm.
func (c *CCache) Principal() (user, realm string) {
	p := c.DefaultPrincipal
	return strings.Join(p.Name.NameString, "/"), p.Realm
}

// TGT returns the ccache's krbtgt/REALM@REALM credential, if it is valid at now.
func (c *CCache) TGT(realm string, now time.Time) (*Credential, error) {
	for _, e := range c.Credentials {
		s := e.Server.Name.NameString
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
		return &Credential{CName: e.Client.Name, CRealm: e.Client.Realm, SName: e.Server.Name,
			SRealm: e.Server.Realm, Ticket: tkt, SessionKey: key, AuthTime: e.AuthTime, StartTime: e.StartTime,
			EndTime: e.EndTime}, nil
	}
	return nil, fmt.Errorf("%w for %s", ErrCCacheNoTGT, realm)
}

// Zero overwrites the session keys the ccache holds in memory.
func (c *CCache) Zero() {
	for i := range c.Credentials {
		clear(c.Credentials[i].Key.KeyValue)
	}
}

func unmarshalTicket(t *messages.Ticket, b []byte) (err error) {
	defer recoverMalformed("Ticket", &err)
	if err := t.Unmarshal(b); err != nil {
		return errMalformed("Ticket", "%v", err)
	}
	return nil
}
