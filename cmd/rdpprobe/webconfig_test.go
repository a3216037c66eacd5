package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// TestServeWebConfig: --web.config.file puts the exporter behind TLS and
// basic auth (exporter-toolkit), like every Prometheus exporter: plain HTTP
// gets nothing, HTTPS without the password gets 401, with it the metrics.
func TestServeWebConfig(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM, pool := selfSignedPEM(t)
	writeFile(t, filepath.Join(dir, "cert.pem"), certPEM)
	writeFile(t, filepath.Join(dir, "key.pem"), keyPEM)
	hash, err := bcrypt.GenerateFromPassword([]byte("scrape-secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webCfg := filepath.Join(dir, "web.yml")
	writeFile(t, webCfg, []byte("tls_server_config:\n  cert_file: "+filepath.Join(dir, "cert.pem")+
		"\n  key_file: "+filepath.Join(dir, "key.pem")+"\nbasic_auth_users:\n  prometheus: "+string(hash)+"\n"))
	cfg := filepath.Join(dir, "rdpprobe.yml")
	writeFile(t, cfg, []byte("modules:\n  info:\n    phases: [connect, negotiate, tls, ntlm_info]\n"))

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	p := startServeWith(t, "https", client, "--config", cfg, "--web.config.file", webCfg)

	get := func(u, user, pass string) (int, string) {
		req, _ := http.NewRequest("GET", u, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get(p.url+"/metrics", "", ""); code != http.StatusUnauthorized {
		t.Errorf("/metrics without credentials: %d, want 401", code)
	}
	if code, _ := get(p.url+"/metrics", "prometheus", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("/metrics with a wrong password: %d, want 401", code)
	}
	code, body := get(p.url+"/metrics", "prometheus", "scrape-secret")
	if code != http.StatusOK || !strings.Contains(body, "rdpprobe_build_info") {
		t.Errorf("/metrics with the password: %d\n%.300s", code, body)
	}
	// Plain HTTP on the TLS port is refused by the TLS layer.
	plain := "http://" + strings.TrimPrefix(p.url, "https://")
	if resp, err := http.Get(plain + "/metrics"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), "rdpprobe_build_info") {
			t.Errorf("plain HTTP got the metrics: %d", resp.StatusCode)
		}
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// selfSignedPEM makes a certificate for 127.0.0.1 and a pool trusting it.
func selfSignedPEM(t *testing.T) (certPEM, keyPEM []byte, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "rdpprobe test exporter"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), pool
}
