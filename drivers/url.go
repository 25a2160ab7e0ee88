package drivers

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/simonvetter/modbus"
)

// dialTimeout is the library's fixed TCP connect timeout.
const dialTimeout = 5 * time.Second

// linkAddr is a parsed modbus.url.
type linkAddr struct {
	// key names the bus or peer: devices with the same key share a link.
	key    string
	scheme string
	conf   modbus.ClientConfiguration
	host   string // host:port of tcp, rtuovertcp and tcp+tls
	serial bool   // RTU framing: stale answers possible after a timeout
}

// Serial defaults, set explicitly because the library's are 19200 8N2.
const (
	defaultBaud     = 9600
	defaultDataBits = 8
	defaultStopBits = 1
)

// parseLinkURL parses tcp://host:port, rtu:///dev/ttyX?baud=&parity=&
// stop_bits=&data_bits=, rtuovertcp://host:port?baud= and
// tcp+tls://host:port, whose CA and client key pair come from the query
// (ca_file=&cert_file=&key_file=) or else from tlsConf (modbus.tls).
func parseLinkURL(raw string, tlsConf *configs.TLS) (linkAddr, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return linkAddr{}, fmt.Errorf("modbus url %q: %w", raw, err)
	}
	q := u.Query()
	a := linkAddr{scheme: u.Scheme}
	allowed := map[string]bool{}
	switch u.Scheme {
	case "tcp", "rtuovertcp", "tcp+tls":
		host := u.Host
		if host == "" {
			return linkAddr{}, fmt.Errorf("modbus url %q: no host", raw)
		}
		if _, _, err := net.SplitHostPort(host); err != nil {
			host = net.JoinHostPort(strings.Trim(host, "[]"), "502")
		}
		a.key, a.host = u.Scheme+"://"+host, host
		a.conf.URL = a.key
		if u.Scheme == "rtuovertcp" {
			a.serial = true
			allowed["baud"] = true
			a.conf.Speed = defaultBaud
		}
		if u.Scheme == "tcp+tls" {
			allowed["ca_file"], allowed["cert_file"], allowed["key_file"] = true, true, true
		}
	case "rtu":
		if u.Path == "" {
			return linkAddr{}, fmt.Errorf("modbus url %q: no serial device (want rtu:///dev/ttyUSB0?baud=9600)", raw)
		}
		a.key = "rtu://" + u.Path
		a.conf.URL = a.key
		a.serial = true
		for _, k := range []string{"baud", "parity", "stop_bits", "data_bits"} {
			allowed[k] = true
		}
		a.conf.Speed, a.conf.DataBits, a.conf.StopBits = defaultBaud, defaultDataBits, defaultStopBits
		a.conf.Parity = modbus.PARITY_NONE
	default:
		return linkAddr{}, fmt.Errorf("modbus url %q: scheme must be tcp, rtu, rtuovertcp or tcp+tls", raw)
	}
	for k := range q {
		if !allowed[k] {
			return linkAddr{}, fmt.Errorf("modbus url %q: unknown parameter %q", raw, k)
		}
	}
	num := func(k string, dst *uint, ok func(uint) bool) error {
		s := q.Get(k)
		if s == "" {
			return nil
		}
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil || !ok(uint(n)) {
			return fmt.Errorf("modbus url %q: bad %s %q", raw, k, s)
		}
		*dst = uint(n)
		return nil
	}
	if err := num("baud", &a.conf.Speed, func(n uint) bool { return n >= 300 && n <= 4000000 }); err != nil {
		return linkAddr{}, err
	}
	if err := num("data_bits", &a.conf.DataBits, func(n uint) bool { return n >= 5 && n <= 8 }); err != nil {
		return linkAddr{}, err
	}
	if err := num("stop_bits", &a.conf.StopBits, func(n uint) bool { return n == 1 || n == 2 }); err != nil {
		return linkAddr{}, err
	}
	switch strings.ToUpper(q.Get("parity")) {
	case "", "N", "NONE":
	case "E", "EVEN":
		a.conf.Parity = modbus.PARITY_EVEN
	case "O", "ODD":
		a.conf.Parity = modbus.PARITY_ODD
	default:
		return linkAddr{}, fmt.Errorf("modbus url %q: bad parity %q: want N, E or O", raw, q.Get("parity"))
	}
	if u.Scheme == "tcp+tls" {
		ca, cert, key := q.Get("ca_file"), q.Get("cert_file"), q.Get("key_file")
		if ca == "" && cert == "" && key == "" && tlsConf != nil {
			ca, cert, key = tlsConf.CAFile, tlsConf.CertFile, tlsConf.KeyFile
		}
		if err := loadTLS(&a.conf, ca, cert, key); err != nil {
			return linkAddr{}, fmt.Errorf("modbus url %q: %w", raw, err)
		}
	}
	return a, nil
}

// loadTLS reads the client key pair and CA that Modbus/TCP Security needs.
func loadTLS(conf *modbus.ClientConfiguration, caFile, certFile, keyFile string) error {
	if caFile == "" || certFile == "" || keyFile == "" {
		return fmt.Errorf("tcp+tls needs modbus.tls ca_file, cert_file and key_file")
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("client key pair: %w", err)
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return fmt.Errorf("ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return fmt.Errorf("ca_file %s: no PEM certificate", caFile)
	}
	conf.TLSClientCert, conf.TLSRootCAs = &pair, pool
	return nil
}

// quietTime is how long a serial link stays silent after a timeout before it
// is reopened, so that a late answer cannot be taken for the next one: the
// time of a longest frame (256 bytes of 11 bits), at least 50 ms.
func (a linkAddr) quietTime() time.Duration {
	if a.conf.Speed == 0 {
		return 50 * time.Millisecond
	}
	return max(50*time.Millisecond, time.Duration(256*11)*time.Second/time.Duration(a.conf.Speed))
}
