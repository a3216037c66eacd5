package exporter

import (
	"crypto/tls"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rdpprobe/rdpprobe/report"
)

// probeRegistry holds the metrics of one scrape: made for the request,
// dropped after it, as blackbox_exporter does.
func probeRegistry(m *Module, a answer, success bool) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	gauge := func(name, help string, v float64) {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
		g.Set(v)
		reg.MustRegister(g)
	}
	info := func(name, help string, labels prometheus.Labels) {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels})
		g.Set(1)
		reg.MustRegister(g)
	}
	out := a.out

	gauge("probe_success", "Whether the probe's class is one the module expects (by default: a user could log on).", b2f(success))
	gauge("probe_duration_seconds", "How long the probe took (for a cached logon result: the probe that made it).", out.end.Sub(out.start).Seconds())
	if m.Logon() {
		gauge("probe_rdp_logon_cache_age_seconds", "Age of the logon result this scrape reports; 0 when this scrape ran the probe.", a.cacheAge.Seconds())
		gauge("probe_rdp_logon_blocked", "Whether logons of this module against this target are stopped after a failure that can lock the account (bad password); POST /-/reset?module=… or a config change lifts it.", b2f(a.blocked))
	}
	gauge("probe_rdp_overloaded", "Whether the exporter was at --probe.max-concurrent with a full queue (or no slot came before the deadline), so this probe did not run.", b2f(out.rejected != ""))
	res := out.res
	if res == nil {
		return reg
	}
	if id := out.verdict.Class.ID; id != "" {
		info("probe_rdp_result", "The probe's class (a stable ID, see the README); the value is 1.", prometheus.Labels{"class": string(id)})
	}
	gauge("probe_rdp_logon_attempted", "Whether the reported probe gave the server the credentials (one logon attempt: NTLM AUTHENTICATE, or autologon in the Client Info).", b2f(res.CredentialsUsed()))

	phases := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "probe_rdp_phase_duration_seconds", Help: "Duration of each phase of the probe that started.",
	}, []string{"phase"})
	for _, t := range res.Timings {
		phases.WithLabelValues(string(t.Phase)).Set(t.Duration.Seconds())
	}
	reg.MustRegister(phases)
	if res.Failed != "" {
		info("probe_rdp_failed_phase", "The phase that ended the probe with an error; the value is 1.", prometheus.Labels{"phase": string(res.Failed)})
	}

	if n := res.Negotiation; n != nil && n.Failure == nil {
		gauge("probe_rdp_negotiated_protocol", "The protocol the server selected (MS-RDPBCGR 2.2.1.2.1): 0 standard RDP security, 1 TLS, 2 CredSSP (NLA), 8 CredSSP with Early User Authorization.", float64(n.Selected()))
	}
	if t := res.TLS; t != nil {
		info("probe_tls_version_info", "The TLS version negotiated; the value is 1.", prometheus.Labels{"version": tls.VersionName(t.Version)})
		if c := t.Certificate; c != nil {
			// Whatever the class: an expired or untrusted certificate is
			// when these matter most (blackbox_exporter #1119).
			gauge("probe_ssl_earliest_cert_expiry", "Expiry of the server's certificate, Unix seconds.", float64(c.NotAfter.Unix()))
			info("probe_ssl_last_chain_info", "The server's certificate (as blackbox_exporter: SHA-256 fingerprint, subject, issuer, DNS names); the value is 1.",
				prometheus.Labels{"fingerprint_sha256": c.SHA256, "subject": labelValue(c.Subject), "issuer": labelValue(c.Issuer),
					"subjectalternative": labelValue(strings.Join(c.DNSNames, ","))})
			if tr := c.Trust; tr != nil {
				gauge("probe_ssl_last_chain_expiry_timestamp_seconds", "Earliest expiry in the certificate's chain, Unix seconds: the chain that verified, or else the certificates the server sent.",
					float64(tr.ChainNotAfter().Unix()))
				gauge("probe_rdp_cert_trusted", "Whether the server's certificate is trusted: a chain to the system's roots or tls_config.ca_file, the name (the target's host or tls_config.server_name), the purpose and every validity period pass; revocation is not checked.",
					b2f(tr.Trusted))
			}
		}
	}
	if a := res.Auth; a != nil {
		info("probe_rdp_auth_mechanism", "The security package CredSSP carried (Kerberos or NTLM, as --auth chose it); the value is 1.",
			prometheus.Labels{"mechanism": a.Mechanism})
	}
	if c := res.CredSSP; c != nil && c.ServerVersion > 0 {
		gauge("probe_rdp_credssp_version", "The CredSSP version the server speaks; below 5 lacks the CVE-2018-0886 fix.", float64(c.ServerVersion))
	}
	if n := res.NTLM; n != nil {
		// The exposition format escapes only \, " and newline in a label:
		// the server's names get the text form's visible escapes, so a
		// curl of /probe or a dashboard shows no terminal controls.
		info("probe_rdp_ntlm_info", "What the server says about itself in its NTLM CHALLENGE; the value is 1.", prometheus.Labels{
			"netbios_domain": report.Escape(n.NetBIOSDomain), "netbios_computer": report.Escape(n.NetBIOSComputer),
			"dns_domain": report.Escape(n.DNSDomain), "os_version": report.Escape(n.OSVersion),
		})
		if !n.ServerTime.IsZero() {
			gauge("probe_rdp_clock_skew_seconds", "The server's clock minus the exporter's, from the NTLM CHALLENGE timestamp.", n.ClockSkew.Seconds())
		}
	}
	return reg
}

// maxLabelBytes caps a label value a server chose (a certificate's
// subject can be kilobytes).
const maxLabelBytes = 512

// labelValue makes a server's string a label value: valid UTF-8, capped.
func labelValue(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= maxLabelBytes {
		return s
	}
	cut := maxLabelBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
