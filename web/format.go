package web

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Redacted replaces the value of a credential point on the page and in the
// API: what a reader read is a rider's card number, QR code or PIN, and the
// gateway never shows or stores one in the clear.
const Redacted = "(hidden)"

// isSecretPoint reports whether a point carries a raw credential. The
// profiles name it "credential" (CONTRACT section 3); credential_seq is a
// counter and is shown.
func isSecretPoint(name string) bool {
	return name == "credential" || (strings.HasPrefix(name, "credential") && !strings.HasSuffix(name, "_seq"))
}

// RedactPoints returns points with every credential value replaced by
// Redacted; points itself is not changed.
func RedactPoints(points map[string]any) map[string]any {
	out := make(map[string]any, len(points))
	for k, v := range points {
		if isSecretPoint(k) {
			v = Redacted
		}
		out[k] = v
	}
	return out
}

func formatPoint(name string, v any) string {
	if isSecretPoint(name) {
		return Redacted
	}
	return formatValue(v)
}

// formatValue writes a point value for people: bools as on/off, integral
// numbers without a decimal point, others with at most 6 decimals, arrays
// of bools (floor_enable) as a row of dots.
func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case bool:
		if x {
			return "on"
		}
		return "off"
	case string:
		return x
	case float64:
		return formatFloat(x)
	case float32:
		return formatFloat(float64(x))
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case []bool:
		var b strings.Builder
		for _, on := range x {
			if on {
				b.WriteString("●")
			} else {
				b.WriteString("○")
			}
		}
		return b.String()
	case []any:
		allBool := len(x) > 0
		for _, e := range x {
			if _, ok := e.(bool); !ok {
				allBool = false
				break
			}
		}
		if allBool {
			bs := make([]bool, len(x))
			for i, e := range x {
				bs[i] = e.(bool)
			}
			return formatValue(bs)
		}
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = formatValue(e)
		}
		return strings.Join(parts, " ")
	case []float64:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = formatFloat(e)
		}
		return strings.Join(parts, " ")
	default:
		return fmt.Sprint(x)
	}
}

func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return strconv.FormatFloat(f, 'f', -1, 64)
	case f == math.Trunc(f) && math.Abs(f) < 1e15:
		return strconv.FormatInt(int64(f), 10)
	default:
		return strconv.FormatFloat(math.Round(f*1e6)/1e6, 'f', -1, 64)
	}
}

// ago writes how long before now t was, the way a person reads it.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "just now"
	case d < 10*time.Second:
		return fmt.Sprintf("%.1f s ago", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%d s ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	default:
		return fmt.Sprintf("%d days ago", int(d.Hours()/24))
	}
}

func millis(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	ms := float64(d.Microseconds()) / 1000
	if ms < 10 {
		return fmt.Sprintf("%.1f ms", ms)
	}
	return fmt.Sprintf("%.0f ms", ms)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%d B", n)
	}
}

// eventDetail picks what an installer needs from an event's data: the
// reason of a denial or an offline device, and the location.
func eventDetail(data map[string]any) string {
	var parts []string
	for _, k := range []string{"reason", "error", "location"} {
		if s, ok := data[k].(string); ok && s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " · ")
}
