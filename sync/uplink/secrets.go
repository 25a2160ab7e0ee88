package uplink

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/jusha-ean/edge/configs"
)

// loadSecrets reads the password file and builds the TLS config. Secret
// files readable by group or others are refused, naming the file.
func (u *Uplink) loadSecrets(up configs.Upstream) error {
	if up.PasswordFile != "" {
		b, err := readSecret("upstream.password_file", up.PasswordFile)
		if err != nil {
			return err
		}
		u.password = strings.TrimRight(string(b), "\r\n")
	}
	needTLS := false
	for _, b := range u.brokers {
		p, err := url.Parse(b)
		if err != nil || p.Host == "" {
			return fmt.Errorf("uplink: broker %q: not a URL such as tcp://host:1883", b)
		}
		switch p.Scheme {
		case "tls", "ssl", "mqtts", "tcps":
			needTLS = true
		case "tcp", "mqtt":
		default:
			return fmt.Errorf("uplink: broker %q: scheme %q, want tcp:// or tls://", b, p.Scheme)
		}
	}
	t := up.TLS
	if !needTLS {
		if t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" {
			u.log.Warn("upstream.tls is set but no broker URL uses tls://: the link is not encrypted")
		}
		return nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // explicit opt-in, warned at every connect
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return fmt.Errorf("uplink: upstream.tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("uplink: upstream.tls.ca_file %s: no PEM certificate in it", t.CAFile)
		}
		cfg.RootCAs = pool
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return fmt.Errorf("uplink: upstream.tls: cert_file and key_file go together (mutual TLS)")
	}
	if t.CertFile != "" {
		key, err := readSecret("upstream.tls.key_file", t.KeyFile)
		if err != nil {
			return err
		}
		certPEM, err := os.ReadFile(t.CertFile)
		if err != nil {
			return fmt.Errorf("uplink: upstream.tls.cert_file: %w", err)
		}
		pair, err := tls.X509KeyPair(certPEM, key)
		if err != nil {
			return fmt.Errorf("uplink: upstream.tls cert_file %s / key_file %s: %w", t.CertFile, t.KeyFile, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	u.tls = cfg
	u.insecure = t.InsecureSkipVerify
	return nil
}

// readSecret reads a file that must be readable by its owner only.
func readSecret(key, path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("uplink: %s: %w", key, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("uplink: %s %s: readable by group or others (mode %04o); chmod 600 it",
			key, path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("uplink: %s: %w", key, err)
	}
	return b, nil
}
