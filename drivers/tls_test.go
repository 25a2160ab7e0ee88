package drivers

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/internal/testbed"
	"github.com/simonvetter/modbus"
)

// testPKI makes a CA and a leaf certificate signed by it, written as PEM
// files in dir.
type testPKI struct {
	ca    *x509.Certificate
	caKey *ecdsa.PrivateKey
	dir   string
}

func newTestPKI(t *testing.T) *testPKI {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	p := &testPKI{ca: ca, caKey: key, dir: t.TempDir()}
	p.write(t, "ca.pem", "CERTIFICATE", der)
	return p
}

func (p *testPKI) write(t *testing.T, name, typ string, der []byte) string {
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// leaf issues a certificate for 127.0.0.1 usable by a server and a client.
func (p *testPKI) leaf(t *testing.T, name string, serial int64) (certFile, keyFile string, pair tls.Certificate) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = p.write(t, name+".pem", "CERTIFICATE", der), p.write(t, name+".key", "EC PRIVATE KEY", kder)
	pair, err = tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, pair
}

// TestTLSLink reads a device over Modbus/TCP Security (tcp+tls://) with a
// client certificate.
func TestTLSLink(t *testing.T) {
	pki := newTestPKI(t)
	_, _, serverPair := pki.leaf(t, "server", 2)
	certFile, keyFile, _ := pki.leaf(t, "client", 3)
	pool := x509.NewCertPool()
	pool.AddCert(pki.ca)
	h := newHandler(t, 1)
	h.units[1].holding[7] = 77
	var srv *modbus.ModbusServer
	var addr string
	var err error
	for range 5 {
		addr = fmt.Sprintf("127.0.0.1:%d", testbed.FreePort(t))
		srv, err = modbus.NewServer(&modbus.ServerConfiguration{URL: "tcp+tls://" + addr, TLSServerCert: &serverPair,
			TLSClientCAs: pool, Logger: log.New(io.Discard, "", 0)}, h)
		if err != nil {
			t.Fatal(err)
		}
		if err = srv.Start(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	url := fmt.Sprintf("tcp+tls://%s?ca_file=%s&cert_file=%s&key_file=%s", addr,
		filepath.Join(pki.dir, "ca.pem"), certFile, keyFile)
	res := Probe(context.Background(), testDevice("gate-tls", url, 1, oneRegister))
	if !res.OK || res.Points["fault_code"].Num != 77 {
		t.Fatalf("Probe over TLS, files in the URL = %+v", res)
	}
	// The config's way: modbus.tls.
	dev := testDevice("gate-tls", "tcp+tls://"+addr, 1, oneRegister)
	dev.Modbus.TLS = &configs.TLS{CAFile: filepath.Join(pki.dir, "ca.pem"), CertFile: certFile, KeyFile: keyFile}
	if res := Probe(context.Background(), dev); !res.OK || res.Points["fault_code"].Num != 77 {
		t.Fatalf("Probe over TLS, files in modbus.tls = %+v", res)
	}
	// Without a client certificate there is no link.
	if res := Probe(context.Background(), testDevice("gate-tls", "tcp+tls://"+addr, 1, oneRegister)); res.OK || res.Err == nil {
		t.Fatalf("Probe over TLS without certificates = %+v", res)
	}
}
