package configs

import (
	"strings"
	"testing"
)

func TestCheckModbusURL(t *testing.T) {
	cases := []struct {
		url  string
		want string // "" for valid, else part of the error
	}{
		{"tcp://10.0.0.5:502", ""},
		{"tcp://10.0.0.5:502?baud=9600", "nothing more"},
		{"rtuovertcp://10.0.0.6:4001", ""},
		{"rtuovertcp://10.0.0.6:4001?baud=19200", ""},
		{"rtuovertcp://10.0.0.6:4001?baud=fast", `baud "fast"`},
		{"rtuovertcp://10.0.0.6:4001?parity=E", `unknown option "parity": want baud`},
		{"tcp+tls://10.0.0.7:802?ca_file=/etc/jusha-edge/ca.pem&cert_file=c.pem&key_file=k.pem", ""},
		{"tcp+tls://10.0.0.7:802?baud=9600", `unknown option "baud": want ca_file, cert_file, key_file`},
		{"rtu:///dev/ttyUSB0?baud=9600&parity=E&stop_bits=1&data_bits=8", ""},
		{"rtu:///dev/ttyUSB0?speed=9600", `unknown serial option "speed"`},
		{"rtu://installer:secret@/dev/ttyUSB0", "want rtu:///dev/DEVICE"},
	}
	for _, tc := range cases {
		_, err := checkModbusURL(tc.url)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v, want it accepted", tc.url, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one containing %q", tc.url, err, tc.want)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"tcp://10.0.0.5:502":                "tcp://10.0.0.5:502",
		"rtu://installer:secret@/dev/ttyS1": "rtu:///dev/ttyS1",
		"tcp://admin:pw@10.0.0.5:502":       "tcp://10.0.0.5:502",
		"::not a url":                       "::not a url",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
