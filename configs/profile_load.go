package configs

import (
	"embed"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
)

//go:embed profiles/door.yaml profiles/elevator.yaml profiles/gate.yaml
var builtinProfiles embed.FS

// BuiltinPrefix starts the reference of a profile shipped in the binary.
const BuiltinPrefix = "builtin/"

// Builtin returns a fresh copy of the built-in profile of a kind (door,
// elevator or gate), as documented in configs/profiles/KIND.yaml.
func Builtin(kind string) (*Profile, error) {
	switch kind {
	case KindDoor, KindElevator, KindGate:
	default:
		return nil, fmt.Errorf("no built-in profile %q: want builtin/door, builtin/elevator or builtin/gate", BuiltinPrefix+kind)
	}
	data, err := builtinProfiles.ReadFile("profiles/" + kind + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("built-in profile %s: %w", kind, err)
	}
	return ParseProfile(BuiltinPrefix+kind, data)
}

// LoadProfile loads a profile by its reference in a device's `profile` key:
// "builtin/KIND" for a built-in one, otherwise the path of a YAML file,
// relative to baseDir (the config file's directory) unless absolute.
// Problems in the file come back as an ErrorList with its positions.
func LoadProfile(ref, baseDir string) (*Profile, error) {
	if kind, ok := strings.CutPrefix(ref, BuiltinPrefix); ok {
		return Builtin(kind)
	}
	if ref == "" {
		return nil, fmt.Errorf("no profile named")
	}
	path := ref
	if !filepath.IsAbs(path) {
		path = filepath.Join(baseDir, ref)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("profile %q: %w", ref, err)
	}
	return ParseProfile(path, data)
}

// ParseProfile decodes and checks a profile. name is the file name used in
// error positions. On problems it returns nil and an ErrorList.
func ParseProfile(name string, data []byte) (*Profile, error) {
	p := newProblems(name)
	root := parseDocument(p, data)
	if root == nil {
		return nil, p.sorted()
	}
	d := newDecoder(p)
	var prof Profile
	d.decode(root, reflect.ValueOf(&prof).Elem(), "")
	if d.exhausted() {
		return nil, p.sorted()
	}
	prof.File = name
	for i := range prof.Points {
		pt := &prof.Points[i]
		if !d.present(&pt.Scale) {
			pt.Scale = 1
		}
	}
	checkProfile(p, d, &prof, root)
	if len(p.list) > 0 {
		return nil, p.sorted()
	}
	return &prof, nil
}
