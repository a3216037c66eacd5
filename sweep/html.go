package sweep

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rdpprobe/rdpprobe/classify"
	"github.com/rdpprobe/rdpprobe/negotiate"
	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/report"
)

// maxUnreachableRows caps the unreachable rows of the HTML table: a /16 of
// refused connections is 65,536 rows nobody reads. Every row that reached
// an RDP server is kept; the counts always cover every target; the JSONL
// and CSV reports have every row.
const maxUnreachableRows = 10000

// certSoon: a certificate expiring within this many days is listed.
const certSoon = 30

// HTML collects a sweep and writes one self-contained page at Close: the
// counts per class with the cause and fix of each, the hosts grouped by
// finding, and a sortable table. Every string from a server (NTLM names,
// certificate subjects, errors) goes through html/template's escaping; a
// Content-Security-Policy allows only the page's own style and script,
// by hash, and no network access at all.
type HTML struct {
	w        io.Writer
	now      func() time.Time
	rows     []htmlRow
	omitted  int
	groups   map[string]*findingGroup
	domains  map[string]int // NetBIOS domain → hosts
	maxUnrch int
}

type htmlRow struct {
	Target, TargetKey string
	Class, Group      string
	Phase             string
	Selected          string
	CredSSP           string
	NBDomain          string
	NBComputer        string
	OS                string
	CertExpiry        string
	CertDays          string // data-v for sorting: days left, "" if none
	CertSoon          bool
	TLS               string
	Findings          []string
	Detail            string
	Logon             string
}

type findingGroup struct {
	ID, Title string
	Open      bool
	Members   []groupMember
	seen      map[string]bool
}

type groupMember struct{ Target, Text string }

// findingGroups are the report's groups of hosts, in order: the finding
// IDs of package classify, titled for a manager.
var findingGroups = []struct {
	ID, Title string
	Open      bool
}{
	{"nla_not_enforced", "NLA not enforced", true},
	{groupStandardRDP, "Standard RDP security only", true},
	{groupCredSSPUnpatched, "CredSSP unpatched (CVE-2018-0886)", true},
	{groupCertNotTrusted, "Certificate not trusted", true},
	{"cert_name_mismatch", "Certificate name mismatch", true},
	{"cert_wrong_purpose", "Certificate for another purpose", true},
	{"cert_expired", "Certificate expired", true},
	{"cert_not_yet_valid", "Certificate not yet valid", true},
	{"cert_expiring", "Certificate expiring within 30 days", true},
	{"tls_weak_version", "Old TLS only (TLS 1.0/1.1)", true},
	{"domain_mismatch", "Domain mismatch", true},
	{"clock_skew", "Clock skew", true},
	{"cert_self_signed", "Self-signed certificate", false},
}

// groupStandardRDP gathers the servers that speak only standard RDP
// security (no TLS, no NLA): they refused TLS (tls_not_allowed), answered
// without negotiation data, or selected PROTOCOL_RDP whatever was offered.
// They are listed under NLA not enforced too.
const groupStandardRDP = "standard_rdp_only"

// groupCredSSPUnpatched gathers the class credssp_oracle_server_unpatched
// and servers below CredSSP 5 (the report's credssp.server_version).
const groupCredSSPUnpatched = "credssp_unpatched"

// groupCertNotTrusted gathers the finding cert_untrusted (no chain to a
// trusted root) and the class cert_not_trusted (a certificate that fails
// what the sweep was told to require).
const groupCertNotTrusted = "cert_untrusted"

// ungrouped findings are facts about every server, not problems: the
// finding credssp_version, which reports written before the version became
// a fact of the report alone still carry (rdpprobe report reads them).
var ungrouped = map[string]bool{"credssp_version": true}

// NewHTML returns an HTML report that writes to w at Close.
func NewHTML(w io.Writer, now func() time.Time) *HTML {
	if now == nil {
		now = time.Now
	}
	return &HTML{w: w, now: now, groups: map[string]*findingGroup{}, domains: map[string]int{}, maxUnrch: maxUnreachableRows}
}

func (h *HTML) Write(rep *report.Report, logon string) error {
	now := h.now()
	f := facts(rep, now)
	// html/template escapes markup, not the controls a server can put in
	// its names: a bidi override reorders a row as it would a terminal
	// line. Server text gets the text form's visible escapes.
	f.nbDomain, f.nbComputer, f.osVersion = report.Escape(f.nbDomain), report.Escape(f.nbComputer), report.Escape(f.osVersion)
	detail := report.Escape(rep.Detail)
	for _, fi := range rep.Findings {
		if !ungrouped[fi.ID] {
			h.group(fi.ID, rep.Target, report.Escape(fi.Text))
		}
	}
	if classify.ID(rep.Class) == classify.CertNotTrusted {
		h.group(groupCertNotTrusted, rep.Target, rep.Detail)
	}
	if classify.ID(rep.Class) == classify.CredSSPOracleServerUnpatched {
		h.group(groupCredSSPUnpatched, rep.Target, detail)
	} else if f.credssp > 0 && f.credssp < 5 {
		h.group(groupCredSSPUnpatched, rep.Target, fmt.Sprintf("the server speaks CredSSP version %d, without the CVE-2018-0886 fix", f.credssp))
	}
	if f.nbDomain != "" || f.nbComputer != "" {
		d := f.nbDomain
		if d == "" {
			d = "(none)"
		}
		h.domains[d]++
	}
	if f.certDays != nil {
		switch d := *f.certDays; {
		case d < 0:
			h.group("cert_expired", rep.Target, "expired "+f.certNotAfter)
		case d < certSoon:
			h.group("cert_expiring", rep.Target, fmt.Sprintf("expires %s (in %d days)", f.certNotAfter, d))
		}
	}
	if why, ok := standardRDPOnly(rep); ok {
		h.group(groupStandardRDP, rep.Target, why)
		h.group(classify.FindingNLANotEnforced, rep.Target, "standard RDP security only: no NLA, nothing checks credentials before the sign-in screen")
	}
	if f.tlsVersion == "TLS 1.0" || f.tlsVersion == "TLS 1.1" {
		h.group("tls_weak_version", rep.Target, "negotiated "+f.tlsVersion+", the best the server offers")
	}
	if rep.Group == string(classify.GroupUnreachable) {
		if h.maxUnrch <= 0 {
			h.omitted++
			return nil
		}
		h.maxUnrch--
	}
	row := htmlRow{
		Target: rep.Target, TargetKey: targetKey(rep.Target),
		Class: rep.Class, Group: rep.Group, Phase: rep.Phase,
		Selected: f.selected, TLS: f.tlsVersion,
		NBDomain: f.nbDomain, NBComputer: f.nbComputer, OS: f.osVersion,
		CertExpiry: f.certNotAfter, Findings: f.findingIDs, Detail: detail, Logon: logon,
	}
	if f.credssp > 0 {
		row.CredSSP = strconv.Itoa(f.credssp)
	}
	if f.certDays != nil {
		row.CertDays = strconv.Itoa(*f.certDays)
		row.CertSoon = *f.certDays < certSoon
	}
	h.rows = append(h.rows, row)
	return nil
}

func (h *HTML) group(id, target, text string) {
	g := h.groups[id]
	if g == nil {
		g = &findingGroup{ID: id, Title: id, Open: true, seen: map[string]bool{}}
		for _, fg := range findingGroups {
			if fg.ID == id {
				g.Title, g.Open = fg.Title, fg.Open
			}
		}
		h.groups[id] = g
	}
	if !g.seen[target] {
		g.seen[target] = true
		g.Members = append(g.Members, groupMember{Target: target, Text: text})
	}
}

// standardRDPOnly says whether the report shows a server with standard RDP
// security only, and in what words.
func standardRDPOnly(rep *report.Report) (string, bool) {
	n := rep.Negotiation
	switch {
	case classify.ID(rep.Class) == classify.TLSNotAllowed:
		return "refused TLS (" + n.FailureCode + "): no TLS, no NLA, the server is not authenticated", true
	case n == nil:
		return "", false
	case n.NoNegotiation:
		return "answered without negotiation data: a server older than RDP 5.2, standard RDP security only", true
	case n.FailureCode == "" && n.Selected == negotiate.ProtocolRDP.String() && len(n.Offered) > 0 && n.Offered[0] != negotiate.ProtocolRDP.String():
		return "selected PROTOCOL_RDP though " + strings.Join(n.Offered, "|") + " was offered: standard RDP security only", true
	}
	return "", false
}

// targetKey sorts addresses numerically and names after them.
func targetKey(target string) string {
	host, port, err := probe.SplitTarget(target, probe.DefaultPort)
	if err != nil {
		return "~" + target
	}
	if a, err := netip.ParseAddr(host); err == nil {
		b := a.As16()
		return fmt.Sprintf("%x:%05d", b, port)
	}
	return "~" + strings.ToLower(host) + fmt.Sprintf(":%05d", port)
}

type classCount struct {
	ID, Group, Title, Cause, Fix, WindowsSays string
	Count                                     int
	Bar                                       int // the bar's width in pixels, of barWidth
}

// barWidth is the width of the longest bar of the class counts.
const barWidth = 140

type domainCount struct {
	Domain string
	Count  int
}

type htmlPage struct {
	Generated   string
	Sum         *Summary
	Duration    string
	Partial     bool
	NotRun      uint64
	Classes     []classCount
	GroupCounts []classCount
	Groups      []*findingGroup
	Rows        []htmlRow
	Omitted     int
	Domains     []domainCount
	Max         int // the largest class count, for the bars
	CSP         string
}

// Close renders the page.
func (h *HTML) Close(sum *Summary) error {
	if sum == nil {
		sum = &Summary{}
	}
	p := htmlPage{
		Generated: h.now().UTC().Format("2006-01-02 15:04:05 UTC"),
		Sum:       sum,
		Partial:   sum.Interrupted,
		Omitted:   h.omitted,
		CSP:       pageCSP,
	}
	if !sum.Start.IsZero() && !sum.End.IsZero() {
		p.Duration = sum.End.Sub(sum.Start).Round(100 * time.Millisecond).String()
	}
	if seen := sum.Done + sum.Skipped; sum.Total > seen {
		p.NotRun = sum.Total - seen
	}
	groupTotals := map[string]int{}
	for id, n := range sum.Classes {
		c := classCount{ID: id, Count: n, Group: string(classify.GroupProtocol), Title: id}
		if cl, ok := classify.Lookup(classify.ID(id)); ok {
			c.Group, c.Title, c.Cause, c.Fix, c.WindowsSays = string(cl.Group), cl.Title, cl.Cause, cl.Fix, cl.WindowsSays
		}
		groupTotals[c.Group] += n
		p.Classes = append(p.Classes, c)
	}
	for _, c := range p.Classes {
		p.Max = max(p.Max, c.Count)
	}
	for i, c := range p.Classes {
		p.Classes[i].Bar = max(2, barWidth*c.Count/max(1, p.Max))
	}
	for d, n := range h.domains {
		p.Domains = append(p.Domains, domainCount{d, n})
	}
	sort.Slice(p.Domains, func(i, j int) bool {
		if p.Domains[i].Count != p.Domains[j].Count {
			return p.Domains[i].Count > p.Domains[j].Count
		}
		return p.Domains[i].Domain < p.Domains[j].Domain
	})
	sort.Slice(p.Classes, func(i, j int) bool {
		a, b := p.Classes[i], p.Classes[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.ID < b.ID
	})
	for _, g := range []classify.Group{classify.GroupOK, classify.GroupUnverified, classify.GroupUnreachable,
		classify.GroupNegotiation, classify.GroupAuthentication, classify.GroupServer, classify.GroupProtocol} {
		if n := groupTotals[string(g)]; n > 0 {
			p.GroupCounts = append(p.GroupCounts, classCount{ID: string(g), Group: string(g), Count: n})
		}
	}
	for _, fg := range findingGroups {
		if g := h.groups[fg.ID]; g != nil {
			p.Groups = append(p.Groups, g)
		}
	}
	known := map[string]bool{}
	for _, fg := range findingGroups {
		known[fg.ID] = true
	}
	var others []string
	for id := range h.groups {
		if !known[id] {
			others = append(others, id)
		}
	}
	sort.Strings(others)
	for _, id := range others {
		p.Groups = append(p.Groups, h.groups[id])
	}
	for _, g := range p.Groups {
		sort.SliceStable(g.Members, func(i, j int) bool { return targetKey(g.Members[i].Target) < targetKey(g.Members[j].Target) })
	}
	p.Rows = h.rows
	sort.SliceStable(p.Rows, func(i, j int) bool { return p.Rows[i].TargetKey < p.Rows[j].TargetKey })
	return pageTemplate.Execute(h.w, p)
}

// The page's style and script, allowed by hash in its CSP.
const pageCSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1d2430;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d8dee6;padding-bottom:4px}
.meta{color:#5a6473;margin:0 0 12px}.banner{padding:10px 14px;border-radius:6px;margin:10px 0;font-weight:500}
.partial{background:#fff4ce;border:1px solid #e5c54a}.stopped{background:#fde7e9;border:1px solid #e0a3ab}.info{background:#eef4fb;border:1px solid #b8cce4}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e6eaef;vertical-align:top}
th{background:#f3f5f8;position:sticky;top:0}
#hosts th{cursor:pointer;user-select:none;white-space:nowrap}#hosts th[aria-sort=ascending]::after{content:" \25B2"}#hosts th[aria-sort=descending]::after{content:" \25BC"}
#hosts td{font-size:12px}td.mono,span.mono{font-family:ui-monospace,Menlo,Consolas,monospace}
.g{display:inline-block;padding:1px 7px;border-radius:10px;font-size:12px;font-weight:600;color:#fff;background:#6b7280}
.g-ok{background:#2e7d32}.g-unverified{background:#b7791f}.g-unreachable{background:#6b7280}.g-negotiation{background:#c2410c}
.g-authentication{background:#b91c1c}.g-server{background:#7c3aed}.g-protocol{background:#374151}
svg.bar{display:block}svg.bar .track{fill:#e6eaef}
.b-ok{fill:#2e7d32}.b-unverified{fill:#b7791f}.b-unreachable{fill:#6b7280}.b-negotiation{fill:#c2410c}
.b-authentication{fill:#b91c1c}.b-server{fill:#7c3aed}.b-protocol{fill:#374151}
.counts td.n{text-align:right;font-weight:600;font-variant-numeric:tabular-nums}.fix{color:#374151;font-size:13px}.cause{color:#5a6473;font-size:13px}
details{margin:6px 0}summary{cursor:pointer;font-weight:600}ul.members{columns:2;margin:6px 0 0}ul.members li{break-inside:avoid}
.soon{color:#b91c1c;font-weight:600}.tiles{display:flex;gap:10px;flex-wrap:wrap;margin:12px 0}
.tile{border:1px solid #d8dee6;border-radius:8px;padding:8px 14px;min-width:110px}.tile b{display:block;font-size:22px}
.scroll{overflow-x:auto}#hosts{table-layout:auto}#hosts th,#hosts td{padding:4px 6px}
#hosts td.findings{min-width:9em;max-width:15em}#hosts td.findings span.f,span.t,span.w{white-space:nowrap}
#hosts td.logon{min-width:7em;max-width:19em}#hosts .g,#hosts td.nw{white-space:nowrap}
#filter{padding:5px 8px;width:320px;margin:6px 0;border:1px solid #c5ccd6;border-radius:4px}
`

const pageJS = `
(function(){
var t=document.getElementById("hosts");if(!t)return;
var tb=t.tBodies[0],hs=t.tHead.rows[0].cells;
function key(td){var v=td.getAttribute("data-v");return v!==null?v:td.textContent.trim().toLowerCase();}
function sortBy(i,desc){
 var num=hs[i].hasAttribute("data-num"),rows=Array.prototype.slice.call(tb.rows);
 rows.sort(function(a,b){var x=key(a.cells[i]),y=key(b.cells[i]),c;
  if(num){x=x===""?Infinity:parseFloat(x);y=y===""?Infinity:parseFloat(y);}
  c=x<y?-1:x>y?1:0;return desc?-c:c;});
 rows.forEach(function(r){tb.appendChild(r);});
 for(var j=0;j<hs.length;j++)hs[j].removeAttribute("aria-sort");
 hs[i].setAttribute("aria-sort",desc?"descending":"ascending");
 t.setAttribute("data-sorted",hs[i].getAttribute("data-key")+(desc?"-desc":"-asc"));
}
Array.prototype.forEach.call(hs,function(h,i){h.tabIndex=0;
 h.addEventListener("click",function(){sortBy(i,h.getAttribute("aria-sort")==="ascending");});
 h.addEventListener("keydown",function(e){if(e.key==="Enter")sortBy(i,h.getAttribute("aria-sort")==="ascending");});});
var f=document.getElementById("filter");
if(f)f.addEventListener("input",function(){var q=f.value.toLowerCase();
 Array.prototype.forEach.call(tb.rows,function(r){r.hidden=q!==""&&r.textContent.toLowerCase().indexOf(q)<0;});});
var m=/^#sort=([a-z_]+)(-desc)?$/.exec(location.hash);
if(m)for(var k=0;k<hs.length;k++)if(hs[k].getAttribute("data-key")===m[1])sortBy(k,!!m[2]);
t.setAttribute("data-js","ready");
})();
`

func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

var pageCSP = "default-src 'none'; style-src " + cspHash(pageCSS) + "; script-src " + cspHash(pageJS) +
	"; img-src 'none'; connect-src 'none'; form-action 'none'; base-uri 'none'"

const pageHead = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{.CSP}}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>rdpprobe sweep{{if .Sum.Merged}} (merged){{end}}{{if .Partial}} (partial){{end}}</title>
<style>`

const pageBody = `</style></head>
<body>
<h1>Remote Desktop sweep</h1>
<p class="meta">Generated by rdpprobe {{.Generated}}{{with .Duration}} · took {{.}}{{end}}{{with .Sum.Targets}} · targets: <span class="mono">{{.}}</span>{{end}}</p>
{{if .Partial}}<div class="banner partial" id="partial">Partial results: the sweep was interrupted. {{.Sum.Done}} of {{.Sum.Total}} targets probed{{if .NotRun}}, {{.NotRun}} not run{{end}}{{if .Sum.Dropped}}, {{.Sum.Dropped}} cut off and not recorded{{end}}. Run it again with --resume to finish.</div>{{end}}
{{if .Sum.Merged}}<div class="banner info" id="merged">Merged from {{.Sum.Merged}} reports: one row per target, the newest result of each{{if .Sum.Replaced}} ({{.Sum.Replaced}} older results replaced){{end}}{{if .Sum.LogonAttempts}}; {{.Sum.LogonAttempts}} logons attempted, {{.Sum.LogonFailures}} failed{{end}}.</div>{{end}}
{{if .Sum.Credentials}}{{if .Sum.LogonsStopped}}<div class="banner stopped" id="logons-stopped">Logons stopped: {{.Sum.LogonsStopped}}. The remaining hosts were probed without credentials (up to the NTLM CHALLENGE).</div>
{{else}}<div class="banner info">Logons as <span class="mono">{{.Sum.User}}</span>: at most one attempt per host, stopping after {{.Sum.MaxLogonFailures}} failed logons.</div>{{end}}{{end}}
<div class="tiles">
<div class="tile"><b id="total">{{.Sum.Total}}</b>targets</div>
<div class="tile"><b id="done">{{.Sum.Done}}</b>probed</div>
{{if .Sum.Skipped}}<div class="tile"><b>{{.Sum.Skipped}}</b>done before (resumed)</div>{{end}}
{{range .GroupCounts}}<div class="tile"><b>{{.Count}}</b><span class="g g-{{.Group}}">{{.ID}}</span></div>
{{end}}{{if .Sum.Credentials}}<div class="tile"><b>{{.Sum.LogonAttempts}}</b>logons tried, {{.Sum.LogonFailures}} failed</div>{{end}}
</div>

<h2>Results by class</h2>
<table class="counts" id="counts">
<thead><tr><th>Class</th><th>Hosts</th><th></th><th>What happened · what to do</th></tr></thead>
<tbody>
{{range .Classes}}<tr data-class="{{.ID}}" data-count="{{.Count}}">
<td><span class="g g-{{.Group}}">{{.Group}}</span><br><span class="mono">{{.ID}}</span></td>
<td class="n">{{.Count}}</td>
<td><svg class="bar" width="140" height="12" role="img" aria-label="{{.Count}} of {{$.Max}}"><rect class="track" width="140" height="12"></rect><rect class="fill b-{{.Group}}" width="{{.Bar}}" height="12"></rect></svg></td>
<td><b>{{.Title}}</b>{{with .WindowsSays}}<br><span class="cause">Windows says: “{{.}}”</span>{{end}}{{with .Cause}}<br><span class="cause">Cause: {{.}}</span>{{end}}{{with .Fix}}<br><span class="fix">Fix: {{.}}</span>{{end}}</td>
</tr>
{{end}}</tbody>
</table>

<h2>Hosts by finding</h2>
{{range .Groups}}<details id="finding-{{.ID}}"{{if .Open}} open{{end}}><summary>{{.Title}} ({{len .Members}})</summary>
<ul class="members">{{range .Members}}<li><span class="mono t">{{.Target}}</span> — {{words .Text}}</li>{{end}}</ul>
</details>
{{else}}<p>No findings.</p>
{{end}}

{{if .Domains}}<h2>Domains the servers say they are in</h2>
<table class="counts" id="domains"><thead><tr><th>NetBIOS domain (from the NTLM CHALLENGE)</th><th>Hosts</th></tr></thead><tbody>
{{range .Domains}}<tr><td class="mono">{{.Domain}}</td><td class="n">{{.Count}}</td></tr>
{{end}}</tbody></table>{{end}}

<h2>All hosts</h2>
{{if .Omitted}}<p class="meta">{{.Omitted}} unreachable targets are not listed here (they are counted above and listed in the JSONL and CSV reports).</p>{{end}}
<input id="filter" type="search" placeholder="Filter rows (any text)" aria-label="Filter rows">
<div class="scroll"><table id="hosts" data-rows="{{len .Rows}}">
<thead><tr><th data-key="target">Target</th><th data-key="class">Class</th><th data-key="phase">Phase</th><th data-key="selected">Security</th><th data-key="credssp" data-num>CredSSP</th><th data-key="domain">Domain</th><th data-key="computer">Computer</th><th data-key="os">OS</th><th data-key="cert" data-num>Cert expires</th><th data-key="tls">TLS</th><th data-key="findings">Findings</th><th data-key="logon">Logon</th></tr></thead>
<tbody>
{{range .Rows}}<tr data-target="{{.Target}}">
<td class="mono" data-v="{{.TargetKey}}">{{.Target}}</td><td title="{{.Detail}}"><span class="g g-{{.Group}}">{{.Class}}</span></td><td>{{.Phase}}</td><td>{{.Selected}}</td><td>{{.CredSSP}}</td><td>{{.NBDomain}}</td><td>{{.NBComputer}}</td><td>{{.OS}}</td><td data-v="{{.CertDays}}" class="nw{{if .CertSoon}} soon{{end}}">{{.CertExpiry}}</td><td class="nw">{{.TLS}}</td><td class="findings">{{range $i, $f := .Findings}}{{if $i}}, {{end}}<span class="f">{{$f}}</span>{{end}}</td><td class="logon">{{words .Logon}}</td>
</tr>
{{end}}</tbody>
</table></div>
<script>`

const pageTail = `</script>
</body></html>
`

var pageTemplate = template.Must(template.New("sweep").Funcs(template.FuncMap{"words": words}).Parse(pageHead + pageCSS + pageBody + pageJS + pageTail))

// words sets text so that a browser breaks it at its spaces only: a word
// with a hyphen ("--max-logon-failures", "self-signed") is kept whole in a
// span, everything escaped.
func words(text string) template.HTML {
	var b strings.Builder
	for i, w := range strings.Fields(text) {
		if i > 0 {
			b.WriteByte(' ')
		}
		if strings.ContainsAny(w, "-/") {
			b.WriteString(`<span class="w">` + template.HTMLEscapeString(w) + `</span>`)
		} else {
			b.WriteString(template.HTMLEscapeString(w))
		}
	}
	return template.HTML(b.String())
}
