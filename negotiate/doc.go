// Package negotiate speaks RDP up to the point where the server's verdict on
// the connection, the logon and the licence is known. It holds, one file per
// layer, with the spec section in each type's comment:
//
//   - x224.go: TPKT (RFC 1006) and X.224 connection negotiation, RDP_NEG_REQ,
//     RDP_NEG_RSP and RDP_NEG_FAILURE (MS-RDPBCGR 2.2.1.1, 2.2.1.2), and the
//     TPKT reader; sniff.go guesses what a peer that does not answer with TPKT
//     speaks instead (HTTP, SSH, TLS, SMB).
//   - credssp.go: the CredSSP TSRequest and TSCredentials and the public-key
//     binding (MS-CSSP 2.2.1, 3.1.5); eua.go: the Early User Authorization
//     Result (MS-RDPBCGR 2.2.10.2). NTLM itself is the subpackage ntlm.
//   - mcs.go: the MCS (T.125) connect and domain PDUs (MS-RDPBCGR 2.2.1.3-2.2.1.9,
//     2.2.2.3), on the BER (ber.go) and ALIGNED PER (per.go) helpers.
//   - gcc.go: the GCC (T.124) Conference Create Request and Response and the
//     client and server data blocks in them (MS-RDPBCGR 2.2.1.3.1-2.2.1.4.4);
//     servercert.go: the server's proprietary or X.509 certificate (2.2.1.4.3.1).
//   - rdpsec.go: Standard RDP Security (MS-RDPBCGR 5.3): the Security
//     Exchange PDU, the session keys, RC4 with MAC signatures and FIPS Triple
//     DES with HMAC-SHA1, for servers that do not negotiate TLS.
//   - session.go: the connection sequence after the security exchange and its
//     builders (MS-RDPBCGR 1.3.1.1, 3.2.5.3); clientinfo.go: the Client Info PDU
//     (2.2.1.11); share.go: the Share Control and Share Data PDUs (2.2.8.1.1);
//     serverpdu.go: ParseServerPDU, which sorts what the server sends after the
//     Client Info.
//   - license.go: licensing, LICENSE_REQUEST, NEW_LICENSE_REQUEST,
//     PLATFORM_CHALLENGE and the License Error Message (MS-RDPBCGR 2.2.1.12,
//     MS-RDPELE 2.2.2).
//   - errinfo.go: Set Error Info (ERRINFO_*, MS-RDPBCGR 2.2.5.1) and Save
//     Session Info, the logon notification and logon errors (2.2.10.1).
//   - ntstatus.go: the NTSTATUS and SSPI HRESULT values a CredSSP server puts
//     in TSRequest.errorCode (MS-ERREF 2.1, 2.3).
//   - wire.go: the field forms every structure shares (little-endian integers,
//     UTF-16LE and ANSI strings); names.go: how an enum's String finds the
//     spec's name.
//
// Parsers take []byte, do no I/O and never panic; every parse failure wraps
// ErrMalformed. Readers (ReadTPKT, ReadTSRequest) do the framing with a hard
// size cap. Typed constants have a String that returns the spec's name.
package negotiate
