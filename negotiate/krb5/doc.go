// Package krb5 is Kerberos V5 (RFC 4120) for rdpprobe's CredSSP, the way
// mstsc logs on in a domain: the client's KDC exchanges as explicit steps,
// the AP exchange with mutual authentication, the RFC 4121 per-message
// tokens that protect pubKeyAuth and authInfo, SPNEGO (package spnego)
// around them, and an acceptor that answers like Windows for the test
// server. It says exactly which step failed and why.
//
// # A logon, step by step
//
//	c := &krb5.Client{Realm: "CORP.EXAMPLE.COM", User: "alice", Password: pw,
//		Transport: krb5.Transport{KDCs: []krb5.KDC{{Addr: "dc01:88"}}}}
//	st, err := c.ServiceTicket(ctx, "TERMSRV/rds01.corp.example.com")
//	// = c.ASWithoutPreauth(ctx); c.ASWithPreauth(ctx); c.TGS(ctx, spn)
//	s := &krb5.SPNEGOInitiator{Initiator: krb5.Initiator{Ticket: st}}
//	tok, _ := s.InitialToken()   // TSRequest.negoTokens
//	err = s.Accept(serverToken)  // AP-REP checked: the server proved itself
//	fin, _ := s.FinalToken()     // nil unless the server asked for our MIC
//	w, _ := s.Context().Wrap(pubKey)
//
// The AS-REQ without pre-authentication only learns the salt and etype
// (KDC_ERR_PREAUTH_REQUIRED with PA-ETYPE-INFO2): no secret leaves, the KDC
// counts no failure. The AS-REQ with PA-ENC-TIMESTAMP is the logon attempt:
// sent at most once per Client (ErrPreauthOnce), and never to a second KDC
// once one may have received it (KDCUnreachableError.Stopped). Nothing is
// retried behind the caller's back: no UDP-to-TCP switch, no pre-auth
// retry, no referral chase. With a ccache (LoadCCache, KRB5CCNAME's FILE:
// form) only the TGS exchange runs, with no password at all. Client.Exchanges
// records each exchange, its KDC and round trip: three at most with a
// password, one with a ccache.
//
// Errors: a KRB-ERROR from a KDC is *KDCError (the step, the KDC, the code
// with its RFC 4120 name, e-text, both clocks, and the e-data decoded: the
// NTSTATUS a Windows KDC puts there tells KDC_ERR_CLIENT_REVOKED +
// STATUS_ACCOUNT_LOCKED_OUT from + STATUS_ACCOUNT_DISABLED); one from the
// RDP server (inside SPNEGO) is *APError; no KDC answering is
// *KDCUnreachableError with every address tried and why. Every parser
// returns errors wrapping ErrMalformed, never panics and trusts no length;
// each has a Fuzz target.
//
// # Dependencies, and why
//
// github.com/jcmturner/gokrb5/v8 v8.4.4 (Apache-2.0) supplies the ASN.1
// message types (messages, types), the RFC 3961/3962/4757 crypto (etypes,
// string-to-key, key usages), and keytab parsing. Its client, gssapi,
// spnego, service and credentials packages are not used, for these reasons,
// read in its v8.4.4 source:
//   - client/ASExchange.go resends the AS-REQ with new PA-DATA when the KDC
//     answers KDC_ERR_PREAUTH_FAILED, and once assumePreAuthentication is set
//     its first AS-REQ already carries PA-ENC-TIMESTAMP: a wrong password
//     costs two bad-password counts. client/network.go sends the same request
//     to every KDC in turn, then again over the other transport (TCP after
//     UDP, UDP after TCP) even when a KDC may have received it, with a fixed
//     5 s net.DialTimeout: no context, no injectable dialer.
//   - KRB-ERRORs reach the caller as krberror strings; e-data is never decoded.
//   - gssapi.WrapToken computes a checksum only (no Sealed tokens), and no
//     package verifies an AP-REP (spnego's KRB5Token verifies AP-REQs only).
//   - service.VerifyAPREQ cannot build the AP-REP with an acceptor subkey.
//   - crypto's DecryptMessage slices the ciphertext without a length check
//     (a short one panics): decrypt here checks first.
//   - credentials/ccache.go allocates the counts a ccache claims
//     (make([]types.HostAddress, l)) and slices unchecked: FuzzCCache hung it
//     within seconds. ParseCCache is ours.
//
// github.com/oiweiwei/go-msrpc v1.5.2 (MIT) was not used: its ssp/krb5
// runs the logon through a fork of gokrb5 (gokrb5.fork/v9 v9.0.6) whose
// client/ASExchange.go has the same PREAUTH_FAILED retry, reached from
// Authentifier.APRequest through AffirmLogin and Login; it brings 14 direct
// requirements (zerolog, goquery, miekg/dns, a go-smb2 fork...) and no
// KRB-ERROR e-data either.
//
// So the exchange logic, KRB-ERROR and e-data parsing, AP-REP verification,
// the RFC 4121 tokens and SPNEGO are ours; the lab's MIT KDC (krb5kdc 1.20)
// and MIT's own GSS-API (python3-gssapi) check them end to end in both
// roles.
//
// Not done: RFC 4757 (RC4-HMAC) GSS tokens — an RC4 service ticket gets an
// AES256 subkey, so the context still speaks RFC 4121; FAST (RFC 6113);
// cross-realm referrals; DNS SRV and krb5.conf KDC discovery (the caller
// gives the KDCs).
package krb5
