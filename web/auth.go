package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// ErrTokenRequired is returned by CheckListen, New and Run for an address
// beyond loopback when no token is configured.
var ErrTokenRequired = errors.New("http.token_file is required to listen beyond loopback")

// CheckListen applies the listening rule: a loopback address (127.0.0.0/8,
// ::1 or "localhost") is always allowed; any other address, including an
// unspecified one such as ":8080" or "0.0.0.0:8080", only with a token.
func CheckListen(addr string, hasToken bool) error {
	if addr == "" {
		return errors.New("web: http.listen is empty")
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("web: http.listen %q: %w", addr, err)
	}
	if IsLoopback(host) || hasToken {
		return nil
	}
	return fmt.Errorf("web: http.listen %q is not a loopback address: %w", addr, ErrTokenRequired)
}

// IsLoopback reports whether host (an IP or a name, without port) only
// reaches this machine. Other names count as not loopback, since they may
// resolve to anything.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// TokenOK reports whether the request carries token, as
// "Authorization: Bearer TOKEN" or, so that a browser can log in with its
// own prompt, as the password of HTTP Basic authentication (any user name).
// An empty token never matches. The comparison takes constant time.
func TokenOK(r *http.Request, token string) bool {
	if token == "" {
		return false
	}
	var got string
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		got = strings.TrimSpace(h[7:])
	} else if _, pw, ok := r.BasicAuth(); ok {
		got = pw
	} else {
		return false
	}
	// Hash both sides so the comparison takes the same time whatever the
	// lengths.
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// requireToken guards the read-only pages when the server listens beyond
// loopback: they then carry live device state that only the token holder
// should see.
func (s *Server) requireToken(next http.Handler) http.Handler {
	host, _, _ := net.SplitHostPort(s.opts.Config.HTTP.Listen)
	if IsLoopback(host) {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !TokenOK(r, s.opts.Token) {
			w.Header().Set("WWW-Authenticate", `Basic realm="jusha-edge", charset="UTF-8"`)
			http.Error(w, "token required", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}
