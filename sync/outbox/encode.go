package outbox

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/jusha-ean/edge/events"
)

// appendEvent appends ev in the structured CloudEvents JSON that
// events.Event.MarshalJSON writes, byte for byte (encode_test.go checks
// it), with the sequence left as a placeholder whose offset it returns.
// It encodes the envelope without reflection: it runs once per event on the
// hot path, and only data goes through encoding/json.
func appendEvent(dst []byte, ev *events.Event) ([]byte, int, error) {
	var data []byte
	if len(ev.Data) > 0 {
		var err error
		if data, err = json.Marshal(ev.Data); err != nil {
			return nil, 0, err
		}
	}
	dst = append(dst, `{"specversion":`...)
	dst = appendString(dst, ev.SpecVersion)
	dst = append(dst, `,"id":`...)
	dst = appendString(dst, ev.ID)
	dst = append(dst, `,"source":`...)
	dst = appendString(dst, ev.Source)
	if ev.Subject != "" {
		dst = append(dst, `,"subject":`...)
		dst = appendString(dst, ev.Subject)
	}
	dst = append(dst, `,"type":`...)
	dst = appendString(dst, ev.Type)
	dst = append(dst, `,"datacontenttype":`...)
	dst = appendString(dst, ev.DataContentType)
	dst = append(dst, `,"sequence":"`...)
	at := len(dst)
	dst = append(dst, seqPlaceholder...)
	dst = append(dst, `","severity":`...)
	dst = appendString(dst, string(ev.Severity))
	dst = append(dst, `,"route":`...)
	dst = appendString(dst, string(ev.Route))
	if ev.AlarmID != "" {
		dst = append(dst, `,"alarmid":`...)
		dst = appendString(dst, ev.AlarmID)
	}
	if ev.Phase != "" {
		dst = append(dst, `,"phase":`...)
		dst = appendString(dst, string(ev.Phase))
	}
	if data != nil {
		dst = append(dst, `,"data":`...)
		dst = append(dst, data...)
	}
	dst = append(dst, `,"time":"`...)
	dst = ev.Time.UTC().AppendFormat(dst, events.TimeFormat)
	dst = append(dst, `"}`...)
	return dst, at, nil
}

const hexDigits = "0123456789abcdef"

// appendString is encoding/json's string encoding with HTML escaping.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
