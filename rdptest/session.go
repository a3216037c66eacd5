package rdptest

import (
	"fmt"
	"slices"

	"github.com/rdpprobe/rdpprobe/negotiate"
)

// Channel IDs the server hands out, as Windows does: the I/O channel
// 1003, static channels from 1004, the user channel 1007 (or after the
// static channels).
const (
	ioChannel    = 1003
	firstChannel = 1004
	serverSource = 1002 // pduSource of the server's Share Control PDUs (the server's own MCS user)
	shareID      = 0x000103EA
)

// serverDomainParameters are what Windows answers (MS-RDPBCGR 4.1.4).
var serverDomainParameters = negotiate.DomainParameters{
	MaxChannelIDs: 34, MaxUserIDs: 3, MaxTokenIDs: 0, NumPriorities: 1,
	MinThroughput: 0, MaxHeight: 1, MaxMCSPDUSize: 65528, ProtocolVersion: 2,
}

// session plays the server side of MS-RDPBCGR 3.3.5.3.3-3.3.5.3.12 up to the
// scenario's Session answer. Without a Session it waits for the client to
// hang up, saying nothing more (under Standard RDP Security after the MCS
// Connect Response, which carries the security data --enumerate reads).
// Under PROTOCOL_RDP with encryption the Security Exchange comes after the
// channel joins and every PDU after it goes through the session keys.
func (c *conn) session(selected negotiate.Protocol) error {
	ss := c.s.scenario.Session
	std := c.s.scenario.StandardRDP
	if selected != negotiate.ProtocolRDP {
		std = nil
	}
	if ss == nil && std == nil {
		return c.drain()
	}

	// MCS Connect Initial with the GCC Conference Create Request (2.2.1.3).
	cd, err := c.readConnectInitial()
	if err != nil {
		return err
	}
	c.event(EventMCS, fmt.Sprintf("Connect Initial from %q, serverSelectedProtocol %v, %d static channels",
		cd.Core.ClientName, cd.Core.ServerSelectedProtocol, len(cd.Channels)))
	if cd.Core.ServerSelectedProtocol != selected {
		return fmt.Errorf("CS_CORE serverSelectedProtocol %v, but the server selected %v", cd.Core.ServerSelectedProtocol, selected)
	}
	security := &negotiate.ServerSecurityData{Method: negotiate.EncryptionMethodNone, Level: negotiate.EncryptionLevelNone}
	if std != nil {
		sd, ok, err := c.standardSecurityData(std, cd)
		if err != nil || !ok {
			return err // no method in common: hang up, as Windows does
		}
		security = sd
	}
	if ss == nil {
		ss = &Session{} // the Connect Response succeeds; nothing follows it
	}
	if ss.ConnectResult != negotiate.MCSResultSuccessful {
		c.event(EventSession, "Connect Response "+ss.ConnectResult.String())
		resp := negotiate.ConnectResponse{MCS: negotiate.MCSConnectResponse{Result: ss.ConnectResult, Parameters: serverDomainParameters}}
		if _, err := c.rw.Write(resp.Marshal()); err != nil {
			return err
		}
		return errStop
	}
	net := &negotiate.ServerNetworkData{IOChannel: ioChannel}
	for i := range cd.Channels {
		net.ChannelIDs = append(net.ChannelIDs, uint16(firstChannel+i))
	}
	user := uint16(max(1007, firstChannel+len(cd.Channels)))
	resp := negotiate.ConnectResponse{
		MCS: negotiate.MCSConnectResponse{Parameters: serverDomainParameters},
		GCC: &negotiate.GCCConferenceCreateResponse{NodeID: serverSource, Tag: 1},
		Server: &negotiate.ServerData{
			Core: &negotiate.ServerCoreData{Version: negotiate.RDPVersion5Plus, HasClientRequestedProtocols: true,
				ClientRequestedProtocols: selected},
			Security: security,
			Network:  net,
		},
	}
	if _, err := c.rw.Write(resp.Marshal()); err != nil {
		return err
	}
	if c.s.scenario.Session == nil {
		return c.drain() // the security data was all there was to say
	}

	// Erect Domain and Attach User (2.2.1.5-2.2.1.7).
	mcs, err := c.readMCS()
	if err != nil {
		return fmt.Errorf("read Erect Domain Request: %w", err)
	}
	if err := new(negotiate.ErectDomainRequest).Unmarshal(mcs); err != nil {
		return err
	}
	if mcs, err = c.readMCS(); err != nil {
		return fmt.Errorf("read Attach User Request: %w", err)
	}
	if err := new(negotiate.AttachUserRequest).Unmarshal(mcs); err != nil {
		return err
	}
	au := negotiate.AttachUserConfirm{HasInitiator: true, Initiator: user}
	if _, err := c.rw.Write(negotiate.DataTPDU(au.Marshal())); err != nil {
		return err
	}
	c.event(EventMCS, fmt.Sprintf("attached user %d", user))

	// Channel Joins (2.2.1.8-2.2.1.9) until the Client Info PDU arrives.
	valid := append([]uint16{user, ioChannel}, net.ChannelIDs...)
	var joined []uint16
	for {
		if mcs, err = c.readMCS(); err != nil {
			return fmt.Errorf("read Channel Join Request or Client Info: %w", err)
		}
		t, err := negotiate.PeekMCSPDUType(mcs)
		if err != nil {
			return err
		}
		if t != negotiate.MCSPDUChannelJoinRequest {
			break
		}
		var jr negotiate.ChannelJoinRequest
		if err := jr.Unmarshal(mcs); err != nil {
			return err
		}
		cj := negotiate.ChannelJoinConfirm{Initiator: user, Requested: jr.ChannelID, HasChannelID: true, ChannelID: jr.ChannelID}
		if jr.Initiator != user || !slices.Contains(valid, jr.ChannelID) {
			cj.Result, cj.HasChannelID = negotiate.MCSResultNoSuchChannel, false
		} else {
			joined = append(joined, jr.ChannelID)
		}
		if _, err := c.rw.Write(negotiate.DataTPDU(cj.Marshal())); err != nil {
			return err
		}
	}
	c.event(EventMCS, fmt.Sprintf("joined channels %v", joined))

	// Standard RDP Security: the Security Exchange PDU (2.2.1.10).
	if c.std != nil && c.std.key != nil {
		if err := c.readSecurityExchange(mcs); err != nil {
			return err
		}
		if mcs, err = c.readMCS(); err != nil {
			return fmt.Errorf("read Client Info: %w", err)
		}
	}

	// Client Info PDU (2.2.1.11): a Send Data Request on the I/O channel
	// with SEC_INFO_PKT, encrypted under Standard RDP Security.
	var sd negotiate.SendData
	if err := sd.Unmarshal(mcs); err != nil {
		return fmt.Errorf("Client Info PDU: %w", err)
	}
	if sd.Indication || sd.ChannelID != ioChannel {
		return fmt.Errorf("Client Info PDU: not on the I/O channel")
	}
	flags, body, encrypted, err := c.openClient(sd.UserData)
	if err != nil {
		return fmt.Errorf("Client Info PDU: %w", err)
	}
	if flags&negotiate.SecInfoPkt == 0 {
		return fmt.Errorf("Client Info PDU: security header %v without SEC_INFO_PKT", flags)
	}
	if c.std != nil && c.std.sec != nil && !encrypted {
		return fmt.Errorf("Client Info PDU: not encrypted under Standard RDP Security (2.2.1.11.1)")
	}
	var info negotiate.ClientInfo
	err = info.Unmarshal(body)
	clear(sd.UserData)
	clear(body)
	if err != nil {
		return fmt.Errorf("Client Info PDU: %w", err)
	}
	who := info.UserName
	if info.Domain != "" {
		who = info.Domain + `\` + info.UserName
	}
	pw := "without a password"
	if info.Password != "" {
		pw = "with a password"
	}
	info.Password = ""
	how := ""
	if encrypted {
		how = ", encrypted, signature verified"
	}
	c.event(EventClientInfo, fmt.Sprintf("flags 0x%08X, autologon %v, account %q %s%s", info.Flags,
		info.Flags&negotiate.InfoAutologon != 0, who, pw, how))

	return c.answerSession(ss, user, info)
}

// answerSession sends the scenario's answer to the Client Info, then waits
// for the client's Disconnect Provider Ultimatum (or its hanging up).
func (c *conn) answerSession(ss *Session, user uint16, info negotiate.ClientInfo) error {
	send := func(what string, userData []byte) error {
		c.event(EventSession, what)
		_, err := c.rw.Write(negotiate.ServerSendData(serverSource, ioChannel, userData))
		return err
	}
	share := func(t negotiate.ShareDataPDUType, body []byte) []byte {
		return c.serverUserData(0, negotiate.ShareDataPDU(serverSource, shareID, t, body), true)
	}
	lic := func(what string, msg []byte) error {
		return send(what, c.licenseUserData(msg))
	}
	if err := c.standardFlood(); err != nil {
		return err
	}
	if ss.Flood.Kind != "" {
		if c.std != nil && c.std.sec != nil {
			return fmt.Errorf("rdptest: Session.Flood goes in the clear, not under standard RDP security's keys (StandardRDPSecurity.Flood does)")
		}
		if err := c.flood(ss.Flood); err != nil {
			return err
		}
	}
	if ss.LicenseRequest {
		done, err := c.licenseRequest(ss, user, lic)
		if done || err != nil {
			return err
		}
	}
	var err error
	switch {
	case ss.LicenseError != 0:
		st := ss.StateTransition
		if st == 0 {
			st = negotiate.StTotalAbort
		}
		m := negotiate.LicenseErrorMessage{ErrorCode: ss.LicenseError, StateTransition: st, ErrorInfo: negotiate.LicenseBinaryBlob{Type: negotiate.BBErrorBlob}}
		err = lic("License Error PDU "+ss.LicenseError.String(), m.Marshal())
	case ss.LicenseRequest && ss.ErrorInfo != negotiate.ErrInfoNone:
		// A Session Host that cannot license the client says so with a
		// Set Error Info PDU (below) instead of a Valid Client.
	default:
		m := negotiate.LicenseErrorMessage{ErrorCode: negotiate.StatusValidClient, StateTransition: negotiate.StNoTransition, ErrorInfo: negotiate.LicenseBinaryBlob{Type: negotiate.BBErrorBlob}}
		err = lic("License Error PDU STATUS_VALID_CLIENT", m.Marshal())
		if err == nil && ss.LoggedOn {
			ssi := negotiate.SaveSessionInfo{InfoType: negotiate.InfoTypeLogonLong, Domain: info.Domain, UserName: info.UserName, SessionID: 2}
			err = send("Save Session Info "+ssi.InfoType.String(), share(negotiate.PDUType2SaveSessionInfo, ssi.Marshal()))
		}
		if err == nil && ss.LogonError != nil {
			ssi := negotiate.SaveSessionInfo{InfoType: negotiate.InfoTypeLogonExtendedInfo, LogonErrors: ss.LogonError}
			err = send("Save Session Info logon error "+ss.LogonError.String(), share(negotiate.PDUType2SaveSessionInfo, ssi.Marshal()))
		}
	}
	if err != nil {
		return err
	}
	if ss.ErrorInfo != negotiate.ErrInfoNone || ss.LicenseError != 0 {
		if ss.ErrorInfo != negotiate.ErrInfoNone {
			if err := send("Set Error Info "+ss.ErrorInfo.String(), share(negotiate.PDUType2SetErrorInfo, ss.ErrorInfo.Marshal())); err != nil {
				return err
			}
		}
		c.event(EventSession, "Disconnect Provider Ultimatum")
		u := negotiate.DisconnectProviderUltimatum{Reason: negotiate.MCSReasonProviderInitiated}
		c.rw.Write(negotiate.DataTPDU(u.Marshal()))
		return errStop
	}
	da := negotiate.DemandActive{ShareID: shareID, SourceDescriptor: "RDP"}
	c.event(EventSession, "Demand Active")
	if _, err := c.rw.Write(negotiate.ServerSendData(serverSource, ioChannel, c.serverUserData(0, negotiate.DemandActivePDU(serverSource, &da), true))); err != nil {
		return err
	}
	return c.awaitDisconnect()
}

// flood writes f's PDU f.Count times, or until the client goes away.
func (c *conn) flood(f Flood) error {
	var pdu []byte
	share := func(t negotiate.ShareDataPDUType, body []byte) []byte {
		return negotiate.ServerSendData(serverSource, ioChannel, negotiate.ShareDataPDU(serverSource, shareID, t, body))
	}
	switch f.Kind {
	case FloodErrorInfoNone:
		pdu = share(negotiate.PDUType2SetErrorInfo, negotiate.ErrInfoNone.Marshal())
	case FloodLogonNotification, FloodLogonWarning:
		le := &negotiate.LogonErrorsInfo{Type: negotiate.LogonMsgSessionContinue}
		if f.Kind == FloodLogonWarning {
			le = &negotiate.LogonErrorsInfo{Type: negotiate.LogonErrorType(negotiate.StatusLogonFailure), Data: uint32(negotiate.LogonWarning)}
		}
		ssi := negotiate.SaveSessionInfo{InfoType: negotiate.InfoTypeLogonExtendedInfo, LogonErrors: le}
		pdu = share(negotiate.PDUType2SaveSessionInfo, ssi.Marshal())
	case FloodLicenseValidClient:
		m := negotiate.LicenseErrorMessage{ErrorCode: negotiate.StatusValidClient, StateTransition: negotiate.StNoTransition,
			ErrorInfo: negotiate.LicenseBinaryBlob{Type: negotiate.BBErrorBlob}}
		pdu = negotiate.ServerSendData(serverSource, ioChannel, negotiate.BasicSecurityHeader(negotiate.SecLicensePkt, m.Marshal()))
	case FloodUpdate:
		size := f.Size
		if size <= 0 {
			size = 16 << 10
		}
		pdu = share(negotiate.PDUType2Update, make([]byte, min(size, 60<<10)))
	case FloodMCS:
		au := negotiate.AttachUserConfirm{HasInitiator: true, Initiator: 1007}
		pdu = negotiate.DataTPDU(au.Marshal())
	default:
		return fmt.Errorf("rdptest: unknown flood kind %q", f.Kind)
	}
	c.event(EventSession, fmt.Sprintf("flood of %s (%d bytes each, count %d)", f.Kind, len(pdu), f.Count))
	for i := 0; f.Count == 0 || i < f.Count; i++ {
		if _, err := c.rw.Write(pdu); err != nil {
			return errStop // the client went away
		}
	}
	return nil
}

// awaitDisconnect reads until the client's Disconnect Provider Ultimatum
// (noted as an event) or its hanging up. What a real client sends in
// between (its Confirm Active) is opened under Standard RDP Security, so
// its signature is checked, and noted.
func (c *conn) awaitDisconnect() error {
	for {
		mcs, err := c.readMCS()
		if err != nil {
			return nil // the client hung up
		}
		t, _ := negotiate.PeekMCSPDUType(mcs)
		switch t {
		case negotiate.MCSPDUDisconnectProviderUltimatum:
			var u negotiate.DisconnectProviderUltimatum
			if err := u.Unmarshal(mcs); err != nil {
				return err
			}
			c.event(EventDisconnect, u.Reason.String())
			return nil
		case negotiate.MCSPDUSendDataRequest:
			var sd negotiate.SendData
			if err := sd.Unmarshal(mcs); err != nil {
				return err
			}
			c.clientPDU(sd.UserData)
		}
	}
}

// clientPDU notes a client PDU after the Demand Active: its Share Control
// type and, under Standard RDP Security, whether its signature verified.
func (c *conn) clientPDU(userData []byte) {
	body, how := userData, ""
	if c.std != nil && c.std.method != negotiate.EncryptionMethodNone {
		_, b, encrypted, err := c.openClient(userData)
		switch {
		case err != nil:
			c.event(EventClientPDU, "signature does not verify")
			return
		case encrypted:
			how = ", encrypted, signature verified"
		}
		body = b
	}
	what := fmt.Sprintf("%d bytes", len(body))
	if len(body) >= 6 {
		what = negotiate.ShareControlPDUType((uint16(body[2]) | uint16(body[3])<<8) & 0xF).String()
	}
	c.event(EventClientPDU, what+how)
}

// readMCS reads one TPKT and returns the MCS PDU of its X.224 Data TPDU.
// readConnectInitial reads the MCS Connect Initial with its GCC Conference
// Create Request and returns the client data blocks (MS-RDPBCGR 2.2.1.3).
func (c *conn) readConnectInitial() (*negotiate.ClientData, error) {
	mcs, err := c.readMCS()
	if err != nil {
		return nil, fmt.Errorf("read MCS Connect Initial: %w", err)
	}
	var ci negotiate.ConnectInitial
	if err := ci.Unmarshal(mcs); err != nil {
		return nil, err
	}
	ud, err := negotiate.ParseConferenceCreateRequest(ci.UserData)
	if err != nil {
		return nil, err
	}
	var cd negotiate.ClientData
	if err := cd.Unmarshal(ud); err != nil {
		return nil, err
	}
	return &cd, nil
}

func (c *conn) readMCS() ([]byte, error) {
	pdu, err := negotiate.ReadTPKT(c.rw, 64<<10)
	if err != nil {
		return nil, err
	}
	return negotiate.ParseDataTPDU(pdu)
}
