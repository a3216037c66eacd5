package probe

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/rdpprobe/rdpprobe/negotiate"
)

// disconnectGrace bounds the write of our Disconnect Provider Ultimatum,
// which may come after the phase's deadline has passed.
const disconnectGrace = 500 * time.Millisecond

// passwordWithheld is recorded when the server selected TLS without NLA
// and the password stayed home: nothing proved who the server is.
const passwordWithheld = "the server selected TLS without NLA and its certificate is neither trusted nor pinned, so nothing " +
	"authenticated it before the Client Info; the password was not sent (a man in the middle who strips NLA would read it)"

// passwordWithheldRDP is passwordWithheld for standard RDP security, and
// passwordInTheClear for its ENCRYPTION_LEVEL_NONE, where the opt-in does
// not help: the Client Info would cross the network unencrypted.
const (
	passwordWithheldRDP = "the server selected standard RDP security, which does not authenticate the server; " +
		"the password was not sent (a man in the middle, who can pose as any server here, would read it)"
	passwordInTheClear = "the server selected standard RDP security at ENCRYPTION_LEVEL_NONE, so the Client Info " +
		"would cross the network unencrypted; the password was not sent"
)

// skippedNoCredentials is recorded when the session phase is asked for, the
// server requires NLA, and no credentials were given.
const skippedNoCredentials = "the server selected NLA, which admits no session without a logon, and no credentials were given"

// session goes past the security exchange: MCS Connect Initial with the
// GCC Conference Create Request, Erect Domain, Attach User, Channel Joins,
// the Client Info PDU, then reads the server's PDUs until it says how
// licensing and the logon went (MS-RDPBCGR 1.3.1.1, 3.2.5.3.3-3.2.5.3.13),
// answering a LICENSE_REQUEST with a NEW_LICENSE_REQUEST (MS-RDPELE
// 2.2.2.2) and stopping at the PLATFORM_CHALLENGE that may follow.
// It stops before the capabilities exchange, so no graphics ever flow,
// and always ends with a Disconnect Provider Ultimatum unless the server
// hung up first.
func (p *prober) session(ctx context.Context) (err error) {
	s := p.r.Session
	hungUp := false
	defer func() {
		if !hungUp {
			p.disconnect(s)
		}
	}()
	hangsUp := func(err error) error {
		if closed(err) || errors.Is(err, negotiate.ErrDisconnectRequest) {
			hungUp = true
		}
		return err
	}

	sel := p.r.Negotiation.Selected()
	if err := p.sendX224(negotiate.ClientMCSConnectInitial(sel), "MCS Connect Initial, GCC Conference Create Request", false); err != nil {
		return hangsUp(err)
	}
	b, err := p.readX224("MCS Connect Response")
	if err != nil {
		return hangsUp(err)
	}
	cr, err := negotiate.ParseMCSConnectResponse(b)
	if err != nil {
		return p.mcsFailure(s, err)
	}
	sd := cr.Server
	s.ServerVersion = sd.Core.Version
	s.EncryptionMethod, s.EncryptionLevel = sd.Security.Method, sd.Security.Level
	s.IOChannel = sd.Network.IOChannel
	if err := p.standardSecurityData(s, sd); err != nil {
		return err
	}

	if err := p.sendX224(negotiate.ClientErectDomainRequest(), "MCS Erect Domain Request", false); err != nil {
		return hangsUp(err)
	}
	if err := p.sendX224(negotiate.ClientAttachUserRequest(), "MCS Attach User Request", false); err != nil {
		return hangsUp(err)
	}
	if b, err = p.readX224("MCS Attach User Confirm"); err != nil {
		return hangsUp(err)
	}
	au, err := negotiate.ParseAttachUserConfirm(b)
	if err != nil {
		return p.mcsFailure(s, err)
	}
	s.UserChannel = au.Initiator

	for _, ch := range negotiate.ChannelsToJoin(au.Initiator, sd) {
		if err := p.sendX224(negotiate.ClientChannelJoinRequest(au.Initiator, ch), fmt.Sprintf("MCS Channel Join Request %d", ch), false); err != nil {
			return hangsUp(err)
		}
		if b, err = p.readX224("MCS Channel Join Confirm"); err != nil {
			return hangsUp(err)
		}
		cj, err := negotiate.ParseChannelJoinConfirm(b)
		if err != nil {
			return p.mcsFailure(s, err)
		}
		if cj.Requested != ch {
			return fmt.Errorf("mcs: %w: Channel Join Confirm for channel %d, requested %d", negotiate.ErrMalformed, cj.Requested, ch)
		}
		s.Channels = append(s.Channels, ch)
	}

	if err := p.securityExchange(s); err != nil {
		return hangsUp(err)
	}
	info := p.clientInfo(sel)
	pdu, err := p.clientInfoPDU(au.Initiator, s.IOChannel, &info)
	info.Password = ""
	if err != nil {
		return err
	}
	s.Autologon = info.Flags&negotiate.InfoAutologon != 0
	note := "Client Info PDU (no credentials)"
	if s.Autologon {
		note = "Client Info PDU (INFO_AUTOLOGON with credentials)"
	}
	err = p.sendX224(pdu, note, s.Autologon)
	clear(pdu)
	if err != nil {
		return hangsUp(err)
	}
	s.ClientInfoSent = true

	for {
		pdu, err := p.readServerPDU()
		if err != nil {
			return hangsUp(err)
		}
		p.sawServerPDU(s, pdu)
		done, err := p.serverPDU(s, pdu)
		if pdu.Kind == negotiate.ServerPDUDisconnectUltimatum {
			hungUp = true
		}
		if done || err != nil {
			return hangsUp(err)
		}
	}
}

// serverPDU records one server PDU after the Client Info and says whether
// it settles the phase (done) or is a failure (err).
func (p *prober) serverPDU(s *SessionInfo, pdu *negotiate.ServerPDU) (done bool, err error) {
	switch pdu.Kind {
	case negotiate.ServerPDULicenseValidClient:
		s.License = licenseInfo(s.License, LicenseValidClient, pdu)
		return false, nil // Demand Active or an error comes next
	case negotiate.ServerPDULicenseError:
		s.License = licenseInfo(s.License, LicenseError, pdu)
		return true, pdu.LicenseError
	case negotiate.ServerPDULicenseExchange:
		if pdu.Challenge != nil {
			// The server took our NEW_LICENSE_REQUEST. Answering its
			// challenge makes it issue a client licence (a temporary or
			// permanent per-device CAL): a probe must not consume one,
			// so it stops here.
			s.License = licenseInfo(s.License, LicenseChallenged, pdu)
			return true, nil
		}
		first := s.License == nil || !s.License.NewLicenseRequestSent
		s.License = licenseInfo(s.License, LicenseRequested, pdu)
		if pdu.LicenseRequest == nil || !first {
			return true, nil // NEW_LICENSE, UPGRADE_LICENSE, a second request: not ours to answer
		}
		// Windows decides on the licence only after the client's
		// NEW_LICENSE_REQUEST (MS-RDPELE 2.2.2.2): send one.
		if err := p.newLicenseRequest(s, pdu.LicenseRequest); err != nil || !s.License.NewLicenseRequestSent {
			return true, err
		}
		return false, nil
	case negotiate.ServerPDUSetErrorInfo:
		if pdu.ErrorInfo == negotiate.ErrInfoNone {
			s.ErrorInfo = keep(s, s.ErrorInfo, pdu.ErrorInfo)
			return false, nil
		}
		s.ErrorInfo = append(s.ErrorInfo, pdu.ErrorInfo)
		return true, &SetErrorInfoError{Code: pdu.ErrorInfo}
	case negotiate.ServerPDUSaveSessionInfo:
		ssi := pdu.SaveSessionInfo
		if ssi.LoggedOn() {
			s.LoggedOn = true
			return true, nil
		}
		le := ssi.LogonErrors
		if le == nil {
			return false, nil // an auto-reconnect cookie alone
		}
		if le.Type.IsLogonMsg() || le.Failure() == negotiate.LogonWarning {
			s.LogonErrors = keep(s, s.LogonErrors, *le)
			return false, nil // a notification: the logon goes on
		}
		s.LogonErrors = append(s.LogonErrors, *le)
		return true, &SessionLogonError{Info: *le}
	case negotiate.ServerPDUDemandActive:
		s.DemandActive = true
		return true, nil
	case negotiate.ServerPDUDisconnectUltimatum:
		r := pdu.Reason
		s.ServerDisconnect = &r
		return true, &ServerDisconnectError{Reason: r}
	}
	return false, nil
}

// maxKeptPDUs caps how many harmless server PDUs of one kind (a Set Error
// Info ERRINFO_NONE, a logon notification) the phase keeps: a server that
// streams them must not grow the Result, its JSON or a sweep's line
// without bound. The PDU that ends the phase is always kept.
const maxKeptPDUs = 16

// keep appends v to list unless the list is full; then it only counts it.
func keep[T any](s *SessionInfo, list []T, v T) []T {
	if len(list) >= maxKeptPDUs {
		s.NotKept++
		return list
	}
	return append(list, v)
}

// licenseInfo records the licensing message that now settles the outcome,
// keeping what earlier ones said (product, key, our request).
func licenseInfo(prev *LicenseInfo, o LicenseOutcome, pdu *negotiate.ServerPDU) *LicenseInfo {
	li := &LicenseInfo{}
	if prev != nil {
		*li = *prev
	}
	li.Outcome, li.MsgType, li.ErrorCode, li.StateTransition = o, pdu.LicenseMsgType, 0, 0
	if e := pdu.LicenseError; e != nil {
		li.ErrorCode, li.StateTransition = e.ErrorCode, e.StateTransition
	}
	if r := pdu.LicenseRequest; r != nil {
		li.CompanyName, li.ProductID = r.CompanyName, r.ProductID
	}
	return li
}

// licenseMachineName is the ClientMachineName of our NEW_LICENSE_REQUEST,
// and licenseNoUser its ClientUserName when no account was given.
const (
	licenseMachineName = "rdpprobe"
	licenseNoUser      = "rdpprobe"
)

// newLicenseRequest answers a LICENSE_REQUEST with a CLIENT_NEW_LICENSE_REQUEST
// (MS-RDPELE 2.2.2.2) under the server's RSA key, with a fresh client
// random and premaster secret. Without a usable key it sends nothing and
// records why. The message names the user only: no password goes in it.
func (p *prober) newLicenseRequest(s *SessionInfo, r *negotiate.LicenseRequest) error {
	li := s.License
	cert, err := r.ServerCertificate()
	if cert == nil && err == nil {
		cert = p.licenseCertificate()
	}
	switch {
	case err != nil:
		li.NoNewLicenseRequest = "the LICENSE_REQUEST's server certificate could not be read: " + err.Error()
		return nil
	case cert == nil:
		li.NoNewLicenseRequest = "the LICENSE_REQUEST carries no server certificate, so there is no key to encrypt a NEW_LICENSE_REQUEST with"
		return nil
	case len(r.KeyExchangeAlgs) > 0 && !slices.Contains(r.KeyExchangeAlgs, negotiate.KeyExchangeAlgRSA):
		li.NoNewLicenseRequest = fmt.Sprintf("the server offers key exchange algorithms %v, not KEY_EXCHANGE_ALG_RSA", r.KeyExchangeAlgs)
		return nil
	}
	pub, err := cert.PublicKey()
	if err != nil {
		li.NoNewLicenseRequest = "the LICENSE_REQUEST's server certificate has no usable RSA key: " + err.Error()
		return nil
	}
	li.ServerKey, li.ServerKeyBits = "x509", pub.N.BitLen()
	if cert.Proprietary != nil {
		li.ServerKey = "proprietary"
	}
	secrets := make([]byte, 32+negotiate.LicensePremasterSecretLen)
	defer clear(secrets)
	if _, err := rand.Read(secrets); err != nil {
		return err
	}
	user := licenseNoUser
	if c := p.opt.Credentials; c != nil && c.User != "" {
		user = ansiName(c.User)
	}
	m, err := negotiate.NewLicenseRequestFor(pub, cert.ModulusLen(), secrets[:32], secrets[32:], user, licenseMachineName)
	if err != nil {
		li.NoNewLicenseRequest = "the server's licensing key cannot encrypt the premaster secret: " + err.Error()
		return nil
	}
	note := fmt.Sprintf("licensing NEW_LICENSE_REQUEST (user name %q, no password; premaster under the server's %d-bit %s key)",
		user, li.ServerKeyBits, li.ServerKey)
	if err := p.sendX224(p.licensePDU(s, m.Marshal()), note, false); err != nil {
		return err
	}
	li.NewLicenseRequestSent = true
	return nil
}

// ansiName makes a user name fit an ANSI licensing blob: ASCII only (other
// characters become '?'), at most 64 bytes.
func ansiName(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if len(b) == 64 {
			break
		}
		if r < 0x20 || r > 0x7E {
			r = '?'
		}
		b = append(b, byte(r))
	}
	return string(b)
}

// mcsFailure records an MCS confirm that failed and passes err on.
func (p *prober) mcsFailure(s *SessionInfo, err error) error {
	var mre *negotiate.MCSResultError
	if errors.As(err, &mre) {
		s.MCSFailure = mre
	}
	return err
}

// clientInfo is the TS_INFO_PACKET to send. Without NLA the credentials,
// if any, go in it with INFO_AUTOLOGON: that is how the server gets them.
// Under NLA the server already has them from CredSSP, so it names the
// account only.
func (p *prober) clientInfo(sel negotiate.Protocol) negotiate.ClientInfo {
	info := negotiate.ClientInfo{
		Flags:            negotiate.DefaultInfoFlags &^ negotiate.InfoAutologon,
		PerformanceFlags: negotiate.DefaultPerformanceFlags,
	}
	if a, ok := p.conn.LocalAddr().(*net.TCPAddr); ok {
		info.ClientAddress = a.IP.String()
		if a.IP.To4() == nil {
			info.ClientAddressFamily = negotiate.AFInet6
		}
	}
	if c := p.opt.Credentials; c != nil {
		info.Domain, info.UserName = c.Domain, c.User
		if p.auth != nil {
			info.Domain, _ = p.auth.account() // ".\user" resolved to the server's name
		}
		switch why := p.autologonWithoutNLA(); {
		case sel&(negotiate.ProtocolHybrid|negotiate.ProtocolHybridEx) != 0:
			// NLA: the server has the credentials from CredSSP already.
		case why == "" && sel == negotiate.ProtocolRDP:
			p.r.Session.PasswordWithheld = passwordWithheldRDP
		case why == "":
			p.r.Session.PasswordWithheld = passwordWithheld
		case sel == negotiate.ProtocolRDP && p.keys() == nil:
			p.r.Session.PasswordWithheld = passwordInTheClear
		default:
			info.Password = c.Password
			info.Flags |= negotiate.InfoAutologon
			p.r.Session.AutologonReason = why
		}
	}
	return info
}

// autologonWithoutNLA decides whether the password may go in the Client
// Info of a server that selected TLS without NLA, where nothing but its
// certificate can prove who it is (issue 19): only if that certificate is
// trusted (VerifyCertificate: chain, name, purpose, validity) or is the
// pinned one, or if the caller opted in (Options.AutologonWithoutNLA). Under
// standard RDP security there is no TLS certificate, so only the opt-in
// can send it (and clientInfo still withholds it at ENCRYPTION_LEVEL_NONE).
// It says why, or "" to withhold the password. It is the only place that
// decides it.
func (p *prober) autologonWithoutNLA() AutologonReason {
	if t := p.r.TLS; t != nil && t.Certificate != nil && t.Certificate.Trust != nil {
		switch tr := t.Certificate.Trust; {
		case tr.Trusted:
			return AutologonTrustedCert
		case tr.PinMatches:
			return AutologonPinnedCert
		}
	}
	if p.opt.AutologonWithoutNLA {
		return AutologonOptedIn
	}
	return ""
}

// disconnect sends the Disconnect Provider Ultimatum (MS-RDPBCGR 2.2.2.3),
// even after the phase's deadline, within a short grace of its own.
func (p *prober) disconnect(s *SessionInfo) {
	p.conn.SetDeadline(time.Now().Add(disconnectGrace))
	if err := p.sendX224(negotiate.ClientDisconnectProviderUltimatum(), "MCS Disconnect Provider Ultimatum (rn-user-requested)", false); err == nil {
		s.DisconnectSent = true
	}
}

func (p *prober) sendX224(b []byte, note string, secret bool) error {
	if err := p.conn.writeTPKT(b, note, secret); err != nil {
		return fmt.Errorf("mcs: %w", err)
	}
	return nil
}

// readX224 reads one TPKT (its payload) and records it; want names what
// is expected.
func (p *prober) readX224(want string) ([]byte, error) {
	b, err := p.conn.readTPKT(maxServerPDU, want)
	if err != nil {
		return nil, fmt.Errorf("mcs: %w", err)
	}
	return b, nil
}

// readServerPDU reads and parses one server PDU after the Client Info; a
// recording names it by what it parsed as.
func (p *prober) readServerPDU() (*negotiate.ServerPDU, error) {
	var pdu *negotiate.ServerPDU
	var perr error
	_, err := p.conn.readTPKTNamed(maxServerPDU, func(b []byte) string {
		pdu, perr = negotiate.ParseSecureServerPDU(b, p.keys())
		return serverPDUNote(pdu, perr)
	})
	if err != nil {
		return nil, fmt.Errorf("mcs: read server PDU: %w", err)
	}
	return pdu, perr
}

// serverPDUNote describes a server PDU for a recording.
func serverPDUNote(pdu *negotiate.ServerPDU, err error) string {
	var mac *negotiate.MACError
	switch {
	case errors.As(err, &mac):
		return "encrypted server PDU whose signature does not verify"
	case err != nil:
		return "server PDU (unparsed)"
	case pdu.Encrypted:
		return serverPDUKindNote(pdu) + " (decrypted)"
	}
	return serverPDUKindNote(pdu)
}

func serverPDUKindNote(pdu *negotiate.ServerPDU) string {
	switch pdu.Kind {
	case negotiate.ServerPDULicenseValidClient, negotiate.ServerPDULicenseError:
		return fmt.Sprintf("License Error PDU %v, %v", pdu.LicenseError.ErrorCode, pdu.LicenseError.StateTransition)
	case negotiate.ServerPDULicenseExchange:
		if r := pdu.LicenseRequest; r != nil && len(r.Certificate) > 0 {
			return fmt.Sprintf("licensing %s with a %d-byte server certificate", pdu.LicenseMsgType, len(r.Certificate))
		}
		return "licensing " + pdu.LicenseMsgType.String()
	case negotiate.ServerPDUSetErrorInfo:
		return "Set Error Info PDU " + pdu.ErrorInfo.String()
	case negotiate.ServerPDUSaveSessionInfo:
		if le := pdu.SaveSessionInfo.LogonErrors; le != nil {
			return "Save Session Info PDU, logon error " + le.String()
		}
		return "Save Session Info PDU " + pdu.SaveSessionInfo.InfoType.String()
	case negotiate.ServerPDUDemandActive:
		return "Demand Active PDU"
	case negotiate.ServerPDUDisconnectUltimatum:
		return "MCS Disconnect Provider Ultimatum (" + pdu.Reason.String() + ")"
	}
	return fmt.Sprintf("server PDU (%v)", pdu.MCSType)
}
