package configs

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is one problem in a config or profile file, at the line and column
// (both one-based) of the YAML node at fault.
type Error struct {
	File string
	Line int
	Col  int
	Msg  string
}

// Error formats the problem as FILE:LINE:COL: message, the form editors and
// `edge validate` understand. A problem with no position (a config built in
// code) is FILE: message.
func (e Error) Error() string {
	file := e.File
	if file == "" {
		file = "<config>"
	}
	if e.Line <= 0 {
		return file + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d:%d: %s", file, e.Line, e.Col, e.Msg)
}

// ErrorList is every problem found in one load, in the order of the files
// (the config first, then profiles as devices name them) and by position in
// each file. Load returns it as its error; use errors.As to get it back.
type ErrorList []Error

// Error is one line per problem.
func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Err returns nil for an empty list and the list otherwise, so that a nil
// ErrorList never ends up in a non-nil error interface.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// problems collects the errors of one file. A value that failed to decode is
// not reported again when validation finds it zero or empty.
type problems struct {
	file   string
	list   ErrorList
	failed map[*yaml.Node]bool
}

func newProblems(file string) *problems {
	return &problems{file: file, failed: map[*yaml.Node]bool{}}
}

// at records a problem found while decoding node n; a nil n has no position.
func (p *problems) at(n *yaml.Node, format string, args ...any) {
	if n != nil {
		p.failed[n] = true
	}
	p.add(n, fmt.Sprintf(format, args...))
}

// check records a problem found by validation at node n, unless decoding n
// already failed.
func (p *problems) check(n *yaml.Node, format string, args ...any) {
	if n != nil && p.failed[n] {
		return
	}
	p.add(n, fmt.Sprintf(format, args...))
}

func (p *problems) add(n *yaml.Node, msg string) {
	line, col := 0, 0
	if n != nil {
		line, col = n.Line, n.Column
	}
	p.atPos(line, col, msg)
}

func (p *problems) atPos(line, col int, msg string) {
	e := Error{File: p.file, Line: line, Col: col, Msg: msg}
	if !slices.Contains(p.list, e) {
		p.list = append(p.list, e)
	}
}

// sorted returns the problems by position.
func (p *problems) sorted() ErrorList {
	out := slices.Clone(p.list)
	slices.SortStableFunc(out, func(a, b Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	return out
}

// suggest returns ` (did you mean "x"?)` for the known key closest to an
// unknown one, if it is within two edits (fewer for short keys), and ""
// otherwise.
func suggest(name string, known map[string]int) string {
	best, bestDist := "", min(2, (len(name)+1)/3)+1
	for k := range known {
		if d := editDistance(name, k); d < bestDist || (d == bestDist && best != "" && k < best) {
			best, bestDist = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between two short strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// lineCol formats a node's position as LINE:COL.
func lineCol(n *yaml.Node) string {
	if n == nil {
		return "?"
	}
	return fmt.Sprintf("%d:%d", n.Line, n.Column)
}
