package exporter

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"

	"github.com/rdpprobe/rdpprobe/probe"
	"github.com/rdpprobe/rdpprobe/report"
)

// Handler serves the exporter's endpoints:
//
//	/probe?target=…&module=…[&debug=true]   one probe, its metrics (or its log)
//	/metrics                                the exporter's own metrics
//	/                                       recent probes, with links to their logs
//	/logs?id=…                              one probe's log
//	POST /-/reload                          reload the config file
//	POST /-/reset?module=…[&target=…]       lift a logon block
//	/-/healthy                              200 while the process runs
func (e *Exporter) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/probe", e.serveProbe)
	mux.Handle("/metrics", promhttp.HandlerFor(e.registry, promhttp.HandlerOpts{Registry: e.registry}))
	mux.HandleFunc("/logs", e.serveLog)
	mux.HandleFunc("/-/reload", e.serveReload)
	mux.HandleFunc("/-/reset", e.serveReset)
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "Healthy") })
	mux.HandleFunc("/{$}", e.serveIndex)
	return mux
}

// scrapeTimeout follows Prometheus' X-Prometheus-Scrape-Timeout-Seconds
// minus the offset, capped by the module's timeout (blackbox_exporter's rule).
func (e *Exporter) scrapeTimeout(r *http.Request, m *Module) (time.Duration, error) {
	timeout := fallbackScrapeTimeout
	if v := r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"); v != "" {
		s, err := strconv.ParseFloat(v, 64)
		if err != nil || s <= 0 {
			return 0, fmt.Errorf("X-Prometheus-Scrape-Timeout-Seconds: %q is not a positive number", v)
		}
		timeout = time.Duration(s * float64(time.Second))
		if timeout > e.opt.TimeoutOffset {
			timeout -= e.opt.TimeoutOffset
		}
	}
	if m.Timeout < timeout {
		timeout = m.Timeout
	}
	return timeout, nil
}

func (e *Exporter) serveProbe(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cfg := e.Config()
	m, err := cfg.ModuleFor(q.Get("module"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	name := m.name
	target := q.Get("target")
	if target == "" {
		http.Error(w, "Target parameter is missing", http.StatusBadRequest)
		return
	}
	if _, _, err := probe.SplitTarget(target, probe.DefaultPort); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	timeout, err := e.scrapeTimeout(r, m)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()

	a := e.scrape(ctx, target, m)
	e.m.scrapes.WithLabelValues(name, string(a.source)).Inc()
	success := a.out.res != nil && !a.blocked && m.expects(a.out.verdict.Class.ID)
	reg := probeRegistry(m, a, success)
	why := successWhy(a, m, success)
	// The log is written when someone reads it (/logs, ?debug=true), not
	// for every scrape: the report's indented JSON was a tenth of the
	// exporter's CPU under load. Everything it reads is immutable once
	// the probe is over, so it comes out the same whenever it is made.
	log := func() []byte { return capLog(scrapeLog(a, target, m, success, why)) }
	e.history.add(historyEntry{Time: e.opt.Now(), Target: target, Module: name, Class: string(a.out.verdict.Class.ID),
		Success: success, Why: why, Source: a.source, log: log})

	if q.Get("debug") == "true" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(log())
		fmt.Fprintln(w, "\nMetrics that would have been returned:")
		mfs, err := reg.Gather()
		if err != nil {
			fmt.Fprintf(w, "gather: %v\n", err)
			return
		}
		for _, mf := range mfs {
			expfmt.MetricFamilyToText(w, mf)
		}
		return
	}
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}

// maxScrapeLog bounds the log of one scrape that ?debug=true shows and
// the history keeps (--history.limit of them). The probe's own log is
// bounded already (a recording keeps at most 256 messages), and so is the
// report; this holds whatever the two add up to.
const maxScrapeLog = 1 << 20

// capLog cuts a scrape's log to maxScrapeLog, saying how much was cut.
func capLog(b []byte) []byte {
	if len(b) <= maxScrapeLog {
		return b
	}
	return append(b[:maxScrapeLog:maxScrapeLog], fmt.Sprintf("\n[... %d more bytes of this log not kept]\n", len(b)-maxScrapeLog)...)
}

// successWhy says why probe_success is what it is, in the module's terms:
// the class it expected and the one it got, a logon block, an overload.
func successWhy(a answer, m *Module, success bool) string {
	class := a.out.verdict.Class.ID
	switch {
	case a.out.res == nil:
		return fmt.Sprintf("no probe ran: the exporter was overloaded (%s)", a.out.rejected)
	case a.blocked:
		return fmt.Sprintf("logons are blocked after class %s, a failure that can lock the account; POST /-/reset?module=%s lifts it", class, m.name)
	case success:
		return fmt.Sprintf("class %s is one module %s expects (%s)", class, m.name, expectList(m))
	}
	why := fmt.Sprintf("class %s is not one module %s expects (%s)", class, m.name, expectList(m))
	if d := a.out.verdict.Detail; d != "" {
		why += ": " + report.Escape(d) // it quotes what the server said
	}
	return why
}

func expectList(m *Module) string {
	ids := make([]string, len(m.ExpectClass))
	for i, id := range m.ExpectClass {
		ids[i] = string(id)
	}
	return strings.Join(ids, ", ")
}

// scrapeLog is what ?debug=true and /logs show for a scrape: how it was
// answered and why probe_success is what it is, the probe's log and its
// report (the JSON the CLI prints; it holds the account name, never the
// password).
func scrapeLog(a answer, target string, m *Module, success bool, why string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Scrape of target %s with module %s (expects class %s): answered by %s", target, m.name, expectList(m), a.source)
	switch a.source {
	case SourceCache:
		fmt.Fprintf(&b, " (logon result %s old, next logon after %s)", a.cacheAge.Round(time.Millisecond), m.LogonCacheTTL)
	case SourceBlocked:
		fmt.Fprintf(&b, " (the last logon failed in a way that can lock the account, %s ago; no logon until the config changes or POST /-/reset?module=%s)",
			a.cacheAge.Round(time.Second), m.name)
	}
	fmt.Fprintf(&b, "; probe_success %d: %s\n\nProbe log:\n", int(b2f(success)), why)
	b.Write(a.out.log)
	if rep := a.out.report; rep != nil {
		j, err := json.MarshalIndent(rep, "", "  ")
		if err == nil {
			b.WriteString("\nReport:\n")
			b.Write(j)
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

func (e *Exporter) serveReload(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		w.Header().Set("Allow", "POST, PUT")
		http.Error(w, "POST or PUT to reload the config", http.StatusMethodNotAllowed)
		return
	}
	if err := e.Reload(); err != nil {
		http.Error(w, "reload failed, the running config stays: "+err.Error(), http.StatusInternalServerError)
		return
	}
	fmt.Fprintln(w, "config reloaded")
}

func (e *Exporter) serveReset(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "POST to reset a module's logon state", http.StatusMethodNotAllowed)
		return
	}
	module := r.URL.Query().Get("module")
	if module == "" {
		http.Error(w, "module parameter is missing", http.StatusBadRequest)
		return
	}
	if e.Config().Modules[module] == nil {
		http.Error(w, fmt.Sprintf("Unknown module %q", module), http.StatusNotFound)
		return
	}
	n := e.Reset(module, r.URL.Query().Get("target"))
	fmt.Fprintf(w, "module %s: forgot %d logon result(s); the next scrape logs on again\n", module, n)
}

func (e *Exporter) serveLog(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.URL.Query().Get("id"), 10, 64)
	if err != nil {
		http.Error(w, "id parameter must be a number", http.StatusBadRequest)
		return
	}
	ent, ok := e.history.get(id)
	if !ok {
		http.Error(w, "Probe id not found (only the most recent are kept)", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(ent.log())
}

var indexTemplate = template.Must(template.New("index").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>rdpprobe exporter</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{padding:.2em .8em;border-bottom:1px solid #ddd;text-align:left}.bad{color:#b00}.good{color:#070}td.why{max-width:40em;font-size:90%}</style>
</head><body>
<h1>rdpprobe exporter</h1>
<p><a href="metrics">Metrics</a> · version {{.Version}}</p>
<h2>Modules</h2>
<table><tr><th>module</th><th>depth</th><th>offers</th><th>timeout</th><th>expects class</th><th>logon</th></tr>
{{range .Modules}}<tr><td>{{.Name}}</td><td>{{.Depth}}</td><td>{{.Offer}}</td><td>{{.Timeout}}</td><td>{{.Expect}}</td><td>{{.Logon}}</td></tr>
{{end}}</table>
<h2>Recent probes</h2>
<table><tr><th>time</th><th>target</th><th>module</th><th>class</th><th>success</th><th>why</th><th>answered by</th><th>log</th></tr>
{{range .Recent}}<tr><td>{{.Time.Format "2006-01-02 15:04:05.000 -07:00 MST"}}</td><td>{{.Target}}</td><td>{{.Module}}</td><td>{{.Class}}</td>
<td class="{{if .Success}}good{{else}}bad{{end}}">{{.Success}}</td><td class="why">{{.Why}}</td><td>{{.Source}}</td><td><a href="logs?id={{.ID}}">log</a></td></tr>
{{end}}</table>
</body></html>
`))

func (e *Exporter) serveIndex(w http.ResponseWriter, r *http.Request) {
	type mod struct {
		Name, Depth, Offer, Timeout, Expect, Logon string
	}
	cfg := e.Config()
	var mods []mod
	for name, m := range cfg.Modules {
		depth := string(m.depth)
		if depth == "" {
			depth = "(as deep as possible)"
		}
		logon := "no"
		if m.Logon() {
			logon = "as " + m.Credentials.User + ", at most every " + m.LogonCacheTTL.String()
		}
		mods = append(mods, mod{Name: name, Depth: depth, Offer: m.offer.String(), Timeout: m.Timeout.String(),
			Expect: expectList(m), Logon: logon})
	}
	sort.Slice(mods, func(i, j int) bool { return mods[i].Name < mods[j].Name })
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := indexTemplate.Execute(w, map[string]any{"Version": e.opt.Version, "Modules": mods, "Recent": e.history.list()}); err != nil {
		e.log.Error("index page", "err", err)
	}
}

// historyEntry is one scrape the / page lists.
type historyEntry struct {
	ID      int64
	Time    time.Time
	Target  string
	Module  string
	Class   string
	Success bool
	Why     string // why probe_success is what it is
	Source  Source
	// log makes the scrape's log (capLog of scrapeLog) from the answer
	// it keeps: bounded as the probe's log and report are.
	log func() []byte
}

// history keeps the most recent scrapes, newest last.
type history struct {
	mu      sync.Mutex
	max     int
	next    int64
	entries []historyEntry
}

func newHistory(max int) *history { return &history{max: max} }

func (h *history) add(ent historyEntry) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ent.ID = h.next
	h.next++
	if len(h.entries) >= h.max {
		copy(h.entries, h.entries[1:])
		h.entries = h.entries[:len(h.entries)-1]
	}
	h.entries = append(h.entries, ent)
}

func (h *history) get(id int64) (historyEntry, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ent := range h.entries {
		if ent.ID == id {
			return ent, true
		}
	}
	return historyEntry{}, false
}

// list returns the entries newest first.
func (h *history) list() []historyEntry {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]historyEntry, len(h.entries))
	for i, ent := range h.entries {
		out[len(out)-1-i] = ent
	}
	return out
}
