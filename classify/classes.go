package classify

import "github.com/rdpprobe/rdpprobe/probe"

// Registry paths the fixes name.
const (
	rdpTcpKey  = `HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp`
	credSSPKey = `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System\CredSSP\Parameters`
)

const (
	msgCantConnect = "Remote Desktop can't connect to the remote computer for one of these reasons: " +
		"1) Remote access to the server is not enabled 2) The remote computer is turned off " +
		"3) The remote computer is not available on the network. Make sure the remote computer is turned on " +
		"and connected to the network, and that remote access is enabled."
	msgThisComputerCant = "This computer can't connect to the remote computer. Try connecting again. " +
		"If the problem continues, contact the owner of the remote computer or your network administrator."
	msgCredentialsDidNotWork = "Your credentials did not work. The credentials that were used to connect to <computer> " +
		"did not work. Please enter new credentials."
	msgLSA = "An authentication error has occurred. The Local Security Authority cannot be contacted."

	fixAccountForms = "Check the account form: ComputerName\\user or .\\user for a local account of the server, " +
		"DOMAIN\\user for a domain account, user@upn for a UPN (some non-Windows clients fail with the UPN form; use DOMAIN\\user there). "
	fixCredentials = "Check the password (a saved one in Credential Manager may be stale: delete it and type it again). " +
		fixAccountForms +
		"A Microsoft account whose owner only ever signed in with Windows Hello (PIN, face, fingerprint) or the Authenticator app " +
		"has no password the PC has seen: sign in on the PC once with the password (turn off 'Require Windows Hello sign-in for " +
		"Microsoft accounts' in Settings > Accounts > Sign-in options, lock, unlock with the password). " +
		"If a Windows client still fails with a local account, set 'Network access: Sharing and security model for local accounts' " +
		"to Classic on the server, and on the client enable 'Allow delegating saved credentials with NTLM-only server authentication' " +
		"(Computer Configuration > Administrative Templates > System > Credentials Delegation) for TERMSRV/<server> or TERMSRV/*. " +
		"For a cloud VM you cannot sign in to at all, reset the password from the provider's console."
)

// The class IDs, one per row of Classes. They are stable API: JSON,
// metrics labels, expect_class; never rename one.
const (
	OK                           ID = "ok"
	CredentialsNotVerified       ID = "credentials_not_verified"
	DNSFailure                   ID = "dns_failure"
	TCPRefused                   ID = "tcp_refused"
	TCPTimeout                   ID = "tcp_timeout"
	TCPUnreachable               ID = "tcp_unreachable"
	NotRDP                       ID = "not_rdp"
	NLARequired                  ID = "nla_required"
	TLSRequired                  ID = "tls_required"
	TLSNotAllowed                ID = "tls_not_allowed"
	NoServerCertificate          ID = "no_server_certificate"
	TLSClientAuthRequired        ID = "tls_client_auth_required"
	SecurityLayerMismatch        ID = "security_layer_mismatch"
	RefusalContradictsOffer      ID = "refusal_contradicts_offer"
	PreRDP52Server               ID = "pre_rdp52_server"
	TLSFailed                    ID = "tls_failed"
	CertNotTrusted               ID = "cert_not_trusted"
	CredSSPOracleServerUnpatched ID = "credssp_oracle_server_unpatched"
	PubKeyAuthMismatch           ID = "pubkey_auth_mismatch"
	CredSSPRefused               ID = "credssp_refused"
	LogonFailed                  ID = "logon_failed"
	AccountLockedOut             ID = "account_locked_out"
	AccountDisabled              ID = "account_disabled"
	AccountExpired               ID = "account_expired"
	PasswordExpired              ID = "password_expired"
	PasswordMustChange           ID = "password_must_change"
	AccountRestriction           ID = "account_restriction"
	InvalidLogonHours            ID = "invalid_logon_hours"
	InvalidWorkstation           ID = "invalid_workstation"
	LogonTypeNotGranted          ID = "logon_type_not_granted"
	NoLogonServers               ID = "no_logon_servers"
	TrustRelationshipFailure     ID = "trust_relationship_failure"
	LogonRejected                ID = "logon_rejected"
	CredentialsRejectedNoReason  ID = "credentials_rejected_no_reason"
	NoRDPSignInRight             ID = "no_rdp_signin_right"
	ServerClosed                 ID = "server_closed"
	Timeout                      ID = "timeout"
	ProtocolError                ID = "protocol_error"
	NoLicenseServer              ID = "no_license_server"
	LicenseError                 ID = "license_error"
	ServerInsufficientPrivileges ID = "server_insufficient_privileges"
	ServerDeniedConnection       ID = "server_denied_connection"
	FreshCredentialsRequired     ID = "fresh_credentials_required"

	// An RD Gateway's refusals (the gateway_* phases, issue 16).
	GatewayUnreachable       ID = "gateway_unreachable"
	GatewayTLSFailed         ID = "gateway_tls_failed"
	GatewayCertNotTrusted    ID = "gateway_cert_not_trusted"
	GatewayNotRDG            ID = "gateway_not_rdg"
	GatewayAuthFailed        ID = "gateway_auth_failed"
	GatewayCAPDenied         ID = "gateway_cap_denied"
	GatewayRAPDenied         ID = "gateway_rap_denied"
	GatewayTargetUnreachable ID = "gateway_target_unreachable"
	GatewayQuarantine        ID = "gateway_quarantine"
	GatewayMaxConnections    ID = "gateway_max_connections"
	GatewayError             ID = "gateway_error"
	GatewayProtocolError     ID = "gateway_protocol_error"
)

// Words the gateway classes share.
const (
	msgGatewayUnavailable = "Your computer can't connect to the remote computer because the Remote Desktop Gateway server is " +
		"temporarily unavailable. Try reconnecting later or contact your network administrator for assistance."
	gatewayLog = "The gateway's log (Event Viewer > Applications and Services Logs > Microsoft > Windows > " +
		"TerminalServices-Gateway > Operational) has an event for every decision: "
	gatewayPolicies = "RD Gateway Manager > the server > Policies (or, when the policies are kept centrally, " +
		"the Network Policy Server's Network Policies)"
)

// The Kerberos classes (the KDC's and the RDP server's refusals of a
// Kerberos logon that Windows does not already name like NTLM's).
const (
	AccountRevoked           ID = "account_revoked"
	KDCUnreachable           ID = "kdc_unreachable"
	KerberosSPNUnknown       ID = "kerberos_spn_unknown"
	KerberosClockSkew        ID = "kerberos_clock_skew"
	KerberosETypeUnsupported ID = "kerberos_etype_unsupported"
	KerberosTicketRejected   ID = "kerberos_ticket_rejected"
	NTLMBlocked              ID = "ntlm_blocked"
)

// Classes is the table: every way a probe ends, with what Windows shows,
// why, and what to do, roughly in the order a connection meets them.
var Classes = []Class{
	{
		ID: OK, Group: GroupOK,
		Title:       "Remote Desktop works as far as the probe went",
		WindowsSays: "Nothing: the connection goes on to the sign-in screen or the desktop.",
		Cause:       "The server accepted every step the probe ran; the detail says how far that was.",
		Fix:         "Nothing to fix. Read the findings for anything worth tidying.",
	},
	{
		ID: CredentialsNotVerified, Group: GroupUnverified, Phase: probe.PhaseNegotiate,
		Title: "The server does not check credentials before the session, so they were not verified",
		WindowsSays: "No error: the client connects and Windows asks for (or checks) the password on its own sign-in " +
			"screen inside the remote session.",
		Cause: "The server selected TLS only or standard RDP security instead of Network Level Authentication " +
			"(CredSSP), so nothing checks a password until a session has started and its sign-in screen is drawn, which this probe " +
			"never reaches (its session phase goes as far as licensing and the Demand Active and reports a logon result only if the " +
			"server sends one that early). " +
			"The credentials may or may not work. (FreeRDP's +auth-only reports success in this situation without " +
			"checking anything.)",
		Fix: "To have credentials checked up front (and by this probe), require NLA on the server: System Properties > Remote > " +
			"'Allow connections only from computers running Remote Desktop with Network Level Authentication', or UserAuthentication=1 " +
			"(with SecurityLayer=1 or 2) under " + rdpTcpKey + ". A server without NLA can only be tested by logging on.",
	},
	{
		ID: DNSFailure, Group: GroupUnreachable, Phase: probe.PhaseConnect,
		Title: "The server's name does not resolve",
		WindowsSays: "Remote Desktop can't find the computer \"<name>\". This might mean that \"<name>\" does not belong to the " +
			"specified network. Verify the computer name and domain that you are trying to connect to.",
		Cause: "The client could not turn the name into an address: a typo, a missing or stale DNS record, a name that only " +
			"resolves inside the company network or over the VPN, or an old .rdp file with an outdated address.",
		Fix: "Check the spelling and try the fully qualified name or the IP address. Check the DNS record (nslookup <name>). " +
			"Connect the VPN or use the company's DNS if the name is internal. For a cloud VM, download a fresh .rdp file " +
			"from the portal: it carries the current DNS name and port.",
	},
	{
		ID: TCPRefused, Group: GroupUnreachable, Phase: probe.PhaseConnect,
		Title:       "Nothing accepts connections on the RDP port",
		WindowsSays: msgCantConnect,
		Cause: "The host answered but refused the TCP connection: Remote Desktop is off, the Remote Desktop Services " +
			"(TermService) service is stopped, it listens on another port, or a firewall rejects the port.",
		Fix: "Enable Remote Desktop (System Properties > Remote, or fDenyTSConnections=0 under HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server). " +
			"Start TermService. Check the port (PortNumber under " + rdpTcpKey + ", default 3389) and the firewall rule " +
			"'Remote Desktop - User Mode (TCP-In)'. Check that the address really is the intended server.",
	},
	{
		ID: TCPTimeout, Group: GroupUnreachable, Phase: probe.PhaseConnect,
		Title:       "No answer on the RDP port",
		WindowsSays: msgCantConnect,
		Cause: "The TCP connection got no answer at all: a firewall, security group or network security group drops the " +
			"traffic, the host is off, or the address or port is wrong.",
		Fix: "Check that the host is running and that every firewall on the way (the host's own, the cloud security group or NSG, " +
			"the company's) allows TCP 3389 (or the custom port) from where you connect. Test from a machine on the same network.",
	},
	{
		ID: TCPUnreachable, Group: GroupUnreachable, Phase: probe.PhaseConnect,
		Title:       "No route to the server",
		WindowsSays: msgCantConnect,
		Cause: "The network reported that the host or its network cannot be reached: wrong address or subnet, a VPN that is " +
			"not connected, a missing route, or the host is down.",
		Fix: "Check the address, connect the VPN, and check routing from this machine (ping, traceroute / tracert).",
	},
	{
		ID: NotRDP, Group: GroupNegotiation, Phase: probe.PhaseNegotiate,
		Title:       "Something other than Remote Desktop answers on this port",
		WindowsSays: msgThisComputerCant,
		Cause: "The port answered, but not with RDP: another service (a web server, SSH, a TLS endpoint, a gateway) listens " +
			"there, or a port forward points at the wrong place.",
		Fix: "Check the port (PortNumber under " + rdpTcpKey + ") and any NAT or port-forwarding rule. An RD Gateway " +
			"(HTTPS, 443) is configured in the client's Gateway settings, not as the computer address.",
	},
	{
		ID: NLARequired, Group: GroupNegotiation, Phase: probe.PhaseNegotiate,
		Title: "The server requires Network Level Authentication, which was not offered",
		WindowsSays: "The remote computer requires Network Level Authentication, which your computer does not support. " +
			"For assistance, contact your system administrator or technical support.",
		Cause: "The server answered HYBRID_REQUIRED_BY_SERVER: it only accepts NLA (CredSSP), and the client offered " +
			"only TLS or standard RDP security (an old client, CredSSP disabled, enablecredsspsupport:i:0 in the .rdp file, " +
			"or a probe whose offer leaves NLA out).",
		Fix: "Use a client with NLA (any current mstsc; remove enablecredsspsupport:i:0; probe with --protocols tls,nla). " +
			"Only if the clients truly cannot do NLA: on the server clear 'Allow connections only from computers running " +
			"Remote Desktop with Network Level Authentication' (UserAuthentication=0 under " + rdpTcpKey + "), which lets anyone " +
			"reach the sign-in screen without credentials.",
	},
	{
		ID: TLSRequired, Group: GroupNegotiation, Phase: probe.PhaseNegotiate,
		Title:       "The server requires TLS, which was not offered",
		WindowsSays: "No specific message: the connection fails (FreeRDP logs SSL_REQUIRED_BY_SERVER).",
		Cause: "The server answered SSL_REQUIRED_BY_SERVER: its security layer is SSL/TLS (SecurityLayer=2 under " + rdpTcpKey +
			") and the client offered only standard RDP security.",
		Fix: "Offer TLS and NLA (default mstsc; probe with --protocols tls,nla). Do not lower the server's SecurityLayer to make an old client work.",
	},
	{
		ID: TLSNotAllowed, Group: GroupNegotiation, Phase: probe.PhaseNegotiate,
		Title:       "The server allows only standard RDP security: no TLS, no NLA",
		WindowsSays: "No specific message: mstsc falls back to standard RDP security if it may; otherwise the connection fails (FreeRDP logs SSL_NOT_ALLOWED_BY_SERVER).",
		Cause: "The server answered SSL_NOT_ALLOWED_BY_SERVER: SecurityLayer=0 (RDP Security Layer) under " + rdpTcpKey +
			". This is often left over from a workaround that turned NLA off (SecurityLayer, UserAuthentication and " +
			"fAllowSecProtocolNegotiation set to 0). Standard RDP security does not authenticate the server and its encryption is weak.",
		Fix: "Restore the server: SecurityLayer=2 (or 1, Negotiate), UserAuthentication=1, fAllowSecProtocolNegotiation=1 under " + rdpTcpKey +
			", then restart Remote Desktop Services. To test as it is now, probe with --protocols rdp.",
	},
	{
		ID: NoServerCertificate, Group: GroupNegotiation, Phase: probe.PhaseNegotiate,
		Title:       "The server has no usable certificate for TLS",
		WindowsSays: "No specific message: the connection fails (FreeRDP logs SSL_CERT_NOT_ON_SERVER).",
		Cause: "The server answered SSL_CERT_NOT_ON_SERVER: Remote Desktop Services cannot load a certificate. The self-signed one " +
			"under Certificates (Local Computer) > Remote Desktop was deleted, SSLCertificateSHA1Hash points at a certificate " +
			"that is gone, or the service cannot read its private key.",
		Fix: "Check Certificates (Local Computer) > Remote Desktop. To get a fresh self-signed certificate, delete the " +
			"SSLCertificateSHA1Hash value under " + rdpTcpKey + " (and the broken certificate) and restart Remote Desktop Services. " +
			"For a CA-issued certificate, give NETWORK SERVICE read access to its private key.",
	},
	{
		ID: TLSClientAuthRequired, Group: GroupNegotiation, Phase: probe.PhaseNegotiate,
		Title:       "The server requires TLS with client certificates",
		WindowsSays: "No specific message: the connection fails (FreeRDP logs SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER).",
		Cause: "The server answered SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER: it wants TLS with a client certificate, which " +
			"mstsc does not do. This is rare and usually set by third-party RDP or security software.",
		Fix: "Turn the client-certificate requirement off on the server (check third-party RDP or security software) and use NLA instead.",
	},
	{
		ID: SecurityLayerMismatch, Group: GroupNegotiation, Phase: probe.PhaseNegotiate,
		Title: "The server picked a security protocol that was not offered",
		WindowsSays: "Usually no error: mstsc goes along with the server's choice, and the user sees the server's own " +
			"sign-in screen instead of the Windows credential prompt.",
		Cause: "The server selected a protocol the client did not offer instead of refusing with a failure code, so it did " +
			"not accept what was offered. Servers without NLA answer an NLA-only offer this way, selecting standard RDP security.",
		Fix: "To test the server as it is, offer what it selected (the detail says how). To have it accept what your clients " +
			"offer, give it what that needs: a certificate and key for TLS, NLA where it supports it; on Windows, check " +
			"SecurityLayer and UserAuthentication under " + rdpTcpKey + ".",
	},
	{
		ID: RefusalContradictsOffer, Group: GroupNegotiation, Phase: probe.PhaseNegotiate,
		Title:       "The server refused the offer, demanding a protocol the offer includes",
		WindowsSays: msgThisComputerCant,
		Cause: "The server answered with a well-formed RDP_NEG_FAILURE whose code demands a protocol the request offered " +
			"(SSL_REQUIRED_BY_SERVER to an offer with TLS, HYBRID_REQUIRED_BY_SERVER to one with NLA). The refusal contradicts " +
			"the request, so the client is not at fault: the server's own security settings disagree with each other (it is set " +
			"to require something it then does not accept, such as NLA with the Early User Authorization Result it cannot give), " +
			"or something in between rewrote the request.",
		Fix: "Compare the server's security settings with each other and restart its Remote Desktop service: on Windows, " +
			"SecurityLayer, UserAuthentication and the certificate under " + rdpTcpKey + "; elsewhere, its security layer and " +
			"NLA options. No client setting helps, since the offer already holds what the server demands. A probe from " +
			"another network rules a middlebox in or out.",
	},
	{
		ID: PreRDP52Server, Group: GroupNegotiation, Phase: probe.PhaseNegotiate,
		Title: "The server predates security negotiation (before RDP 5.2): standard RDP security only",
		WindowsSays: "mstsc warns that it cannot verify the identity of the remote computer and asks whether to connect " +
			"anyway; if server authentication is required, it does not connect.",
		Cause: "The server's Connection Confirm carries no RDP_NEG_RSP (MS-RDPBCGR 2.2.1.2): it never read the client's " +
			"RDP_NEG_REQ, as servers and appliances from before RDP 5.2 do not. It is not refusing the offer nor picking " +
			"another protocol: it predates the choice, and speaks only standard RDP security, which does not authenticate " +
			"the server and encrypts with RC4.",
		Fix: "Plan to replace or upgrade it: a supported server negotiates TLS and NLA. Until then it is reachable only over " +
			"standard RDP security; to test its licensing and logon as it is, offer that (the detail says how). Keep it " +
			"off networks you do not trust: nothing stops a man in the middle.",
	},
	{
		ID: TLSFailed, Group: GroupNegotiation, Phase: probe.PhaseTLS,
		Title:       "The TLS handshake failed",
		WindowsSays: "\"An internal error has occurred.\" or \"" + msgThisComputerCant + "\"",
		Cause: "The server and the client could not set up TLS: no TLS version or cipher suite in common (an old server " +
			"with only TLS 1.0, or TLS versions disabled by hardening on either side), a broken certificate binding, " +
			"or a middlebox that interferes with TLS.",
		Fix: "Compare the TLS versions and cipher suites enabled on the server (SCHANNEL settings, IIS Crypto) with the client's. " +
			"Update old servers so TLS 1.2 works. Check the Remote Desktop certificate and the System event log (Schannel events). " +
			"Try from a network without TLS inspection.",
	},
	{
		ID: CertNotTrusted, Group: GroupNegotiation, Phase: probe.PhaseTLS,
		Title: "The server's certificate is not one the probe was told to require",
		WindowsSays: "The connection has been terminated because an unexpected server authentication certificate was received " +
			"from the remote computer. (An expired certificate: \"Remote Desktop cannot connect to the remote computer because the " +
			"authentication certificate received from the remote computer is expired or invalid. In some cases, this error might " +
			"also be caused by a large time discrepancy between the client and server computers.\" A client that only warns asks: " +
			"\"The identity of the remote computer cannot be verified. Do you want to connect anyway?\")",
		Cause: "Told to require a trusted certificate, the probe, like a client set to 'Do not connect if authentication fails' ('Configure " +
			"server authentication for client' policy, or authentication level:i:1 in the .rdp file), stops before sending anything " +
			"when the certificate fails one of its checks: it does not chain to a trusted root (Remote Desktop's own self-signed " +
			"certificate, an enterprise CA the client lacks, a missing intermediate), it does not hold the name the client connects " +
			"to, its purpose is neither server nor Remote Desktop authentication, or it is outside its validity period. Told to " +
			"pin a certificate, it stops when the certificate is not the pinned one: it was renewed or replaced, or something in " +
			"between presents its own.",
		Fix: "Give the server a certificate from the enterprise CA that holds the name users type and the Remote Desktop " +
			"Authentication (1.3.6.1.4.1.311.54.1.2) or Server Authentication extended key usage: issue it from an RDP certificate " +
			"template automatically with the policy 'Server authentication certificate template' (Computer Configuration > " +
			"Administrative Templates > Windows Components > Remote Desktop Services > Remote Desktop Session Host > Security), or " +
			"bind an installed one to the listener by its thumbprint: wmic /namespace:\\\\root\\cimv2\\TerminalServices PATH " +
			"Win32_TSGeneralSetting Set SSLCertificateSHA1Hash=\"<thumbprint>\", or in PowerShell Set-WmiInstance -Path " +
			"(Get-WmiObject -Class Win32_TSGeneralSetting -Namespace root\\cimv2\\TerminalServices -Filter \"TerminalName='RDP-Tcp'\").__path " +
			"-Argument @{SSLCertificateSHA1Hash='<thumbprint>'}. Clients, the probe among them, need the CA's root and must connect " +
			"by a name the certificate holds: the detail and the findings say which of these failed. For a pinned certificate that " +
			"changed, find out why before pinning the new fingerprint (tls.certificate.sha256 in the JSON output).",
	},
	{
		ID: CredSSPOracleServerUnpatched, Group: GroupNegotiation, Phase: probe.PhaseNTLMInfo,
		Title: "The server lacks the CredSSP security update (CVE-2018-0886)",
		WindowsSays: "An authentication error has occurred. The function requested is not supported. Remote computer: <computer>. " +
			"This could be due to CredSSP encryption oracle remediation.",
		Cause: "The server speaks a CredSSP version older than 5, so it does not have the May 2018 fix for CVE-2018-0886. " +
			"An updated client with the default policy (Mitigated) refuses such a server before sending credentials. " +
			"(The reverse case, an updated server with 'Force Updated Clients' and an old client, shows \"The token supplied to the function is invalid\".)",
		Fix: "Update the server (on Windows: Windows Update, the CredSSP update of May 2018 or any later cumulative update): this is the fix. " +
			"Only as a stopgap, on the client set Computer Configuration > Administrative Templates > System > Credentials Delegation > " +
			"'Encryption Oracle Remediation' to Enabled with Protection Level 'Vulnerable', or the DWORD AllowEncryptionOracle=2 under " +
			credSSPKey + ". That exposes the client to a remote code execution attack from any server or man in the middle it " +
			"connects to: undo it as soon as the server is updated.",
	},
	{
		ID: PubKeyAuthMismatch, Group: GroupNegotiation, Phase: probe.PhaseLogon,
		Title:       "The server could not prove it holds the TLS key: possible man in the middle",
		WindowsSays: "The connection fails with an authentication error (no specific message).",
		Cause: "In CredSSP the server must prove that the TLS key the client saw is its own. Its proof did not match, so " +
			"something between client and server may be terminating TLS (a TLS-inspecting proxy or firewall, or an attacker), " +
			"or the server's CredSSP is broken. No credentials were sent.",
		Fix: "Do not connect from this network until this is explained. Compare the certificate fingerprint (SHA-256 in the report) " +
			"with the one seen from a trusted network or on the server. Exclude the RDP port from TLS inspection.",
	},
	{
		// Not LocksAccount: no credential had gone out, so the account
		// cannot be what the code is about, whatever it names (a server
		// that answers STATUS_ACCOUNT_LOCKED_OUT here fakes a lockout).
		ID: CredSSPRefused, Group: GroupNegotiation, Phase: probe.PhaseNTLMInfo,
		Title:       "The server refused CredSSP before any credential was sent",
		WindowsSays: "An authentication error has occurred. (followed by the text of the error code, or \"An internal error has occurred.\")",
		Cause: "The server answered the client's first CredSSP message (the NTLM NEGOTIATE, which names no account) with an " +
			"error code instead of an NTLM CHALLENGE. No user name or password had been sent, so the code says nothing about " +
			"the account, even when it names an account state such as STATUS_ACCOUNT_LOCKED_OUT: no logon was attempted and " +
			"nothing counted toward a lockout. Real servers do this when NTLM is refused ('Network security: Restrict NTLM: " +
			"Incoming NTLM traffic' set to deny) or their security package is broken; an account state at this point means " +
			"the server, or something posing as it, does not follow the protocol.",
		Fix: "Look up the code in the detail. Check the server's NTLM restrictions (secpol.msc > Local Policies > Security " +
			"Options > Network security: Restrict NTLM, and the Microsoft-Windows-NTLM/Operational event log) and its System " +
			"event log at the time of the probe. If the code names an account (locked out, disabled, expired), check from a " +
			"trusted network that this address really is the intended server; the account itself needs nothing.",
	},
	{
		ID: LogonFailed, Group: GroupAuthentication, Phase: probe.PhaseLogon, LocksAccount: true,
		Title:       "Wrong user name or password",
		WindowsSays: msgCredentialsDidNotWork + " (or \"The logon attempt failed\")",
		Cause: "The server checked the account and password and rejected them: wrong password, an account that does not " +
			"exist, or a user name whose domain part sends the server to the wrong authority.",
		Fix: fixCredentials,
	},
	{
		ID: AccountLockedOut, Group: GroupAuthentication, Phase: probe.PhaseLogon, LocksAccount: true, AccountLevel: true,
		Title: "The account is locked out",
		WindowsSays: "As a security precaution, the user account has been locked because there were too many logon attempts " +
			"or password change attempts. Wait a while before trying again, or contact your system administrator or technical support.",
		Cause: "Too many wrong passwords hit the lockout threshold. Stale saved passwords (mapped drives, services, phones, " +
			"monitoring with an old password) are a common source. Every probe with credentials is one more attempt.",
		Fix: "Wait for the lockout duration or unlock the account (Active Directory Users and Computers, Unlock-ADAccount, " +
			"or for a local account lusrmgr.msc > the user > clear 'Account is locked out'). Then find what keeps sending the old " +
			"password (security event 4740 on a domain controller names the source) and slow down probes that log on.",
	},
	{
		ID: AccountDisabled, Group: GroupAuthentication, Phase: probe.PhaseLogon, LocksAccount: true, AccountLevel: true,
		Title:       "The account is disabled",
		WindowsSays: "Your account has been disabled. Please see your system administrator.",
		Cause:       "The password was checked, but the account is disabled.",
		Fix:         "Enable the account (Active Directory Users and Computers, Enable-ADAccount, or lusrmgr.msc for a local account), or use another one.",
	},
	{
		ID: AccountExpired, Group: GroupAuthentication, Phase: probe.PhaseLogon, LocksAccount: true, AccountLevel: true,
		Title:       "The account has expired",
		WindowsSays: "Your account has expired. Please see your system administrator.",
		Cause:       "The account's expiry date has passed.",
		Fix:         "Extend or clear the expiry date (Account tab in Active Directory Users and Computers, Set-ADAccountExpiration, or net user <name> /expires:never).",
	},
	{
		ID: PasswordExpired, Group: GroupAuthentication, Phase: probe.PhaseLogon, LocksAccount: true, AccountLevel: true,
		Title: "The password has expired",
		WindowsSays: msgLSA + " Remote computer: <computer>. This could be due to an expired password. " +
			"Please update your password if it has expired.",
		Cause: "The password is past its maximum age. With NLA the password cannot be changed during the connection, " +
			"so the user is stuck outside.",
		Fix: "Change the password another way: on a domain PC (Ctrl+Alt+Del > Change a password), through RD Web Access's " +
			"password page, or have an admin reset it. Disabling NLA so the sign-in screen can change it works but weakens the server.",
	},
	{
		ID: PasswordMustChange, Group: GroupAuthentication, Phase: probe.PhaseLogon, LocksAccount: true, AccountLevel: true,
		Title: "The password must be changed before the first logon",
		WindowsSays: "You must change your password before logging on the first time. Please update your password or contact " +
			"your system administrator or technical support.",
		Cause: "The account is set to 'User must change password at next logon'. NLA cannot change a password, so the logon is refused.",
		Fix: "Change the password another way (another PC, RD Web Access, an admin reset), or clear 'User must change password " +
			"at next logon' on the account.",
	},
	{
		ID: AccountRestriction, Group: GroupAuthentication, Phase: probe.PhaseLogon, LocksAccount: true,
		Title: "An account restriction blocks this logon",
		WindowsSays: "Account restrictions are preventing this user from signing in. For example: blank passwords aren't " +
			"allowed, sign-in times are limited, or a policy restriction has been enforced.",
		Cause: "The password was right but a restriction applies. Most often the account has a blank password and " +
			"'Accounts: Limit local account use of blank passwords to console logon only' is on (the default); members of " +
			"Protected Users and other policy restrictions also end here.",
		Fix: "Give the account a password. Otherwise check the account's restrictions and group memberships (Protected Users) and the logon policies that apply to it.",
	},
	{
		ID: InvalidLogonHours, Group: GroupAuthentication, Phase: probe.PhaseLogon, LocksAccount: true,
		Title:       "The account may not log on at this time",
		WindowsSays: "Your account has time restrictions that keep you from signing in right now. Please try again later.",
		Cause:       "The account's logon hours do not include now.",
		Fix:         "Change the account's Logon Hours (Account tab in Active Directory Users and Computers, or net user <name> /times:all) or try again in the allowed hours.",
	},
	{
		ID: InvalidWorkstation, Group: GroupAuthentication, Phase: probe.PhaseLogon, LocksAccount: true,
		Title:       "The account may not log on from this workstation",
		WindowsSays: "Your account is configured to prevent you from using this PC. Please try another PC.",
		Cause:       "The account's 'Log On To' list (userWorkstations) does not include the workstation name the client sent.",
		Fix:         "Add the client's (and, for NLA, the server's) computer name to the account's Log On To list, or clear the list.",
	},
	{
		ID: LogonTypeNotGranted, Group: GroupAuthentication, Phase: probe.PhaseLogon, LocksAccount: true,
		Title:       "The account lacks the logon right NLA needs",
		WindowsSays: "The sign-in method you're trying to use isn't allowed. For more info, contact your network administrator.",
		Cause: "The password was right, but User Rights Assignment refuses the logon: NLA logs on over the network, so " +
			"'Access this computer from the network' must include the user and 'Deny access to this computer from the network' " +
			"must not (hardening baselines deny 'Local account' there); the session also needs 'Allow log on through Remote " +
			"Desktop Services' and no 'Deny log on through Remote Desktop Services'.",
		Fix: "Check those four rights in secpol.msc (Local Policies > User Rights Assignment) or the GPO that sets them " +
			"(gpresult /h shows which), and use a domain account if local accounts are denied network logon on purpose.",
	},
	{
		ID: AccountRevoked, Group: GroupAuthentication, Phase: probe.PhaseKerberos, LocksAccount: true, AccountLevel: true,
		Title: "The KDC refuses the account: locked out or disabled, it did not say which",
		WindowsSays: "The referenced account is currently locked out and may not be logged on to (or: Your account has been " +
			"disabled. Please see your system administrator.)",
		Cause: "The KDC answered KDC_ERR_CLIENT_REVOKED without the NTSTATUS a Windows domain controller adds: the account " +
			"is locked out, disabled, or outside its logon hours or expiry, and the KDC does not say which (an MIT or Samba KDC " +
			"answers this way; the e-text in the detail may tell).",
		Fix: "Look the account up where it lives: Get-ADUser <name> -Properties LockedOut,Enabled,AccountExpirationDate on AD, " +
			"kadmin getprinc <name> on MIT (its attributes and 'Failed password attempts'). Unlock or enable it, then find " +
			"what keeps sending a wrong password.",
	},
	{
		ID: KDCUnreachable, Group: GroupServer, Phase: probe.PhaseKerberos,
		Title:       "No Kerberos KDC answered for the account's realm",
		WindowsSays: msgLSA,
		Cause: "Kerberos needs a domain controller (KDC) of the account's realm, and none could be found or none answered: " +
			"the realm's DNS SRV records (_kerberos._tcp.<realm>) are missing, the KDCs named in krb5.conf or --kdc are down, " +
			"or a firewall drops TCP/UDP 88 from this client. Where NTLM is allowed, mstsc falls back to it; where it is " +
			"restricted, the logon fails here.",
		Fix: "Check the realm's KDCs from this client: nslookup -type=SRV _kerberos._tcp.<realm> and a TCP connection to port 88 " +
			"(Test-NetConnection <dc> -Port 88), nltest /dsgetdc:<domain> on Windows. Open TCP and UDP 88 to the domain controllers. " +
			"Give the KDC explicitly with --kdc, or the realm with --realm, when DNS cannot.",
	},
	{
		ID: KerberosSPNUnknown, Group: GroupNegotiation, Phase: probe.PhaseKerberos,
		Title: "The KDC knows no TERMSRV service principal for this host",
		WindowsSays: msgCredentialsDidNotWork + " (when NTLM is restricted, or the 'Allow delegating saved credentials' policy " +
			"names only Kerberos servers; otherwise mstsc silently falls back to NTLM)",
		Cause: "The KDC answered KDC_ERR_S_PRINCIPAL_UNKNOWN for TERMSRV/<host>: no account in the directory carries that SPN. " +
			"The name typed is an alias (a CNAME, a load balancer name, a short name where only the FQDN is registered) or the " +
			"server's machine account lacks the SPN. mstsc then uses NTLM, which some policies forbid or restrict.",
		Fix: "Connect with the name the server registered (usually its FQDN), or register the alias: setspn -S TERMSRV/<name> " +
			"<server's computer account> (and HOST/<name>); setspn -L <server> lists what it has. Probe another name with --spn.",
	},
	{
		ID: KerberosClockSkew, Group: GroupServer,
		Title:       "The clocks of the client and the KDC or server are too far apart for Kerberos",
		WindowsSays: "An authentication error has occurred. The clocks on the client and server machines are skewed.",
		Cause: "Kerberos refuses a request whose time differs from its own by more than the allowed skew (5 minutes by " +
			"default): KRB_AP_ERR_SKEW. One of the clocks is wrong, or a virtual machine's clock drifted or was restored from a snapshot.",
		Fix: "Synchronise the clocks with the domain's time source (w32tm /resync on Windows, chrony or systemd-timesyncd " +
			"elsewhere); the detail gives both clocks. Check the time zone too.",
	},
	{
		ID: KerberosETypeUnsupported, Group: GroupAuthentication, Phase: probe.PhaseKerberos,
		Title:       "The account and the client share no Kerberos encryption type",
		WindowsSays: "An authentication error has occurred. The encryption type requested is not supported by the KDC.",
		Cause: "The KDC has no key for the account in an encryption type the client may use (KDC_ERR_ETYPE_NOSUPP, or a PA-ETYPE-INFO2 " +
			"with nothing in common): typically an account that only has an RC4 key after AES was enforced, or an account " +
			"restricted to DES or RC4 (msDS-SupportedEncryptionTypes) while clients allow AES only.",
		Fix: "Reset the account's password once after AES is enabled in the domain (so the KDC derives AES keys), and check " +
			"msDS-SupportedEncryptionTypes on the account and the 'Network security: Configure encryption types allowed for " +
			"Kerberos' policy on clients and domain controllers.",
	},
	{
		ID: KerberosTicketRejected, Group: GroupServer, Phase: probe.PhaseLogon,
		Title:       "The server cannot use the Kerberos ticket the KDC issued for it",
		WindowsSays: "An authentication error has occurred. The target principal name is incorrect.",
		Cause: "The RDP server refused the AP-REQ (KRB_AP_ERR_MODIFIED or its kin): the ticket was encrypted with a key the server " +
			"does not have. The SPN TERMSRV/<host> is registered on another account too (a duplicate SPN), the name points at a " +
			"different machine than the one holding the SPN, or the server's machine password is out of step with the domain (a " +
			"restored snapshot, a broken trust relationship).",
		Fix: "Find duplicate SPNs (setspn -X, setspn -Q TERMSRV/<host>) and remove the wrong one; check that DNS sends the name to " +
			"the right machine; on the server run Test-ComputerSecureChannel -Repair, or rejoin it to the domain.",
	},
	{
		ID: NTLMBlocked, Group: GroupServer, Phase: probe.PhaseLogon,
		Title:       "NTLM is blocked for this logon",
		WindowsSays: "An authentication error has occurred. (The logon fails because NTLM is restricted in the domain or on the server.)",
		Cause: "The server or the domain refuses NTLM (STATUS_NTLM_BLOCKED): the 'Network security: Restrict NTLM' policies " +
			"deny it, and the client did not use Kerberos (an IP address, a name without a TERMSRV SPN, no KDC reachable).",
		Fix: "Use Kerberos: connect by the server's registered host name, check its SPN (setspn -L <server>) and that a KDC is " +
			"reachable from the client (port 88), then probe with --auth kerberos. Or add the server or client to the NTLM " +
			"exceptions of the Restrict NTLM policies.",
	},
	{
		ID: NoLogonServers, Group: GroupServer, Phase: probe.PhaseLogon,
		Title:       "The server cannot reach an authority for the account's domain",
		WindowsSays: msgLSA,
		Cause: "The server could not find the security authority named in the user name: the domain part (DOMAIN\\user) is " +
			"misspelled or is not a domain the server knows, or it is the server's domain and no domain controller is reachable " +
			"(stopped, or cut off by the network). For a local account the part before the backslash must be the server's own name.",
		Fix: "For a local account, spell the server's computer name (or use .\\user). For a domain account, check the domain's " +
			"spelling, then that a domain controller is up and reachable from the server (nltest /dsgetdc:<domain>). " +
			"Workaround: log on with a local administrator account.",
	},
	{
		ID: TrustRelationshipFailure, Group: GroupServer, Phase: probe.PhaseLogon,
		Title: "The server lost its trust relationship with the domain",
		WindowsSays: "The remote computer that you are trying to connect to requires Network Level Authentication (NLA), but " +
			"your Windows domain controller cannot be contacted to perform NLA. (At the console: \"The trust relationship " +
			"between this workstation and the primary domain failed.\")",
		Cause: "The server's computer account no longer matches the domain (machine password out of sync, restored from an " +
			"old snapshot, account reset or deleted), or the trust between the user's domain and the server's is broken, so " +
			"the server cannot verify domain accounts.",
		Fix: "Log on with a local account and repair the secure channel (Test-ComputerSecureChannel -Repair, or " +
			"Reset-ComputerMachinePassword), or rejoin the domain. If only domain accounts exist, a domain account that " +
			"logged on before can use its cached credentials ('Interactive logon: Number of previous logons to cache' at least 1, " +
			"default 10): cut the server's outbound access to the domain controllers so it falls back to the cache, and if NLA " +
			"still blocks, set SecurityLayer, UserAuthentication and fAllowSecProtocolNegotiation to 0 under " + rdpTcpKey +
			" (offline or with a cloud run-command) until the trust is fixed, then restore them.",
	},
	{
		ID: LogonRejected, Group: GroupAuthentication, Phase: probe.PhaseLogon, LocksAccount: true,
		Title:       "The server rejected the logon with an error code",
		WindowsSays: "An authentication error has occurred. (followed by the text of the error code in the detail)",
		Cause:       "The server refused the logon with a status this table has no class for; the detail gives its number and name.",
		Fix:         "Look up the status in the detail, and the server's Security and TerminalServices event logs for the matching event.",
	},
	{
		ID: CredentialsRejectedNoReason, Group: GroupAuthentication, Phase: probe.PhaseLogon, LocksAccount: true,
		Title:       "The server rejected the credentials without saying why",
		WindowsSays: msgCredentialsDidNotWork,
		Cause: "The server closed the connection right after the NTLM AUTHENTICATE without an error code (some servers " +
			"answer every failed logon so): a wrong password, an unknown user or a wrong domain. The server does not say which.",
		Fix: fixCredentials,
	},
	{
		ID: NoRDPSignInRight, Group: GroupAuthentication, Phase: probe.PhaseLogon, LocksAccount: true,
		Title: "The account may not sign in over Remote Desktop",
		WindowsSays: "This computer can't connect to the remote computer. (Older clients: \"The connection was denied because " +
			"the user account is not authorized for remote login.\")",
		Cause: "The password was right, but the account has no Remote Desktop sign-in right: it is neither in the server's " +
			"Remote Desktop Users group nor an administrator (Administrators includes Domain Admins on domain members).",
		Fix: "Add the account or its group to Remote Desktop Users on the server (lusrmgr.msc > Groups > Remote Desktop Users, " +
			"or System Properties > Remote > Select Users), check 'Allow log on through Remote Desktop Services', or connect " +
			"with an administrator account.",
	},
	{
		ID: GatewayUnreachable, Group: GroupUnreachable, Phase: probe.PhaseGatewayConnect,
		Title: "The RD Gateway does not answer",
		WindowsSays: "Remote Desktop can't connect to the remote computer \"<computer>\" because the Remote Desktop Gateway " +
			"server address is unreachable or incorrect. Type a valid Remote Desktop Gateway server address.",
		Cause: "The gateway's name does not resolve, or nothing accepts HTTPS at its address: the name is mistyped or only " +
			"resolves inside the company, the Remote Desktop Gateway service (TSGateway) or IIS is stopped, a firewall or the " +
			"load balancer in front of it drops TCP 443, or the gateway listens on another port.",
		Fix: "Check the gateway's name and port in the client (Advanced > Settings, or gatewayhostname:s: in the .rdp file) and " +
			"that it resolves from where the user is (nslookup). On the gateway, check that the Remote Desktop Gateway service " +
			"runs and that TCP 443 (and UDP 3391 if used) is open on its firewall and on every device in front of it.",
	},
	{
		ID: GatewayTLSFailed, Group: GroupNegotiation, Phase: probe.PhaseGatewayTLS,
		Title:       "TLS with the RD Gateway failed",
		WindowsSays: msgGatewayUnavailable,
		Cause: "The gateway accepted TCP but TLS did not come up: no TLS version or cipher suite in common (a gateway " +
			"hardened to TLS 1.2 or 1.3 only, an old client), the SSL certificate binding of the gateway was removed " +
			"(event 102 in the gateway's log says it needs one), or a proxy or TLS-inspecting firewall in between interferes.",
		Fix: "In RD Gateway Manager > the server > Properties > SSL Certificate, check that a certificate is bound; compare " +
			"the TLS versions and suites enabled on the gateway (SCHANNEL, IIS Crypto) with the client's; try from a network " +
			"without TLS inspection.",
	},
	{
		ID: GatewayCertNotTrusted, Group: GroupNegotiation, Phase: probe.PhaseGatewayTLS,
		Title: "The RD Gateway's certificate is not trusted",
		WindowsSays: "This computer can't verify the identity of the RD Gateway \"<gateway>\". It's not safe to connect to " +
			"servers that can't be identified. Contact your network administrator for assistance.",
		Cause: "mstsc refuses a gateway whose certificate it does not trust, with no way to go on: a self-signed certificate " +
			"(RD Gateway Manager's default), one from an internal CA the client does not have, a name that is not the one the " +
			"client uses (gateway.corp.local on the certificate, gw.example.com in the client), an expired certificate, or a " +
			"missing intermediate. The probe sends nothing to such a gateway, credentials least of all.",
		Fix: "Give the gateway a certificate from a public CA (or the company's CA, deployed to every client) whose subject " +
			"alternative names include exactly the name clients use, with its intermediates (RD Gateway Manager > Properties > " +
			"SSL Certificate, or Server Manager > Remote Desktop Services > Deployment Properties > Certificates). The detail " +
			"says which check failed.",
	},
	{
		ID: GatewayNotRDG, Group: GroupNegotiation, Phase: probe.PhaseGatewayAuth,
		Title:       "The address is an HTTPS server, but not an RD Gateway",
		WindowsSays: msgGatewayUnavailable,
		Cause: "Something answers HTTPS at the gateway's address, but not as an RD Gateway answers RDG_OUT_DATA on " +
			"/remoteDesktopGateway/: IIS without the RD Gateway role (404), a reverse proxy or web application firewall that " +
			"does not pass the RD Gateway's methods, a login page of an SSO portal, or an RDP listener on 443 instead of a " +
			"gateway. The detail says what answered.",
		Fix: "Point the client at the RD Gateway itself (its name, not the RD Web Access site's or the portal's). If a proxy or " +
			"load balancer is in front, make it pass the RDG_OUT_DATA and RDG_IN_DATA methods and the WebSocket upgrade to " +
			"/remoteDesktopGateway/ untouched (no pre-authentication, no buffering). Check that the gateway role is installed " +
			"(Get-WindowsFeature RDS-Gateway).",
	},
	{
		ID: GatewayAuthFailed, Group: GroupAuthentication, Phase: probe.PhaseGatewayAuth, LocksAccount: true, AccountLevel: true,
		Title: "The RD Gateway refused the logon, or needs one",
		WindowsSays: "mstsc asks again: \"Enter your credentials. These credentials will be used to connect to <gateway> " +
			"(Remote Desktop Gateway server)\", with \"The logon attempt failed\" under the fields.",
		Cause: "The gateway answered HTTP 401 after the gateway credentials: a wrong password or user name for the " +
			"gateway (which checks them against its domain, not against the target), an account the gateway's domain does not " +
			"know, a gateway that requires Extended Protection the client does not do, or a gateway set to smart card logon " +
			"only. Without credentials, the gateway simply needs some. A failed gateway logon counts toward the account's " +
			"lockout like any other, and every target behind the gateway would fail the same way, so no more logons are made " +
			"through it.",
		Fix: "Check the gateway account (--gateway-user; mstsc uses the computer's credentials for the gateway unless " +
			"'Use my RD Gateway credentials for the remote computer' says otherwise) and its password, and its domain part: the " +
			"gateway's domain must know it. " + gatewayLog + "a failed logon shows in the Security log of the gateway and its " +
			"domain controller (4625), and event 305 names an authentication method the gateway does not allow " +
			"(RD Gateway Manager > Properties > the CAP's Requirements: password or smart card).",
	},
	{
		ID: GatewayCAPDenied, Group: GroupAuthentication, Phase: probe.PhaseGatewayTunnel,
		Title: "The RD Gateway's connection authorization policy (CAP) refuses the user",
		WindowsSays: "Remote Desktop can't connect to the remote computer \"<computer>\" for one of these reasons: 1) Your user " +
			"account is not authorized to access the RD Gateway \"<gateway>\" 2) Your computer is not authorized to access the " +
			"RD Gateway \"<gateway>\" 3) You are using an incompatible authentication method (for example, the RD Gateway might " +
			"be expecting a smart card but you provided a password) Contact your network administrator for assistance.",
		Cause: "The password was right, but no connection authorization policy lets this user (or this client computer) use " +
			"the gateway: the user is not in a user group a CAP names, the CAP also requires a computer group the client is " +
			"not in, the CAP is disabled, or it demands a smart card. The gateway answered E_PROXY_NAP_ACCESSDENIED " +
			"(0x800759DB) to the tunnel authorization and logged event 201 with error 23003.",
		Fix: "In " + gatewayPolicies + " > Connection Authorization Policies, add the user's group to an enabled CAP (and " +
			"check its computer groups and the Supported Windows authentication methods). " + gatewayLog + "event 200 when " +
			"a CAP lets a user in, 201 when none does.",
	},
	{
		ID: GatewayRAPDenied, Group: GroupAuthentication, Phase: probe.PhaseGatewayChannel,
		Title: "The RD Gateway's resource authorization policy (RAP) refuses this computer to the user",
		WindowsSays: "Remote Desktop can't connect to the remote computer \"<computer>\" for one of these reasons: 1) Your user " +
			"account is not listed in the RD Gateway's permission list 2) You might have specified the remote computer in " +
			"NetBIOS format (for example, computer1), but the RD Gateway is expecting an FQDN or IP address format (for " +
			"example, computer1.fabrikam.com or 157.60.0.1). Contact your network administrator for assistance.",
		Cause: "The user may use the gateway, but no resource authorization policy lets them reach this computer by the name " +
			"given, on this port: the computer is not in the RAP's computer group (or the group lists its FQDN while the " +
			"client typed the short name or the address, or the other way round), the user is not in the RAP's user groups, " +
			"or the RAP allows only port 3389. The gateway answered E_PROXY_RAP_ACCESSDENIED (0x800759DA) to the channel " +
			"request and logged event 301 with error 23002.",
		Fix: "In " + gatewayPolicies + " > Resource Authorization Policies, put the computer (under every name clients use: " +
			"short name, FQDN, address) in the network resource group of a RAP for the user's group, and allow its port (Allowed " +
			"Ports). " + gatewayLog + "event 300 when a RAP allows the resource, 301 when none does.",
	},
	{
		ID: GatewayTargetUnreachable, Group: GroupUnreachable, Phase: probe.PhaseGatewayChannel,
		Title:       "The RD Gateway cannot reach the remote computer",
		WindowsSays: msgCantConnect,
		Cause: "The policies allow the connection, but the gateway itself could not connect to the computer's RDP port: the " +
			"computer is off, its name does not resolve on the gateway (a name only the client's DNS knows), Remote Desktop is " +
			"disabled or listens on another port, or a firewall between the gateway and the computer (the computer's own " +
			"Windows Firewall included) drops it. The gateway answered E_PROXY_TS_CONNECTFAILED (0x800759DD) to the channel " +
			"request and logged event 304.",
		Fix: "From the gateway itself, check the computer: Resolve-DnsName <computer> and Test-NetConnection <computer> " +
			"-Port 3389. Enable Remote Desktop on it and allow TCP 3389 from the gateway's address in its firewall " +
			"('Remote Desktop - User Mode (TCP-In)'). " + gatewayLog + "event 304 names the resource and the error.",
	},
	{
		ID: GatewayQuarantine, Group: GroupAuthentication, Phase: probe.PhaseGatewayTunnel,
		Title: "The RD Gateway's health policy (NAP) refuses the client computer",
		WindowsSays: "Remote Desktop can't connect to the remote computer \"<computer>\" because your computer does not meet " +
			"the health requirements of the RD Gateway \"<gateway>\". Contact your network administrator for assistance.",
		Cause: "The gateway's CAP requires a Network Access Protection statement of health from the client, and the client " +
			"sent none or an unhealthy one: the gateway answered E_PROXY_QUARANTINE_ACCESSDENIED (0x800759ED) and logged event " +
			"204. NAP was removed from Windows Server 2016 and Windows 10, so current clients can never satisfy it.",
		Fix: "In " + gatewayPolicies + ", clear 'Only allow clients to connect to RD Gateway servers that have Network Access " +
			"Protection (NAP) enabled' (the CAP's Requirements), or the NPS health policy that demands it.",
	},
	{
		ID: GatewayMaxConnections, Group: GroupServer, Phase: probe.PhaseGatewayTunnel,
		Title: "The RD Gateway is at its connection limit",
		WindowsSays: "Your computer can't connect to the remote computer because the Remote Desktop Gateway server has " +
			"reached its maximum number of allowed connections. Try reconnecting later or contact your network administrator for assistance.",
		Cause: "The gateway refused the tunnel with E_PROXY_MAXCONNECTIONSREACHED: it already carries as many connections as " +
			"its limit allows (RD Gateway Manager > Properties > General > Maximum connections), or it was set to allow no new " +
			"connections (drain mode). The gateway logged event 203.",
		Fix: "Raise or remove the limit (Allow the maximum supported simultaneous connections), turn off 'Disable new " +
			"connections' after maintenance, or add gateways behind the load balancer.",
	},
	{
		ID: GatewayError, Group: GroupServer,
		Title:       "The RD Gateway refused the connection with an error code",
		WindowsSays: msgGatewayUnavailable + " (or a dialog with the RD Gateway's error code)",
		Cause: "A gateway response carried an error code (MS-TSGU 2.2.6) this table has no class of its own for; the detail " +
			"names it and the step it answered. E_PROXY_INTERNALERROR to the channel request often means that the target " +
			"refused or dropped the gateway's connection (a closed port), which some gateways report that way.",
		Fix: "Look the code up in the detail; the gateway's log (TerminalServices-Gateway > Operational) and its System log " +
			"have the matching event. For E_PROXY_INTERNALERROR at the channel, check the target's RDP port from the gateway " +
			"(Test-NetConnection <computer> -Port 3389).",
	},
	{
		ID: GatewayProtocolError, Group: GroupProtocol,
		Title:       "The RD Gateway broke the protocol",
		WindowsSays: msgGatewayUnavailable,
		Cause: "The gateway (or something in front of it) sent what MS-TSGU does not allow at that step: a malformed or " +
			"unexpected packet, a WebSocket upgrade that does not match the request, a connection cut in the middle of the " +
			"tunnel's set-up without an error code.",
		Fix: "Check any proxy, load balancer or web application firewall between the client and the gateway (it must pass " +
			"the channels untouched and unbuffered); record the conversation (--record) and compare with the gateway's log.",
	},
	{
		ID: ServerClosed, Group: GroupServer,
		Title:       "The server closed the connection",
		WindowsSays: msgThisComputerCant,
		Cause: "The server (or something in between) ended the connection before the step finished, without saying why: a " +
			"listener that refuses the offered protocols without a failure message, a connection limit, Remote Desktop Services " +
			"restarting, or a firewall or IPS resetting the connection.",
		Fix: "Look at the server's System and TerminalServices-RemoteConnectionManager event logs at the time of the probe, " +
			"try another security offer, and try from another network.",
	},
	{
		ID: Timeout, Group: GroupServer,
		Title:       "The server stopped answering",
		WindowsSays: "The connection hangs on 'Configuring remote session' or 'Securing remote connection' and then fails.",
		Cause: "The server accepted the connection but did not finish the step in time: overloaded or hung Remote Desktop " +
			"Services, a middlebox holding the traffic, or, during the logon, a slow or unreachable domain controller.",
		Fix: "Check the server's load and Remote Desktop Services (restart TermService if it hangs), the path in between, and " +
			"for slow logons the server's domain controller (nltest /sc_query:<domain>). Raise the probe's timeout if the server is just slow.",
	},
	{
		ID: ProtocolError, Group: GroupProtocol,
		Title:       "The server's answer did not follow the protocol",
		WindowsSays: msgThisComputerCant,
		Cause:       "The server sent something malformed or unexpected for this step: a non-standard RDP implementation, a middlebox rewriting traffic, or a bug (possibly in rdpprobe).",
		Fix:         "Run again with --record and report the recording. Compare with mstsc and FreeRDP against the same server.",
	},
	{
		ID: NoLicenseServer, Group: GroupServer, Phase: probe.PhaseSession,
		Title: "No Remote Desktop license server is available",
		WindowsSays: "The remote session was disconnected because there are no Remote Desktop License Servers available to " +
			"provide a license.",
		Cause: "The server has the Remote Desktop Session Host role, its 120-day licensing grace period is over, and it " +
			"cannot get a client access license from a license server (none is configured or reachable, or it has none left).",
		Fix: "Install RDS client access licenses on a Remote Desktop license server and point the host at it. If two admin " +
			"sessions are enough, remove the Remote Desktop Session Host role in Server Manager. To get in now: mstsc /admin " +
			"(or mstsc <file>.rdp /admin, e.g. with the .rdp file a cloud portal gives you), which does not use a license.",
	},
	{
		ID: LicenseError, Group: GroupServer, Phase: probe.PhaseSession,
		Title: "Licensing failed",
		WindowsSays: "The remote computer disconnected the session because of an error in the licensing protocol. Please try " +
			"connecting to the remote computer again or contact your server administrator. (Or a message naming the licensing " +
			"problem, such as no client access licenses available for this computer.)",
		Cause: "The server's licensing component refused the connection with the code in the detail: no client access license " +
			"left, a stored license the server does not accept, a server not licensed for remote connections, or a licensing " +
			"exchange that broke off.",
		Fix: "Check the host's licensing configuration (RD Licensing Diagnoser, licmgr.exe on the license server): licensing " +
			"mode, license server, and free CALs of the right kind (per user or per device). For a stored license the server " +
			"rejects, delete the client's copy (HKLM\\SOFTWARE\\Microsoft\\MSLicensing on the client, as administrator) and connect " +
			"again. mstsc /admin gets an administrator in without a license.",
	},
	{
		ID: ServerInsufficientPrivileges, Group: GroupAuthentication, Phase: probe.PhaseSession, LocksAccount: true,
		Title:       "The account may not connect to this server",
		WindowsSays: "The connection was denied because the user account is not authorized for remote login.",
		Cause: "The server accepted the connection but refused this user the session: the account is not in the server's " +
			"Remote Desktop Users group nor an administrator, 'Allow log on through Remote Desktop Services' leaves it out, " +
			"'Deny log on through Remote Desktop Services' names it, or the RDP-Tcp listener's permissions do not grant it access.",
		Fix: "Add the account or its group to Remote Desktop Users on the server (lusrmgr.msc > Groups, or System Properties > " +
			"Remote > Select Users), check both Remote Desktop logon rights in secpol.msc (Local Policies > User Rights Assignment) " +
			"or the GPO that sets them, or connect with an administrator account.",
	},
	{
		ID: ServerDeniedConnection, Group: GroupServer, Phase: probe.PhaseSession,
		Title:       "The server denied the connection",
		WindowsSays: msgThisComputerCant + " (The server's reason, 'the server denied the connection', is not always shown.)",
		Cause: "The server refused the connection after the security exchange, either with ERRINFO_SERVER_DENIED_CONNECTION " +
			"or by failing the MCS connection: Remote Desktop connections are being refused at the moment (new logons disabled " +
			"with 'change logon /disable' or drain mode on a Session Host), a connection limit is reached, or a policy refuses " +
			"this client.",
		Fix: "On the server, check 'change logon /query' (and 'change logon /enable'), the Session Host's drain mode, the " +
			"'Limit number of connections' policy and the TerminalServices-RemoteConnectionManager event log at the time of the probe.",
	},
	{
		ID: FreshCredentialsRequired, Group: GroupAuthentication, Phase: probe.PhaseSession, LocksAccount: true,
		Title: "The server does not accept saved credentials",
		WindowsSays: "Your credentials did not work. The server's authentication policy does not allow connection requests " +
			"using saved credentials. Please enter new credentials.",
		Cause: "The server requires the password to be typed for every connection ('Always prompt for password upon connection', " +
			"fPromptForPassword), so it refuses credentials that arrive ready-made, as saved or scripted ones (and this probe's) do.",
		Fix: "Type the password when the client asks; nothing is wrong with the account. To allow saved credentials, disable " +
			"'Always prompt for password upon connection' (Computer Configuration > Administrative Templates > Windows Components > " +
			"Remote Desktop Services > Remote Desktop Session Host > Security) on the server, if the policy allows it.",
	},
}
