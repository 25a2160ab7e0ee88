package drivers

import "github.com/jusha-ean/edge/configs"

// Plain returns the value as JSON shows it: a bool, a number (after scale
// and offset), a string, or a list of those for an array point.
func (v Value) Plain() any {
	if v.List != nil {
		out := make([]any, len(v.List))
		for i, e := range v.List {
			out[i] = e.Plain()
		}
		return out
	}
	switch v.Type {
	case configs.TypeBool:
		return v.Num != 0
	case configs.TypeString:
		return v.Str
	}
	return v.Num
}
