package negotiate

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestClientMCSConnectInitial(t *testing.T) {
	raw := ClientMCSConnectInitial(ProtocolHybrid)
	p, err := ReadTPKT(bytes.NewReader(raw), 0xFFFF)
	if err != nil {
		t.Fatal(err)
	}
	mcs, err := ParseDataTPDU(p)
	if err != nil {
		t.Fatal(err)
	}
	var ci ConnectInitial
	if err := ci.Unmarshal(mcs); err != nil {
		t.Fatal(err)
	}
	if ci.Target != ClientTargetParameters || ci.Minimum != ClientMinimumParameters || ci.Maximum != ClientMaximumParameters ||
		!ci.UpwardFlag || !bytes.Equal(ci.CallingDomainSelector, []byte{1}) || !bytes.Equal(ci.CalledDomainSelector, []byte{1}) {
		t.Errorf("Connect-Initial fields %+v", ci)
	}
	// GCC framing as in MS-RDPBCGR 4.1.3: T.124 key, then the connectPDU
	// header with conferenceName "1" and the "Duca" key.
	if !bytes.HasPrefix(ci.UserData, unhex(t, "000500147c0001")) || !bytes.Contains(ci.UserData, unhex(t, "000800100001c00044756361")) {
		t.Errorf("GCC header % x", head(ci.UserData))
	}
	blocks, err := ParseConferenceCreateRequest(ci.UserData)
	if err != nil {
		t.Fatal(err)
	}
	var cd ClientData
	if err := cd.Unmarshal(blocks); err != nil {
		t.Fatal(err)
	}
	want := DefaultClientData(ProtocolHybrid)
	if !reflect.DeepEqual(cd, want) {
		t.Errorf("client data %+v, want %+v", cd, want)
	}
	bl, _ := SplitDataBlocks(blocks)
	var types []uint16
	for _, b := range bl {
		types = append(types, b.Type)
	}
	if !reflect.DeepEqual(types, []uint16{BlockCSCore, BlockCSSecurity, BlockCSNet}) || len(bl[0].Data)+4 != clientCoreLen ||
		!bytes.Equal(bl[1].Data, make([]byte, 8)) || !bytes.Equal(bl[2].Data, make([]byte, 4)) {
		t.Errorf("blocks %v, CS_CORE %d bytes, CS_SECURITY %x, CS_NET %x", types, len(bl[0].Data)+4, bl[1].Data, bl[2].Data)
	}
	// CS_CORE fields at their MS-RDPBCGR 2.2.1.3.2 offsets.
	core := bl[0].Data
	for _, f := range []struct {
		off  int
		want string
	}{
		{0, "04000800"},  // version RDP 5.0+
		{4, "00040003"},  // 1024x768
		{8, "01ca03aa"},  // RNS_UD_COLOR_8BPP, RNS_UD_SAS_DEL
		{12, "09040000"}, // keyboardLayout 0x409
		{20, "520044005000500052004f00420045000000"}, // clientName "RDPPROBE"
		{140, "0100"},     // earlyCapabilityFlags RNS_UD_CS_SUPPORT_ERRINFO_PDU
		{208, "02000000"}, // serverSelectedProtocol PROTOCOL_HYBRID
	} {
		w := unhex(t, f.want)
		if !bytes.Equal(core[f.off:f.off+len(w)], w) {
			t.Errorf("CS_CORE at %d: %x, want %x", f.off, core[f.off:f.off+len(w)], w)
		}
	}
}

func TestParseMCSConnectResponseRealServers(t *testing.T) {
	tests := []struct {
		file   string
		core   ServerCoreData
		params DomainParameters
	}{
		{"mcs-freerdp-tls-connect-response", ServerCoreData{Version: RDPVersion5Plus, HasClientRequestedProtocols: true,
			ClientRequestedProtocols: ProtocolSSL, HasEarlyCapabilityFlags: true}, DomainParameters{34, 3, 0, 1, 0, 1, 65528, 2}},
		{"mcs-xrdp-connect-response", ServerCoreData{Version: RDPVersion5Plus, HasClientRequestedProtocols: true,
			ClientRequestedProtocols: ProtocolSSL}, DomainParameters{22, 3, 0, 1, 0, 1, 65528, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw := loadHex(t, tt.file)
			cr, err := ParseMCSConnectResponse(raw[4:])
			if err != nil {
				t.Fatal(err)
			}
			if cr.MCS.Result != MCSResultSuccessful || cr.MCS.Parameters != tt.params || cr.GCC.Result != 0 {
				t.Errorf("MCS %+v GCC %+v", cr.MCS.Parameters, cr.GCC)
			}
			s := cr.Server
			if *s.Core != tt.core {
				t.Errorf("SC_CORE %+v", *s.Core)
			}
			if s.Security.Method != EncryptionMethodNone || s.Security.Level != EncryptionLevelNone || s.Security.Rest != nil {
				t.Errorf("SC_SECURITY %+v", *s.Security)
			}
			if s.Network.IOChannel != 1003 || len(s.Network.ChannelIDs) != 0 {
				t.Errorf("SC_NET %+v", *s.Network)
			}
			if got := ChannelsToJoin(1004, s); !reflect.DeepEqual(got, []uint16{1004, 1003}) {
				t.Errorf("ChannelsToJoin = %v", got)
			}
			again, err := ParseMCSConnectResponse(cr.Marshal()[4:])
			if err != nil || !reflect.DeepEqual(again.Server, cr.Server) {
				t.Errorf("round trip: %v %+v", err, again)
			}
		})
	}
}

func TestServerDataStaticChannels(t *testing.T) {
	s := &ServerData{Core: &ServerCoreData{Version: RDPVersion5Plus}, Security: &ServerSecurityData{},
		Network: &ServerNetworkData{IOChannel: 1003, ChannelIDs: []uint16{1004, 1005, 1006}}, MessageChannel: 1008,
		Other: []DataBlock{{Type: BlockSCMultiTr, Data: []byte{1, 0, 0, 0}}}}
	var got ServerData
	if err := got.Unmarshal(s.Marshal()); err != nil || !reflect.DeepEqual(&got, s) {
		t.Fatalf("%v\n%+v", err, got)
	}
	if ch := ChannelsToJoin(1007, &got); !reflect.DeepEqual(ch, []uint16{1007, 1003, 1008, 1004, 1005, 1006}) {
		t.Errorf("ChannelsToJoin = %v", ch)
	}
	if err := got.Unmarshal(s.Marshal()[:len(s.Marshal())-16-12]); !errors.Is(err, ErrMalformed) { // cut SC_NET and after
		t.Errorf("missing SC_NET: %v", err)
	}
}

func TestClientInfoPDU(t *testing.T) {
	info := &ClientInfo{Domain: "LAB", UserName: "labuser", Password: "s3cret!", ClientAddress: "127.0.0.1", PerformanceFlags: DefaultPerformanceFlags}
	raw, err := ClientInfoPDU(1007, 1003, info)
	if err != nil {
		t.Fatal(err)
	}
	mcs, err := ParseDataTPDU(raw[4:])
	if err != nil {
		t.Fatal(err)
	}
	var sd SendData
	if err := sd.Unmarshal(mcs); err != nil {
		t.Fatal(err)
	}
	// MS-RDPBCGR 4.1.10 sends the Client Info PDU as a Send Data Request
	// from the user channel to the I/O channel, high priority, begin|end.
	if sd.Indication || sd.Initiator != 1007 || sd.ChannelID != 1003 || sd.Priority != 1 || sd.Segmentation != 3 {
		t.Errorf("Send Data Request %+v", sd)
	}
	if !bytes.HasPrefix(mcs, unhex(t, "64000603eb70")) {
		t.Errorf("MCS header % x", head(mcs))
	}
	// Basic Security Header SEC_INFO_PKT, unencrypted under TLS.
	if !bytes.HasPrefix(sd.UserData, unhex(t, "40000000")) {
		t.Errorf("security header % x", head(sd.UserData))
	}
	pkt := sd.UserData[4:]
	// CodePage 0, flags, then cbDomain 6, cbUserName 14, cbPassword 14,
	// cbAlternateShell 0, cbWorkingDir 0 (terminators excluded).
	wantHead := unhex(t, "00000000 7b000900 0600 0e00 0e00 0000 0000 4c0041004200 0000")
	if !bytes.HasPrefix(pkt, wantHead) {
		t.Errorf("TS_INFO_PACKET starts % x, want % x", pkt[:len(wantHead)], wantHead)
	}
	if flags := DefaultInfoFlags; flags != 0x0009007B {
		t.Errorf("DefaultInfoFlags = 0x%08X", flags)
	}
	var got ClientInfo
	if err := got.Unmarshal(pkt); err != nil {
		t.Fatal(err)
	}
	want := *info
	want.Flags, want.ClientAddressFamily = DefaultInfoFlags, AFInet
	if got != want {
		t.Errorf("got %#v\nwant %#v", got, want)
	}
	// The extended info: AF_INET, cbClientAddress 20 (with terminator).
	ext := pkt[18+8+16+16+2+2:]
	if !bytes.HasPrefix(ext, unhex(t, "0200 1400 3100320037002e0030002e0030002e0031000000 0200 0000")) {
		t.Errorf("TS_EXTENDED_INFO_PACKET % x", head(ext))
	}
	// ... through performanceFlags, then cbAutoReconnectCookie, reserved1
	// and reserved2, all 0.
	if len(ext) != 4+20+2+2+172+8+6 || !bytes.HasSuffix(ext, make([]byte, 6)) {
		t.Errorf("extended info %d bytes", len(ext))
	}
}

func TestClientInfoNeverShowsPassword(t *testing.T) {
	info := ClientInfo{UserName: "alice", Password: "hunter2-secret"}
	for _, s := range []string{info.String(), fmt.Sprintf("%v %+v %#v %s", info, info, info, &info)} {
		if strings.Contains(s, "hunter2") || !strings.Contains(s, "alice") {
			t.Errorf("leaks or hides too much: %s", s)
		}
	}
	long := ClientInfo{Password: strings.Repeat("p", 300)}
	if _, err := ClientInfoPDU(1007, 1003, &long); err == nil || strings.Contains(err.Error(), "ppp") || !strings.Contains(err.Error(), "Password") {
		t.Errorf("too long password: %v", err)
	}
}

// licenseValidClientTLS is MS-RDPBCGR 4.1.11 as it looks under TLS: the
// decrypted licensing packet of the spec after a Basic Security Header
// with SEC_LICENSE_PKT alone, in a Send Data Indication from 1002 on 1003.
const licenseValidClientTLS = "0300002202f08068000103eb7014" + "80000000" + "ff03100007000000020000000400 0000"

func TestParseServerPDU(t *testing.T) {
	ssiLogonError := ServerSendData(1002, 1003, ShareDataPDU(1002, 0x103ea, PDUType2SaveSessionInfo,
		(&SaveSessionInfo{InfoType: InfoTypeLogonExtendedInfo, LogonErrors: &LogonErrorsInfo{Type: LogonErrorType(StatusLogonFailure), Data: uint32(LogonFailedOther)}}).Marshal()))
	ssiLogon := ServerSendData(1002, 1003, ShareDataPDU(1002, 0x103ea, PDUType2SaveSessionInfo,
		(&SaveSessionInfo{InfoType: InfoTypeLogonLong, Domain: "LAB", UserName: "labuser", SessionID: 3}).Marshal()))
	errInfo := ServerSendData(1002, 1003, ShareDataPDU(1002, 0, PDUType2SetErrorInfo, ErrInfoLicenseNoLicenseServer.Marshal()))
	errInfoWithSecHdr := ServerSendData(1002, 1003, BasicSecurityHeader(0, ShareDataPDU(1002, 0, PDUType2SetErrorInfo, ErrInfoLogoffByUser.Marshal())))
	noLicenseServer := ServerSendData(1002, 1003, BasicSecurityHeader(SecLicensePkt,
		(&LicenseErrorMessage{ErrorCode: ErrNoLicenseServer, StateTransition: StTotalAbort, ErrorInfo: LicenseBinaryBlob{Type: BBErrorBlob}}).Marshal()))
	encrypted := ServerSendData(1002, 1003, BasicSecurityHeader(SecLicensePkt|SecEncrypt, make([]byte, 24)))
	sync := ServerSendData(1002, 1003, ShareDataPDU(1002, 0x103ea, PDUType2Synchronize, []byte{1, 0, 0xea, 3}))
	dr := unhex(t, "0300000b06800000000000")
	demandActive := ServerSendData(1002, 1003, DemandActivePDU(1002, &DemandActive{ShareID: 0x103ea, SourceDescriptor: "RDP"}))

	tests := []struct {
		name  string
		raw   []byte
		kind  ServerPDUKind
		check func(*ServerPDU) bool
	}{
		{"freerdp valid client", loadHex(t, "license-freerdp-valid-client"), ServerPDULicenseValidClient, func(p *ServerPDU) bool {
			return p.LicenseError.ErrorCode == StatusValidClient && p.SecurityFlags == SecLicensePkt && p.ChannelID == 1003
		}},
		{"spec 4.1.11 under TLS", unhex(t, licenseValidClientTLS), ServerPDULicenseValidClient, func(p *ServerPDU) bool {
			return p.Initiator == 1002 && p.LicenseError.ErrorInfo.Type == BBErrorBlob
		}},
		{"xrdp license request", loadHex(t, "license-xrdp-license-request"), ServerPDULicenseExchange, func(p *ServerPDU) bool {
			r := p.LicenseRequest
			return p.LicenseMsgType == LicenseRequestMsg && r.CompanyName == "Microsoft Corporation" && r.ProductID == "236" && r.Version == 0x00040000
		}},
		{"freerdp demand active", loadHex(t, "share-freerdp-demand-active"), ServerPDUDemandActive, func(p *ServerPDU) bool {
			return p.DemandActive.ShareID == 0x000103ec && p.DemandActive.SourceDescriptor == "RDP" && p.DemandActive.NumberCapabilities == 14
		}},
		{"built demand active", demandActive, ServerPDUDemandActive, func(p *ServerPDU) bool {
			return p.DemandActive.ShareID == 0x103ea && p.DemandActive.SourceDescriptor == "RDP" && p.DemandActive.NumberCapabilities == 1
		}},
		{"license error no license server", noLicenseServer, ServerPDULicenseError, func(p *ServerPDU) bool {
			return p.LicenseError.ErrorCode == ErrNoLicenseServer && p.LicenseError.StateTransition == StTotalAbort
		}},
		{"set error info", errInfo, ServerPDUSetErrorInfo, func(p *ServerPDU) bool { return p.ErrorInfo == ErrInfoLicenseNoLicenseServer }},
		{"set error info after a security header", errInfoWithSecHdr, ServerPDUSetErrorInfo, func(p *ServerPDU) bool { return p.ErrorInfo == ErrInfoLogoffByUser }},
		{"save session info logon error", ssiLogonError, ServerPDUSaveSessionInfo, func(p *ServerPDU) bool {
			s := p.SaveSessionInfo
			return !s.LoggedOn() && s.LogonErrors.Type == LogonErrorType(StatusLogonFailure) && s.LogonErrors.Failure() == LogonFailedOther
		}},
		{"save session info logon", ssiLogon, ServerPDUSaveSessionInfo, func(p *ServerPDU) bool {
			s := p.SaveSessionInfo
			return s.LoggedOn() && s.UserName == "labuser" && s.Domain == "LAB" && s.SessionID == 3
		}},
		{"ultimatum", unhex(t, specDisconnectUltimatum), ServerPDUDisconnectUltimatum, nil},
		{"encrypted licensing", encrypted, ServerPDUOther, func(p *ServerPDU) bool { return p.SecurityFlags&SecEncrypt != 0 }},
		{"synchronize", sync, ServerPDUOther, func(p *ServerPDU) bool { return p.DataType == PDUType2Synchronize }},
		{"attach user confirm", unhex(t, specAttachUserConfirm), ServerPDUOther, func(p *ServerPDU) bool { return p.MCSType == mcsAttachUserConfirm }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseServerPDU(tt.raw[4:])
			if err != nil {
				t.Fatal(err)
			}
			if p.Kind != tt.kind {
				t.Fatalf("kind %s, want %s: %+v", p.Kind, tt.kind, p)
			}
			if tt.check != nil && !tt.check(p) {
				t.Errorf("fields: %+v", p)
			}
		})
	}
	if _, err := ParseServerPDU(dr[4:]); !errors.Is(err, ErrDisconnectRequest) {
		t.Errorf("X.224 DR: %v", err)
	}
}

func TestSecurityFlagsString(t *testing.T) {
	for f, want := range map[SecurityFlags]string{
		0: "0", 0x0080: "SEC_LICENSE_PKT", 0x0040: "SEC_INFO_PKT", // MS-RDPBCGR 2.2.8.1.1.2.1
		0x0288: "SEC_ENCRYPT|SEC_LICENSE_PKT|SEC_LICENSE_ENCRYPT_CS", 0x0100: "0x0100",
	} {
		if got := f.String(); got != want {
			t.Errorf("%#04x: %q, want %q", uint16(f), got, want)
		}
	}
}

func TestSharePDUTypeNames(t *testing.T) {
	// Values from MS-RDPBCGR 2.2.8.1.1.1.1 (pduType) and 2.2.8.1.1.1.2
	// (pduType2), not the constants.
	for _, tt := range []struct{ got, want string }{
		{ShareControlPDUType(0x1).String(), "PDUTYPE_DEMANDACTIVEPDU"},
		{ShareControlPDUType(0x3).String(), "PDUTYPE_CONFIRMACTIVEPDU"},
		{ShareControlPDUType(0x6).String(), "PDUTYPE_DEACTIVATEALLPDU"},
		{ShareControlPDUType(0x7).String(), "PDUTYPE_DATAPDU"},
		{ShareControlPDUType(0xA).String(), "PDUTYPE_SERVER_REDIR_PKT"},
		{ShareControlPDUType(0x2).String(), "PDUTYPE_0x2"},
		{ShareDataPDUType(0x02).String(), "PDUTYPE2_UPDATE"},
		{ShareDataPDUType(0x14).String(), "PDUTYPE2_CONTROL"},
		{ShareDataPDUType(0x1F).String(), "PDUTYPE2_SYNCHRONIZE"},
		{ShareDataPDUType(0x25).String(), "PDUTYPE2_SHUTDOWN_DENIED"},
		{ShareDataPDUType(0x26).String(), "PDUTYPE2_SAVE_SESSION_INFO"},
		{ShareDataPDUType(0x28).String(), "PDUTYPE2_FONTMAP"},
		{ShareDataPDUType(0x2F).String(), "PDUTYPE2_SET_ERROR_INFO_PDU"},
		{ShareDataPDUType(0x32).String(), "PDUTYPE2_ARC_STATUS_PDU"},
		{ShareDataPDUType(0x36).String(), "PDUTYPE2_STATUS_INFO_PDU"},
		{ShareDataPDUType(0x37).String(), "PDUTYPE2_MONITOR_LAYOUT_PDU"},
		{ShareDataPDUType(0x03).String(), "PDUTYPE2_0x03"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func FuzzParseServerPDU(f *testing.F) {
	for _, name := range []string{"license-freerdp-valid-client", "license-xrdp-license-request", "share-freerdp-demand-active", "mcs-xrdp-disconnect-ultimatum"} {
		f.Add(loadHex(f, name)[4:])
	}
	f.Add(unhex(f, licenseValidClientTLS)[4:])
	f.Add(ServerSendData(1002, 1003, DemandActivePDU(1002, &DemandActive{ShareID: 0x103ea, SourceDescriptor: "RDP"}))[4:])
	f.Add(ServerSendData(1002, 1003, ShareDataPDU(1002, 0, PDUType2SetErrorInfo, ErrInfoIdleTimeout.Marshal()))[4:])
	f.Add(ServerSendData(1002, 1003, ShareDataPDU(1002, 0, PDUType2SaveSessionInfo,
		(&SaveSessionInfo{InfoType: InfoTypeLogonExtendedInfo, LogonErrors: &LogonErrorsInfo{Type: LogonMsgSessionBusyOptions, Data: 2}}).Marshal()))[4:])
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseServerPDU(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrDisconnectRequest) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		_ = p.Kind.String()
		switch p.Kind {
		case ServerPDULicenseValidClient, ServerPDULicenseError:
			if p.LicenseError == nil || p.LicenseError.ValidClient() != (p.Kind == ServerPDULicenseValidClient) {
				t.Fatalf("license kind %s with %+v", p.Kind, p.LicenseError)
			}
		case ServerPDUSaveSessionInfo:
			if p.SaveSessionInfo == nil {
				t.Fatal("no SaveSessionInfo")
			}
		case ServerPDUDemandActive:
			if p.DemandActive == nil {
				t.Fatal("no DemandActive")
			}
		}
	})
}
