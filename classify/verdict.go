// Package classify turns what a probe saw (a *probe.Result: facts, no prose)
// into a Verdict an admin can act on: one class from the table Classes, with
// the message Windows shows the user, the cause and the fix, plus findings
// worth a line even when the connection works.
//
// Classify is a pure function: the same Result always gives the same
// Verdict. Class IDs are stable API (JSON, metrics labels, exit codes).
//
// # Groups and exit codes
//
// Every class belongs to one group, and the group sets the exit code of
// `rdpprobe` and its Nagios state:
//
//	group           exit  nagios    classes
//	ok                 0  OK        ok (WARNING with the finding nla_not_enforced)
//	unverified         1  WARNING   credentials_not_verified
//	(usage)            2  UNKNOWN   reserved for the command line's usage errors (Nagios: 3)
//	unreachable        3  CRITICAL  dns_failure, tcp_refused, tcp_timeout, tcp_unreachable,
//	                                gateway_unreachable, gateway_target_unreachable
//	negotiation        4  CRITICAL  not_rdp, nla_required, tls_required, tls_not_allowed,
//	                                no_server_certificate, tls_client_auth_required,
//	                                security_layer_mismatch, refusal_contradicts_offer,
//	                                pre_rdp52_server, tls_failed, cert_not_trusted,
//	                                credssp_oracle_server_unpatched, pubkey_auth_mismatch,
//	                                credssp_refused, gateway_tls_failed,
//	                                gateway_cert_not_trusted, gateway_not_rdg
//	authentication     5  CRITICAL  logon_failed, account_locked_out, account_disabled,
//	                                account_expired, password_expired, password_must_change,
//	                                account_restriction, invalid_logon_hours,
//	                                invalid_workstation, logon_type_not_granted,
//	                                credentials_rejected_no_reason, logon_rejected,
//	                                no_rdp_signin_right, server_insufficient_privileges,
//	                                fresh_credentials_required, gateway_auth_failed,
//	                                gateway_cap_denied, gateway_rap_denied, gateway_quarantine
//	server             6  CRITICAL  no_logon_servers, trust_relationship_failure,
//	                                server_closed, timeout, no_license_server,
//	                                license_error, server_denied_connection,
//	                                gateway_max_connections, gateway_error
//	protocol           7  CRITICAL  protocol_error, gateway_protocol_error
//
// The licensing and post-logon classes (no_license_server, license_error,
// server_insufficient_privileges, server_denied_connection,
// fresh_credentials_required) come only from the opt-in session phase
// (--depth session).
package classify

import (
	"github.com/rdpprobe/rdpprobe/probe"
)

// Group is a family of classes; each maps to one exit code.
type Group string

// The groups, in exit-code order.
const (
	GroupOK             Group = "ok"             // exit 0
	GroupUnverified     Group = "unverified"     // exit 1
	GroupUnreachable    Group = "unreachable"    // exit 3
	GroupNegotiation    Group = "negotiation"    // exit 4: negotiation and security policy
	GroupAuthentication Group = "authentication" // exit 5
	GroupServer         Group = "server"         // exit 6: server-side trouble
	GroupProtocol       Group = "protocol"       // exit 7
)

// Exit codes of the command line, one per group (ExitUsage is the CLI's own).
const (
	ExitOK             = 0
	ExitUnverified     = 1
	ExitUsage          = 2
	ExitUnreachable    = 3
	ExitNegotiation    = 4
	ExitAuthentication = 5
	ExitServer         = 6
	ExitProtocol       = 7
)

// Nagios plugin states (NagiosUnknown is the CLI's, for usage errors).
const (
	NagiosOK       = 0
	NagiosWarning  = 1
	NagiosCritical = 2
	NagiosUnknown  = 3
)

// ExitCode is the group's exit code; an unknown group counts as a protocol
// error.
func (g Group) ExitCode() int {
	switch g {
	case GroupOK:
		return ExitOK
	case GroupUnverified:
		return ExitUnverified
	case GroupUnreachable:
		return ExitUnreachable
	case GroupNegotiation:
		return ExitNegotiation
	case GroupAuthentication:
		return ExitAuthentication
	case GroupServer:
		return ExitServer
	}
	return ExitProtocol
}

// NagiosCode is the group's Nagios state: OK, WARNING for unverified
// credentials, CRITICAL for everything else.
func (g Group) NagiosCode() int {
	switch g {
	case GroupOK:
		return NagiosOK
	case GroupUnverified:
		return NagiosWarning
	}
	return NagiosCritical
}

// ID names a class; the constants next to Classes are the only IDs there
// are, so a caller that names one is checked by the compiler.
type ID string

// Class is one row of the table: a way an RDP connection ends, in words,
// and what it means for the rest of the program (the command's exit code,
// the exporter's and the sweep's logon rules), so that no caller keeps a
// list of its own.
type Class struct {
	ID    ID    // stable: JSON, metrics labels, expect_class
	Group Group // sets the exit code and the Nagios state
	// LocksAccount: the refused logon may have counted toward the account's
	// lockout threshold (servers do not always say whether the password
	// was wrong, so every authentication failure may), so no more are made
	// with that password: the exporter blocks the module and target, the
	// sweep counts it toward --max-logon-failures.
	LocksAccount bool
	// AccountLevel: the account itself is refused (locked out, disabled,
	// expired), so every further logon fails the same way; a sweep stops
	// logging on at once.
	AccountLevel bool
	// Phase is where the class arises; empty when it can happen in any
	// phase (Verdict.Phase always says where it did).
	Phase probe.Phase
	Title string // one line, what happened
	// WindowsSays is the English text Windows' Remote Desktop client shows
	// for this failure, or what the user sees when there is no dialog.
	WindowsSays string
	Cause       string
	Fix         string
}

// Severity grades a finding.
type Severity string

const (
	SeverityInfo    Severity = "info"
	SeverityWarning Severity = "warning"
)

// Finding is a fact worth a line even when the class is ok.
type Finding struct {
	ID       string // stable, like class IDs
	Severity Severity
	Text     string
}

// Verdict is the classification of one probe.
type Verdict struct {
	Class Class
	// Phase is the phase that failed, or the deepest one reached on success.
	Phase probe.Phase
	// OK: the class is ok (credentials_not_verified is not OK).
	OK bool
	// Detail is one sentence from the facts of this run: the failure code,
	// the NTSTATUS, the protocols, the raw error. Never a password.
	Detail   string
	Findings []Finding
}

// ExitCode is the command line's exit code for the verdict (see the package
// documentation).
func (v Verdict) ExitCode() int { return v.Class.Group.ExitCode() }

// NagiosCode is the Nagios plugin state for the verdict: the group's, and
// WARNING for a verdict that is OK but has a finding of NagiosWarnings (a
// TLS-only server works, yet anyone reaches its sign-in screen).
func (v Verdict) NagiosCode() int {
	code := v.Class.Group.NagiosCode()
	if code == NagiosOK {
		for _, f := range v.Findings {
			if NagiosWarnings[f.ID] {
				return NagiosWarning
			}
		}
	}
	return code
}

// NagiosWarnings are the findings that make an OK verdict a Nagios
// WARNING: the ones a monitoring check exists to catch.
var NagiosWarnings = map[string]bool{FindingNLANotEnforced: true}

// Lookup returns the class with the given ID; config files and resumed
// reports name classes as text, and this is how they are checked.
func Lookup(id ID) (Class, bool) {
	if i, ok := classIndex[id]; ok {
		return Classes[i], true
	}
	return Class{}, false
}

var classIndex = func() map[ID]int {
	m := make(map[ID]int, len(Classes))
	for i, c := range Classes {
		m[c.ID] = i
	}
	return m
}()

// class returns the table's row for id; the tests prove every id used by
// Classify is in the table.
func class(id ID) Class {
	if c, ok := Lookup(id); ok {
		return c
	}
	return Class{ID: id, Group: GroupProtocol}
}
