package configs

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// checkHostPort checks "host:port" with a port 1-65535 (0 too if zeroOK).
func checkHostPort(hp string, zeroOK bool) error {
	host, port, err := net.SplitHostPort(hp)
	if err != nil {
		return fmt.Errorf("want host:port, got %q", hp)
	}
	if strings.ContainsAny(host, " /") {
		return fmt.Errorf("bad host %q", host)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 || (n == 0 && !zeroOK) {
		return fmt.Errorf("bad port %q: want 1-65535", port)
	}
	return nil
}

// checkModbusURL checks a device's modbus.url: tcp://, tcp+tls:// and
// rtuovertcp:// with host:port, or rtu:///dev/PATH with serial options.
func checkModbusURL(raw string) (scheme string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("not a URL: %v", unwrapURLError(err))
	}
	switch u.Scheme {
	case "tcp", "tcp+tls", "rtuovertcp":
		if u.Host == "" {
			return u.Scheme, fmt.Errorf("want %s://HOST:PORT", u.Scheme)
		}
		if err := checkHostPort(u.Host, false); err != nil {
			return u.Scheme, err
		}
		if (u.Path != "" && u.Path != "/") || u.User != nil || u.Fragment != "" {
			return u.Scheme, fmt.Errorf("want %s://HOST:PORT and nothing more", u.Scheme)
		}
		if err := checkTCPOptions(u.Scheme, u.Query()); err != nil {
			return u.Scheme, err
		}
	case "rtu":
		if u.Host != "" || u.User != nil || u.Path == "" || u.Path == "/" {
			return u.Scheme, fmt.Errorf("want rtu:///dev/DEVICE (three slashes: the device path), optionally ?baud=9600&parity=N")
		}
		if err := checkSerialOptions(u.Query()); err != nil {
			return u.Scheme, err
		}
	case "":
		return "", fmt.Errorf("no scheme: want tcp://HOST:PORT or rtu:///dev/DEVICE")
	default:
		return u.Scheme, fmt.Errorf("scheme %q: want tcp, tcp+tls, rtuovertcp or rtu", u.Scheme)
	}
	return u.Scheme, nil
}

// checkTCPOptions checks the query of a URL with a host: rtuovertcp://
// takes the baud rate of the serial line behind the gateway (it sets how
// long the link stays quiet after a timeout), tcp+tls:// the files of its
// CA and client key pair (else modbus.tls gives them), tcp:// nothing.
func checkTCPOptions(scheme string, q url.Values) error {
	allowed := map[string][]string{"rtuovertcp": {"baud"}, "tcp+tls": {"ca_file", "cert_file", "key_file"}}[scheme]
	for key, vals := range q {
		if !slices.Contains(allowed, key) {
			if len(allowed) == 0 {
				return fmt.Errorf("want %s://HOST:PORT and nothing more", scheme)
			}
			return fmt.Errorf("unknown option %q: want %s", key, strings.Join(allowed, ", "))
		}
		if key == "baud" {
			if err := checkSerialOptions(url.Values{key: vals}); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkSerialOptions checks the query of an rtu:// URL: baud, parity
// (N, E or O), data_bits (5-8) and stop_bits (1 or 2).
func checkSerialOptions(q url.Values) error {
	for key, vals := range q {
		v := vals[len(vals)-1]
		switch key {
		case "baud":
			if n, err := strconv.Atoi(v); err != nil || n < 50 || n > 4000000 {
				return fmt.Errorf("baud %q: want a rate such as 9600", v)
			}
		case "parity":
			switch strings.ToUpper(v) {
			case "N", "E", "O":
			default:
				return fmt.Errorf("parity %q: want N, E or O", v)
			}
		case "data_bits":
			if n, err := strconv.Atoi(v); err != nil || n < 5 || n > 8 {
				return fmt.Errorf("data_bits %q: want 5-8", v)
			}
		case "stop_bits":
			if v != "1" && v != "2" {
				return fmt.Errorf("stop_bits %q: want 1 or 2", v)
			}
		default:
			return fmt.Errorf("unknown serial option %q: want baud, parity, data_bits or stop_bits", key)
		}
	}
	return nil
}

// checkBrokerURL checks one upstream.broker URL.
func checkBrokerURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("not a URL: %v", unwrapURLError(err))
	}
	switch u.Scheme {
	case "tcp", "mqtt", "tls", "ssl", "mqtts":
		if u.Host == "" {
			return fmt.Errorf("want %s://HOST:PORT", u.Scheme)
		}
		if err := checkHostPort(u.Host, false); err != nil {
			return err
		}
		if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return fmt.Errorf("want %s://HOST:PORT and nothing more", u.Scheme)
		}
	case "ws", "wss":
		if u.Hostname() == "" {
			return fmt.Errorf("want %s://HOST[:PORT]/PATH", u.Scheme)
		}
		if u.Port() != "" {
			if err := checkHostPort(u.Host, false); err != nil {
				return err
			}
		}
	case "":
		return fmt.Errorf("no scheme: want tcp://HOST:PORT or tls://HOST:PORT")
	default:
		return fmt.Errorf("scheme %q: want tcp, tls, ssl, mqtt, mqtts, ws or wss", u.Scheme)
	}
	return nil
}

// checkHTTPURL checks an http:// or https:// base URL.
func checkHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("not a URL: %v", unwrapURLError(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("want http:// or https://, got %q", raw)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("want %s://HOST:PORT", u.Scheme)
	}
	if u.Port() != "" {
		if err := checkHostPort(u.Host, false); err != nil {
			return err
		}
	}
	return nil
}

// unwrapURLError drops url.Error's "parse URL:" wrapper, which repeats
// the URL the message already shows.
func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// usesTLS reports whether a broker URL's scheme means TLS.
func usesTLS(raw string) bool {
	scheme, _, _ := strings.Cut(raw, "://")
	switch scheme {
	case "tls", "ssl", "mqtts", "wss":
		return true
	}
	return false
}

// RedactURL is raw without its user info (user:password@), for logs, the
// status page and probe's table; raw as it is when it has none or does not
// parse.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}
