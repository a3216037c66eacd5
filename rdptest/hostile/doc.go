// Package hostile holds rdpprobe's hostile-server suite: rdptest servers
// that attack the prober instead of serving it, and the bounds every probe,
// report, sweep and exporter scrape must keep whatever they do (issue 19).
// It has no code of its own; its tests are the suite:
//
//   - floods of harmless PDUs after the Client Info, of every kind and
//     size, finite and endless (floods_test.go);
//   - escape and injection bytes in every string a server chooses: NTLM
//     names, certificate subject, issuer and SANs, licence company and
//     product (strings_test.go);
//   - clock fields at and past the ends of what the encoders can write
//     (times_test.go);
//   - an errorCode before the AUTHENTICATE, faking a lockout
//     (refusal_test.go);
//   - a sweep, and its resume, over a list of hostile targets, and the
//     exporter scraping them (sweep_test.go, exporter_test.go); the
//     exporter under overload at several queue depths is
//     exporter.TestOverloadNeverBlamesTheTarget.
//
// Every run is checked the same way (helpers_test.go): the probe ends within its
// deadline plus a small grace; the heap it leaves and the process's peak
// RSS stay under stated bounds; the JSON report parses and stays under its
// size bound, as does the text; the text has no byte below 0x20 but
// newline, no DEL, no C1 control and no bidi control; the Nagios line is
// one line with one '|'; and no password reaches a server that did not
// prove who it is.
//
// The slow parts (endless floods, the sweep) are skipped under -short; CI
// runs them (make test).
package hostile
