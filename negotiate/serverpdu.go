package negotiate

import (
	"encoding/binary"
	"fmt"
)

// ServerPDUKind classifies what the server sent after the Client Info PDU.
type ServerPDUKind uint8

const (
	ServerPDUOther               ServerPDUKind = iota // anything else: keep reading
	ServerPDULicenseValidClient                       // STATUS_VALID_CLIENT: licensing done
	ServerPDULicenseError                             // another ERROR_ALERT: licensing failed (LicenseError)
	ServerPDULicenseExchange                          // LICENSE_REQUEST etc.: a real licence exchange is needed
	ServerPDUSetErrorInfo                             // Set Error Info PDU (ErrorInfo); a disconnect follows
	ServerPDUSaveSessionInfo                          // Save Session Info PDU: logon notification or logon error
	ServerPDUDemandActive                             // Demand Active PDU: capabilities exchange reached
	ServerPDUDeactivateAll                            // Deactivate All PDU
	ServerPDUDisconnectUltimatum                      // MCS Disconnect Provider Ultimatum (Reason)
)

var serverPDUKindNames = map[ServerPDUKind]string{
	ServerPDUOther:               "other",
	ServerPDULicenseValidClient:  "license-valid-client",
	ServerPDULicenseError:        "license-error",
	ServerPDULicenseExchange:     "license-exchange",
	ServerPDUSetErrorInfo:        "set-error-info",
	ServerPDUSaveSessionInfo:     "save-session-info",
	ServerPDUDemandActive:        "demand-active",
	ServerPDUDeactivateAll:       "deactivate-all",
	ServerPDUDisconnectUltimatum: "disconnect-ultimatum",
}

// String returns the kind's name ("license-valid-client"), or "kind-%d".
func (k ServerPDUKind) String() string { return specName(serverPDUKindNames, k, "kind-%d") }

// ServerPDU is one classified server PDU. Only the fields of its Kind are set.
type ServerPDU struct {
	Kind ServerPDUKind

	MCSType   MCSPDUType // DomainMCSPDU CHOICE of the PDU
	Initiator uint16     // Send Data Indication initiator and channel
	ChannelID uint16

	SecurityFlags  SecurityFlags        // when a security header was present
	Encrypted      bool                 // the userData was decrypted (Standard RDP Security)
	LicenseMsgType LicenseMsgType       // licensing kinds
	LicenseError   *LicenseErrorMessage // license-valid-client, license-error
	LicenseRequest *LicenseRequest      // license-exchange with LICENSE_REQUEST
	Challenge      *PlatformChallenge   // license-exchange with PLATFORM_CHALLENGE

	ShareType ShareControlPDUType // Share Control PDUs
	DataType  ShareDataPDUType    // Share Data PDUs

	ErrorInfo       ErrorInfo        // set-error-info
	SaveSessionInfo *SaveSessionInfo // save-session-info
	DemandActive    *DemandActive    // demand-active
	Reason          MCSReason        // disconnect-ultimatum
}

// ParseServerPDU classifies the TPKT payload of a server PDU received after
// the Client Info PDU (MS-RDPBCGR 3.2.5.3.12-3.2.5.3.13, 3.2.5.5):
//
//   - MCS Disconnect Provider Ultimatum (2.2.2.3) → disconnect-ultimatum;
//   - Send Data Indication whose userData starts with a Basic Security
//     Header with SEC_LICENSE_PKT (2.2.1.12) → licensing: ERROR_ALERT with
//     STATUS_VALID_CLIENT/ST_NO_TRANSITION is license-valid-client, other
//     ERROR_ALERTs license-error, LICENSE_REQUEST/PLATFORM_CHALLENGE/
//     NEW_LICENSE/UPGRADE_LICENSE license-exchange;
//   - a Share Control PDU (2.2.8.1.1.1.1), with no security header as under
//     TLS, or after a Basic Security Header some servers send anyway →
//     demand-active (2.2.1.13.1), deactivate-all, or a Share Data PDU:
//     set-error-info (2.2.5.1), save-session-info (2.2.10.1);
//   - anything else → other.
//
// An X.224 Disconnect Request yields an error wrapping ErrDisconnectRequest.
// Encrypted (Standard RDP Security) PDUs are classified as other: see
// ParseSecureServerPDU.
func ParseServerPDU(x224 []byte) (*ServerPDU, error) { return ParseSecureServerPDU(x224, nil) }

// ParseSecureServerPDU is ParseServerPDU under Standard RDP Security
// (MS-RDPBCGR 5.3.6): a Send Data Indication whose security header has
// SEC_ENCRYPT is decrypted by sec, its signature checked, and then sorted
// like a PDU in the clear. sec is a stream, so every encrypted PDU must
// pass through it in order. A signature that does not verify yields the PDU
// so far and a *MACError. A nil sec is ParseServerPDU.
func ParseSecureServerPDU(x224 []byte, sec *StandardSecurity) (*ServerPDU, error) {
	mcs, err := ParseDataTPDU(x224)
	if err != nil {
		return nil, err
	}
	t, err := PeekMCSPDUType(mcs)
	if err != nil {
		return nil, err
	}
	p := &ServerPDU{MCSType: t}
	switch t {
	case mcsDisconnectProviderUltimatum:
		var u DisconnectProviderUltimatum
		if err := u.Unmarshal(mcs); err != nil {
			return nil, err
		}
		p.Kind, p.Reason = ServerPDUDisconnectUltimatum, u.Reason
		return p, nil
	case mcsSendDataIndication:
	default:
		return p, nil
	}
	var sd SendData
	if err := sd.Unmarshal(mcs); err != nil {
		return nil, err
	}
	p.Initiator, p.ChannelID = sd.Initiator, sd.ChannelID
	u := sd.UserData
	if sec != nil && len(u) >= basicSecurityHdrLen && SecurityFlags(binary.LittleEndian.Uint16(u))&SecEncrypt != 0 {
		flags, body, err := sec.Open(u)
		p.SecurityFlags, p.Encrypted = flags, true
		switch {
		case err != nil:
			return p, err
		case flags&SecLicensePkt != 0:
			return p, p.parseLicense(body)
		case isShareControl(body):
			return p, p.parseShare(body)
		}
		return p, nil
	}
	if len(u) >= basicSecurityHdrLen {
		flags := SecurityFlags(binary.LittleEndian.Uint16(u))
		if flags&SecLicensePkt != 0 && !isShareControl(u) {
			p.SecurityFlags = flags
			if flags&SecEncrypt != 0 {
				return p, nil
			}
			return p, p.parseLicense(u[basicSecurityHdrLen:])
		}
		if !isShareControl(u) && isShareControl(u[basicSecurityHdrLen:]) && flags&SecEncrypt == 0 {
			p.SecurityFlags = flags
			u = u[basicSecurityHdrLen:]
		}
	}
	if !isShareControl(u) {
		return p, nil
	}
	return p, p.parseShare(u)
}

// isShareControl reports whether b starts like TS_SHARECONTROLHEADER:
// totalLength within b and at least the header, protocol version 1.
func isShareControl(b []byte) bool {
	if len(b) < shareControlLen {
		return false
	}
	n := int(binary.LittleEndian.Uint16(b))
	return n >= shareControlLen && n <= len(b) && binary.LittleEndian.Uint16(b[2:])&0xFFF0 == tsProtocolVersion
}

func (p *ServerPDU) parseLicense(msg []byte) error {
	pre, _, err := ParseLicensePreamble(msg)
	if err != nil {
		return err
	}
	p.LicenseMsgType = pre.MsgType
	switch pre.MsgType {
	case ErrorAlertMsg:
		m := &LicenseErrorMessage{}
		if err := m.Unmarshal(msg); err != nil {
			return err
		}
		p.LicenseError = m
		p.Kind = ServerPDULicenseError
		if m.ValidClient() {
			p.Kind = ServerPDULicenseValidClient
		}
	case LicenseRequestMsg:
		m := &LicenseRequest{}
		if err := m.Unmarshal(msg); err != nil {
			return err
		}
		p.LicenseRequest = m
		p.Kind = ServerPDULicenseExchange
	case PlatformChallengeMsg:
		m := &PlatformChallenge{}
		if err := m.Unmarshal(msg); err != nil {
			return err
		}
		p.Challenge = m
		p.Kind = ServerPDULicenseExchange
	case NewLicenseMsg, UpgradeLicenseMsg:
		p.Kind = ServerPDULicenseExchange
	}
	return nil
}

func (p *ServerPDU) parseShare(b []byte) error {
	b = b[:binary.LittleEndian.Uint16(b)]
	p.ShareType = ShareControlPDUType(binary.LittleEndian.Uint16(b[2:]) & 0xF)
	body := b[shareControlLen:]
	switch p.ShareType {
	case PDUTypeDemandActive:
		d := &DemandActive{}
		if err := d.unmarshal(body); err != nil {
			return err
		}
		p.Kind, p.DemandActive = ServerPDUDemandActive, d
	case PDUTypeDeactivateAll:
		p.Kind = ServerPDUDeactivateAll
	case PDUTypeData:
		if len(b) < shareDataLen {
			return fmt.Errorf("share: %w: Share Data PDU of %d bytes", ErrMalformed, len(b))
		}
		p.DataType = ShareDataPDUType(b[14])
		if b[15]&packetCompressed != 0 {
			return nil // compressed: we never asked for it, leave as other
		}
		data := b[shareDataLen:]
		switch p.DataType {
		case PDUType2SetErrorInfo:
			e, err := ParseSetErrorInfo(data)
			if err != nil {
				return err
			}
			p.Kind, p.ErrorInfo = ServerPDUSetErrorInfo, e
		case PDUType2SaveSessionInfo:
			s := &SaveSessionInfo{}
			if err := s.Unmarshal(data); err != nil {
				return err
			}
			p.Kind, p.SaveSessionInfo = ServerPDUSaveSessionInfo, s
		}
	}
	return nil
}
