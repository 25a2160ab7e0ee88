package telemetry

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// tag is one InfluxDB tag. Tags with an empty value are left out of a line,
// since line protocol has no empty tag value.
type tag struct{ key, value string }

// appendTags appends ",k=v" for each tag with a value, in key order (the
// order InfluxDB stores them in, which saves it a sort).
func appendTags(b []byte, tags []tag) []byte {
	sorted := make([]tag, len(tags))
	copy(sorted, tags)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].key < sorted[j].key })
	for _, t := range sorted {
		if t.value == "" {
			continue
		}
		b = append(b, ',')
		b = appendEscaped(b, t.key, false)
		b = append(b, '=')
		// Line protocol is UTF-8; a value from a hand-edited file may not be.
		b = appendEscaped(b, strings.ToValidUTF8(t.value, "\uFFFD"), false)
	}
	return b
}

// appendEscaped escapes commas and spaces (and, outside measurement names,
// equals signs) as line protocol requires. Control characters (newlines,
// tabs, ...), which line protocol cannot carry, become spaces. A backslash becomes a slash: stores
// disagree on whether "\\" in a tag is one backslash or two, and a trailing
// one would escape the separator after it.
func appendEscaped(b []byte, s string, measurement bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case ',', ' ':
			b = append(b, '\\', c)
		case '=':
			if !measurement {
				b = append(b, '\\')
			}
			b = append(b, c)
		case '\\':
			b = append(b, '/')
		default:
			if c < 0x20 || c == 0x7f {
				b = append(b, '\\', ' ')
				continue
			}
			b = append(b, c)
		}
	}
	return b
}

// fieldWriter appends the field set of one line: it writes the separators
// and leaves out values line protocol cannot hold (NaN, infinities).
type fieldWriter struct {
	b []byte
	n int
}

func (f *fieldWriter) key(k string) {
	if f.n > 0 {
		f.b = append(f.b, ',')
	}
	f.n++
	f.b = appendEscaped(f.b, k, false)
	f.b = append(f.b, '=')
}

// float appends k=v as a float field.
func (f *fieldWriter) float(k string, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	f.key(k)
	f.b = appendFloat(f.b, v)
}

// floatIndexed appends k_i=v, the field of element i of an array point.
func (f *fieldWriter) floatIndexed(k string, i int, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	if f.n > 0 {
		f.b = append(f.b, ',')
	}
	f.n++
	f.b = appendEscaped(f.b, k, false)
	f.b = append(f.b, '_')
	f.b = strconv.AppendInt(f.b, int64(i), 10)
	f.b = append(f.b, '=')
	f.b = appendFloat(f.b, v)
}

// int appends k=vi as an integer field.
func (f *fieldWriter) int(k string, v int64) {
	f.key(k)
	f.b = strconv.AppendInt(f.b, v, 10)
	f.b = append(f.b, 'i')
}

// appendFloat writes plain decimals where they are short and exponent form
// for very large or small magnitudes; both are valid line protocol floats.
func appendFloat(b []byte, v float64) []byte {
	if a := math.Abs(v); a == 0 || (a >= 1e-6 && a < 1e15) {
		return strconv.AppendFloat(b, v, 'f', -1, 64)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// appendTimestamp appends " <unix ms>", the precision the writer declares.
func appendTimestamp(b []byte, t time.Time) []byte {
	b = append(b, ' ')
	return strconv.AppendInt(b, t.UnixMilli(), 10)
}
