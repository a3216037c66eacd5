package krb5

import "fmt"

// The types that hold a password or a key print without it, whatever verb
// a log line uses.

// String names the client and its state, never the password.
func (c *Client) String() string {
	if c == nil {
		return "<nil>"
	}
	return fmt.Sprintf("krb5.Client{%s@%s, KDCs %v, %d exchanges, password %s, ccache %v}",
		c.User, c.Realm, c.Transport.KDCs, len(c.Exchanges), redacted(c.Password != ""), c.CCache != nil)
}

// String names the ticket, never the session key.
func (c *Credential) String() string {
	if c == nil {
		return "<nil>"
	}
	return fmt.Sprintf("krb5.Credential{%s@%s for %s@%s, session key %s [redacted], until %s}",
		c.CName.PrincipalNameString(), c.CRealm, c.SName.PrincipalNameString(), c.SRealm,
		ETypeName(c.SessionKey.KeyType), c.EndTime.UTC().Format("2006-01-02T15:04:05Z"))
}

// String describes the context, never its key.
func (c *Context) String() string {
	if c == nil {
		return "<nil>"
	}
	role := "acceptor"
	if c.initiator {
		role = "initiator"
	}
	return fmt.Sprintf("krb5.Context{%s, %s, key %s [redacted], acceptor subkey %v, flags %#x}",
		role, c.ClientName, ETypeName(c.KeyEType), c.AcceptorSubkey, uint32(c.Flags))
}

// String describes the ccache, never its keys.
func (c *CCache) String() string {
	if c == nil {
		return "<nil>"
	}
	u, r := c.Principal()
	return fmt.Sprintf("krb5.CCache{%s, %s@%s, %d credentials [keys redacted]}", c.Path, u, r, len(c.Credentials))
}

func redacted(set bool) string {
	if set {
		return "[redacted]"
	}
	return "none"
}
