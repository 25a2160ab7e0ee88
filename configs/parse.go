package configs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// parseDocument parses data as exactly one YAML document and returns its
// root node. Syntax errors, an empty file and a second document are problems.
func parseDocument(p *problems, data []byte) (root *yaml.Node) {
	defer func() {
		// The YAML parser is outside input's first reader: whatever it does,
		// the gateway reports a problem rather than crash.
		if r := recover(); r != nil {
			p.atPos(1, 1, fmt.Sprintf("cannot parse YAML: %v", r))
			root = nil
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.atPos(1, 1, "empty file: want a YAML mapping")
			return nil
		}
		line, msg := yamlErrorLine(err)
		p.atPos(locateSyntaxError(data, err, line), 1, msg)
		return nil
	}
	if len(doc.Content) == 0 {
		p.atPos(1, 1, "empty file: want a YAML mapping")
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		p.atPos(next.Line, next.Column, "a second YAML document (---): want one document per file")
		return nil
	case !errors.Is(err, io.EOF):
		line, msg := yamlErrorLine(err)
		p.atPos(line, 1, msg)
		return nil
	}
	root = doc.Content[0]
	if root.Kind != yaml.MappingNode {
		p.at(root, "want a YAML mapping at the top, got %s", describe(root))
		return nil
	}
	return root
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// maxLocateBytes bounds the files whose syntax errors are located line by
// line (quadratic work).
const maxLocateBytes = 64 << 10

// locateSyntaxError finds the line of a syntax error. yaml.v3 reports the
// line where the enclosing block starts rather than the faulty line, so
// parse ever longer prefixes of the file: the first prefix that fails with
// the same problem ends at the faulty line. Otherwise keep yaml's line.
func locateSyntaxError(data []byte, err error, line int) int {
	if len(data) > maxLocateBytes {
		return line
	}
	_, want := yamlErrorLine(err)
	end := 0
	for n := 1; end < len(data); n++ {
		next := bytes.IndexByte(data[end:], '\n')
		if next < 0 {
			end = len(data)
		} else {
			end += next + 1
		}
		var doc yaml.Node
		if perr := yaml.Unmarshal(data[:end], &doc); perr != nil {
			if _, msg := yamlErrorLine(perr); msg == want {
				return n
			}
		}
	}
	return line
}

// yamlErrorLine splits "yaml: line 3: msg" into 3 and "msg". yaml.v3 does
// not report the column of a syntax error.
func yamlErrorLine(err error) (int, string) {
	s := err.Error()
	if m := yamlLineRE.FindStringSubmatch(s); m != nil {
		if n, convErr := strconv.Atoi(m[1]); convErr == nil && n > 0 {
			return n, "bad YAML: " + m[2]
		}
	}
	return 1, "bad YAML: " + strings.TrimPrefix(s, "yaml: ")
}

func describe(n *yaml.Node) string {
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!bool":
			return "boolean " + n.Value
		case "!!int":
			return "integer " + n.Value
		case "!!float":
			return "number " + n.Value
		}
		return strconv.Quote(n.Value)
	}
	return "an alias"
}

func wantWord(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number >= 0"
	default:
		return "a whole number"
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orTop(path string) string {
	if path == "" {
		return "top level"
	}
	return path
}

func inPath(path string) string {
	if path == "" {
		return ""
	}
	return " in " + path
}
