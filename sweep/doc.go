// Package sweep probes many RDP targets: it parses and expands target lists
// (CIDRs, ranges, names, files, stdin) as a stream, runs probes through a
// bounded worker pool behind a global token-bucket rate limit, keeps logons
// lockout-aware (one attempt per host, a global cap on failed logons), and
// writes the results as JSONL, CSV and a self-contained HTML report.
//
// A JSONL line is exactly a report.Report (docs/result.schema.json), the
// same document as `rdpprobe --output json`.
package sweep
