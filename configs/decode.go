package configs

import (
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxDecodeSteps bounds the work of one decode, so that a small file whose
// anchors and aliases multiply its size cannot hold the gateway. A config of
// 1,000 fully written devices takes about 20,000 steps.
const maxDecodeSteps = 100000

// decoder fills a Go value from a YAML node tree against the value's yaml
// tags. Unlike yaml.v3's own decoder, it reports every unknown key and every
// wrong type with its line and column, including inside values with a
// custom UnmarshalYAML, and remembers which node each field came from.
type decoder struct {
	p *problems
	// nodes maps a pointer to each decoded field (such as *Duration for
	// &dev.Poll) to the node it came from, for presence and positions.
	nodes  map[any]*yaml.Node
	fields map[reflect.Type]map[string]int
	steps  int
}

func newDecoder(p *problems) *decoder {
	return &decoder{p: p, nodes: map[any]*yaml.Node{}, fields: map[reflect.Type]map[string]int{}}
}

// node returns the node the first recorded pointer came from, or nil.
func (d *decoder) node(ptrs ...any) *yaml.Node {
	for _, ptr := range ptrs {
		if n := d.nodes[ptr]; n != nil {
			return n
		}
	}
	return nil
}

// present reports whether the field behind ptr was set to a non-null value.
func (d *decoder) present(ptr any) bool {
	n := d.nodes[ptr]
	return n != nil && !isNull(n)
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// budget counts one step and reports whether the decode may go on.
func (d *decoder) budget(n *yaml.Node) bool {
	d.steps++
	if d.steps == maxDecodeSteps {
		d.p.at(n, "document too large or too deeply aliased")
	}
	return d.steps < maxDecodeSteps
}

// exhausted reports whether the decode stopped at its budget, leaving a
// partial value not worth validating.
func (d *decoder) exhausted() bool { return d.steps >= maxDecodeSteps }

func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// decode sets v from n. path names the value in messages.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if n = resolve(n); n == nil || !d.budget(n) {
		return
	}
	if v.CanAddr() {
		d.nodes[v.Addr().Interface()] = n
		if v.Addr().Type().Implements(unmarshalerType) {
			if isNull(n) {
				return
			}
			if err := v.Addr().Interface().(yaml.Unmarshaler).UnmarshalYAML(n); err != nil {
				d.p.at(n, "%s: %v", path, err)
			}
			return
		}
	}
	if isNull(n) {
		v.SetZero()
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		elem := reflect.New(v.Type().Elem())
		d.decode(n, elem.Elem(), path)
		v.Set(elem)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.Slice:
		d.decodeSlice(n, v, path)
	default:
		d.decodeScalar(n, v, path)
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.p.at(n, "%s: want a mapping, got %s", orTop(path), describe(n))
		return
	}
	fields, ok := d.fields[v.Type()]
	if !ok {
		fields = yamlFields(v.Type())
		d.fields[v.Type()] = fields
	}
	for _, kv := range d.pairs(n, 0) {
		name := kv.key.Value
		i, ok := fields[name]
		if !ok && path == "" && strings.HasPrefix(name, "x-") {
			continue // an extension key at the top, a place for anchors
		}
		if !ok {
			d.p.at(kv.key, "unknown key %q%s%s", name, inPath(path), suggest(name, fields))
			continue
		}
		d.decode(kv.val, v.Field(i), join(path, name))
	}
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.p.at(n, "%s: want a mapping, got %s", orTop(path), describe(n))
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	for _, kv := range d.pairs(n, 0) {
		elem := reflect.New(v.Type().Elem()).Elem()
		d.decode(kv.val, elem, join(path, kv.key.Value))
		v.SetMapIndex(reflect.ValueOf(kv.key.Value).Convert(v.Type().Key()), elem)
	}
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.p.at(n, "%s: want a list, got %s", orTop(path), describe(n))
		return
	}
	// Allocated once, so the pointers recorded for the elements stay valid.
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	v.Set(s)
	for i, c := range n.Content {
		d.decode(c, v.Index(i), fmt.Sprintf("%s[%d]", path, i))
	}
}

func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, path string) {
	want := wantWord(v.Kind())
	if n.Kind != yaml.ScalarNode {
		d.p.at(n, "%s: want %s, got %s", path, want, describe(n))
		return
	}
	bad := func() { d.p.at(n, "%s: want %s, got %s", path, want, describe(n)) }
	switch v.Kind() {
	case reflect.String:
		v.SetString(n.Value)
	case reflect.Bool:
		var b bool
		if n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			bad()
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var i int64
		if n.ShortTag() != "!!int" || n.Decode(&i) != nil {
			bad()
			return
		}
		if v.OverflowInt(i) {
			d.p.at(n, "%s: %s is out of range", path, n.Value)
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		var i int64
		if n.ShortTag() != "!!int" || n.Decode(&i) != nil {
			bad()
			return
		}
		if i < 0 || v.OverflowUint(uint64(i)) {
			d.p.at(n, "%s: %s is out of range 0-%d", path, n.Value, uint64(1)<<(8*v.Type().Size())-1)
			return
		}
		v.SetUint(uint64(i))
	case reflect.Float32, reflect.Float64:
		var f float64
		if t := n.ShortTag(); (t != "!!float" && t != "!!int") || n.Decode(&f) != nil {
			bad()
			return
		}
		v.SetFloat(f)
	default:
		d.p.at(n, "%s: cannot decode into %s", path, v.Type())
	}
}

type keyValue struct{ key, val *yaml.Node }

// pairs lists a mapping's keys and values, with YAML merge keys (<<) expanded:
// explicit keys win over merged ones. A key given twice is a problem.
func (d *decoder) pairs(n *yaml.Node, depth int) []keyValue {
	var merged, own []keyValue
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merged = append(merged, d.mergePairs(val, depth)...)
			continue
		}
		if k = resolve(k); k == nil || k.Kind != yaml.ScalarNode {
			d.p.at(n.Content[i], "want a plain key, got %s", describe(n.Content[i]))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.p.at(k, "key %q given twice (first at %s)", k.Value, lineCol(first))
			continue
		}
		seen[k.Value] = k
		own = append(own, keyValue{k, val})
	}
	out := own
	for _, kv := range merged {
		if _, ok := seen[kv.key.Value]; !ok {
			seen[kv.key.Value] = kv.key
			out = append(out, kv)
		}
	}
	return out
}

func (d *decoder) mergePairs(val *yaml.Node, depth int) []keyValue {
	val = resolve(val)
	if val == nil || depth > 8 || !d.budget(val) {
		d.p.at(val, "merge (<<) nested too deep")
		return nil
	}
	switch val.Kind {
	case yaml.MappingNode:
		return d.pairs(val, depth+1)
	case yaml.SequenceNode:
		var out []keyValue
		for _, c := range val.Content {
			if c = resolve(c); c != nil && c.Kind == yaml.MappingNode {
				out = append(out, d.pairs(c, depth+1)...)
			} else {
				d.p.at(c, "merge (<<) wants mappings")
			}
		}
		return out
	}
	d.p.at(val, "merge (<<) wants a mapping or a list of mappings, got %s", describe(val))
	return nil
}

// yamlFields maps each yaml key of a struct type to its field index.
func yamlFields(t reflect.Type) map[string]int {
	out := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = i
	}
	return out
}
