package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/rdpprobe/rdpprobe/negotiate"
)

// maxServerPDU caps one server TPKT in the session phase: a TPKT length is
// 16 bits, and a Demand Active with every capability set fits well within.
const maxServerPDU = 64 << 10

// disconnectGrace bounds the write of our Disconnect Provider Ultimatum,
// which may come after the phase's deadline has passed.
const disconnectGrace = 500 * time.Millisecond

// skippedStandardRDP is recorded when the session phase is asked for but
// the server selected standard RDP security.
const skippedStandardRDP = "the server selected standard RDP security (PROTOCOL_RDP): its Client Info PDU must be " +
	"RC4-encrypted with keys from the server's RSA certificate (MS-RDPBCGR 5.3), which rdpprobe does not implement"

// skippedNoCredentials is recorded when the session phase is asked for, the
// server requires NLA, and no credentials were given.
const skippedNoCredentials = "the server selected NLA, which admits no session without a logon, and no credentials were given"

// session goes past the security exchange: MCS Connect Initial with the
// GCC Conference Create Request, Erect Domain, Attach User, Channel Joins,
// the Client Info PDU, then reads the server's PDUs until it says how
// licensing and the logon went (MS-RDPBCGR 1.3.1.1, 3.2.5.3.3-3.2.5.3.13).
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

	info := p.clientInfo(sel)
	pdu, err := negotiate.ClientInfoPDU(au.Initiator, s.IOChannel, &info)
	info.Password = ""
	if err != nil {
		return err
	}
	s.Autologon = info.Flags&negotiate.InfoAutologon != 0
	note := "Client Info PDU (no credentials)"
	if s.Autologon {
		note = "Client Info PDU (INFO_AUTOLOGON with credentials)"
	}
	err = p.sendX224(pdu, note, p.opt.Credentials != nil && sel == negotiate.ProtocolSSL)
	clear(pdu)
	if err != nil {
		return hangsUp(err)
	}
	s.ClientInfoSent = true

	for {
		b, err := p.readX224("")
		if err != nil {
			return hangsUp(err)
		}
		pdu, err := negotiate.ParseServerPDU(b)
		if err != nil {
			return hangsUp(err)
		}
		done, err := p.serverPDU(s, pdu)
		if pdu.Kind == negotiate.ServerPDUDisconnectUltimatum {
			hungUp = true
		}
		if done || err != nil {
			return err
		}
	}
}

// serverPDU records one server PDU after the Client Info and says whether
// it settles the phase (done) or is a failure (err).
func (p *prober) serverPDU(s *SessionInfo, pdu *negotiate.ServerPDU) (done bool, err error) {
	switch pdu.Kind {
	case negotiate.ServerPDULicenseValidClient:
		s.License = licenseInfo(LicenseValidClient, pdu)
		return false, nil // Demand Active or an error comes next
	case negotiate.ServerPDULicenseError:
		s.License = licenseInfo(LicenseError, pdu)
		return true, pdu.LicenseError
	case negotiate.ServerPDULicenseExchange:
		// A real licence exchange (MS-RDPELE) would follow; answering it
		// needs the server's certificate and RC4, which rdpprobe does not
		// do. That the server asked is the answer.
		s.License = licenseInfo(LicenseRequested, pdu)
		return true, nil
	case negotiate.ServerPDUSetErrorInfo:
		s.ErrorInfo = append(s.ErrorInfo, pdu.ErrorInfo)
		if pdu.ErrorInfo == negotiate.ErrInfoNone {
			return false, nil
		}
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
		s.LogonErrors = append(s.LogonErrors, *le)
		if le.Type.IsLogonMsg() || le.Failure() == negotiate.LogonWarning {
			return false, nil // a notification: the logon goes on
		}
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

func licenseInfo(o LicenseOutcome, pdu *negotiate.ServerPDU) *LicenseInfo {
	li := &LicenseInfo{Outcome: o, MsgType: pdu.LicenseMsgType}
	if e := pdu.LicenseError; e != nil {
		li.ErrorCode, li.StateTransition = e.ErrorCode, e.StateTransition
	}
	if r := pdu.LicenseRequest; r != nil {
		li.CompanyName, li.ProductID = r.CompanyName, r.ProductID
	}
	return li
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
		if p.ntlm != nil && p.ntlm.Domain != "" {
			info.Domain = p.ntlm.Domain // ".\user" resolved to the server's name
		}
		if sel == negotiate.ProtocolSSL {
			info.Password = c.Password
			info.Flags |= negotiate.InfoAutologon
		}
	}
	return info
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
	p.record(Client, LayerX224, b, note, secret)
	if _, err := p.conn.Write(b); err != nil {
		return fmt.Errorf("mcs: send %s: %w", note, err)
	}
	return nil
}

// readX224 reads one TPKT (its payload) and records it; want names what
// is expected, "" for any server PDU.
func (p *prober) readX224(want string) ([]byte, error) {
	b, err := negotiate.ReadTPKT(p.conn, maxServerPDU)
	if err != nil {
		p.recordReadError(err)
		if want == "" {
			want = "server PDU"
		}
		return nil, fmt.Errorf("mcs: read %s: %w", want, err)
	}
	if want == "" && p.opt.Recorder != nil {
		want = serverPDUNote(b)
	}
	p.record(Server, LayerX224, negotiate.AppendTPKT(nil, b), want, false)
	return b, nil
}

// serverPDUNote describes a server PDU for a recording.
func serverPDUNote(b []byte) string {
	pdu, err := negotiate.ParseServerPDU(b)
	if err != nil {
		return "server PDU (unparsed)"
	}
	switch pdu.Kind {
	case negotiate.ServerPDULicenseValidClient, negotiate.ServerPDULicenseError:
		return fmt.Sprintf("License Error PDU %v, %v", pdu.LicenseError.ErrorCode, pdu.LicenseError.StateTransition)
	case negotiate.ServerPDULicenseExchange:
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
