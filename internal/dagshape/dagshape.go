package dagshape

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"github.com/korup2p/korup2p/lca"
)

// Graph is a DAG of named nodes. The zero value is an empty graph ready for
// Add.
type Graph struct {
	byName map[string]cid.Cid
	nodes  map[cid.Cid]*node
	order  []cid.Cid // in the order added, so parents before children
}

type node struct {
	name    string
	parents []cid.Cid // sorted by CID bytes
	height  uint64
}

var _ lca.Graph = (*Graph)(nil)

// NameCID returns the CID that every graph gives the node named name.
func NameCID(name string) cid.Cid {
	h, err := multihash.Sum([]byte(name), multihash.SHA2_256, -1)
	if err != nil {
		panic(err) // sha2-256 is always available
	}
	return cid.NewCidV1(cid.DagCBOR, h)
}

// Add adds the node name with the given parents and returns its CID. A
// parent listed twice counts once.
//
// Add is for building graphs in tests, where a mistake is a bug in the test,
// so it panics if name is not a valid name or is already in the graph, or if
// a parent is not in the graph yet.
func (g *Graph) Add(name string, parents ...string) cid.Cid {
	if !validName(name) {
		panic(fmt.Sprintf("dagshape: Add(%q): not a name", name))
	}
	if _, ok := g.byName[name]; ok {
		panic(fmt.Sprintf("dagshape: Add(%q): already in the graph", name))
	}
	n := &node{name: name}
	for _, p := range parents {
		pc, ok := g.byName[p]
		if !ok {
			panic(fmt.Sprintf("dagshape: Add(%q): parent %q not in the graph", name, p))
		}
		n.parents = append(n.parents, pc)
		n.height = max(n.height, g.nodes[pc].height+1)
	}
	slices.SortFunc(n.parents, compareCIDs)
	n.parents = slices.Compact(n.parents)
	if g.nodes == nil {
		g.byName = make(map[string]cid.Cid)
		g.nodes = make(map[cid.Cid]*node)
	}
	c := NameCID(name)
	g.byName[name] = c
	g.nodes[c] = n
	g.order = append(g.order, c)
	return c
}

// CID returns the CID of the node name. It panics if the graph has no such
// node, which in a test is a typo.
func (g *Graph) CID(name string) cid.Cid {
	c, ok := g.byName[name]
	if !ok {
		panic(fmt.Sprintf("dagshape: no node %q", name))
	}
	return c
}

// CIDs returns the CIDs of the named nodes, in order. Like CID, it panics on
// a name not in the graph.
func (g *Graph) CIDs(names ...string) []cid.Cid {
	cs := make([]cid.Cid, len(names))
	for i, name := range names {
		cs[i] = g.CID(name)
	}
	return cs
}

// Name returns the name of the node c, or "?" followed by the CID for a CID
// not in the graph (never a valid name).
func (g *Graph) Name(c cid.Cid) string {
	if n, ok := g.nodes[c]; ok {
		return n.name
	}
	return "?" + c.String()
}

// Names returns the names of cs, as Name gives them, sorted.
func (g *Graph) Names(cs []cid.Cid) []string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = g.Name(c)
	}
	slices.Sort(names)
	return names
}

// Parents returns a new slice of the parents of c, sorted by CID bytes, or
// lca.ErrNotFound if c is not in the graph.
func (g *Graph) Parents(c cid.Cid) ([]cid.Cid, error) {
	n, ok := g.nodes[c]
	if !ok {
		return nil, lca.ErrNotFound
	}
	return slices.Clone(n.parents), nil
}

// Height returns the height of c: 0 for a root, else 1 + the greatest parent
// height. It returns lca.ErrNotFound if c is not in the graph.
func (g *Graph) Height(c cid.Cid) (uint64, error) {
	n, ok := g.nodes[c]
	if !ok {
		return 0, lca.ErrNotFound
	}
	return n.height, nil
}

// String returns the graph as a shape that Parse accepts: one statement per
// node in the order added, "P,Q -> N" for a node with parents (named in
// sorted order) and "N" for a root that has no children.
func (g *Graph) String() string {
	hasChild := make(map[cid.Cid]bool)
	for _, n := range g.nodes {
		for _, p := range n.parents {
			hasChild[p] = true
		}
	}
	var stmts []string
	for _, c := range g.order {
		n := g.nodes[c]
		switch {
		case len(n.parents) > 0:
			stmts = append(stmts, strings.Join(g.Names(n.parents), ",")+" -> "+n.name)
		case !hasChild[c]:
			stmts = append(stmts, n.name)
		}
	}
	return strings.Join(stmts, "; ")
}

// MustParse is like Parse but panics on error. It is for shapes written in
// tests.
func MustParse(s string) *Graph {
	g, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return g
}

// Parse builds the graph that the shape s describes; the package
// documentation gives the grammar. Nodes are added parents first, otherwise
// in the order they are first mentioned.
func Parse(s string) (*Graph, error) {
	toks, err := lex(s)
	if err != nil {
		return nil, fmt.Errorf("dagshape: parse %q: %w", s, err)
	}
	p := parser{toks: toks, parents: make(map[string][]string)}
	if err := p.shape(); err != nil {
		return nil, fmt.Errorf("dagshape: parse %q: %w", s, err)
	}
	order, err := p.sort()
	if err != nil {
		return nil, fmt.Errorf("dagshape: parse %q: %w", s, err)
	}
	g := &Graph{}
	for _, name := range order {
		g.Add(name, p.parents[name]...)
	}
	return g, nil
}

type kind int

const (
	end kind = iota
	name
	arrow
	comma
	semi
)

type token struct {
	kind kind
	text string
	col  int // 1-based byte offset in the shape
}

func (t token) String() string {
	if t.kind == end {
		return "end of input"
	}
	return fmt.Sprintf("%q", t.text)
}

func lex(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case isNameByte(c):
			j := i
			for j < len(s) && isNameByte(s[j]) {
				j++
			}
			toks = append(toks, token{name, s[i:j], i + 1})
			i = j
		case strings.HasPrefix(s[i:], "->"):
			toks = append(toks, token{arrow, "->", i + 1})
			i += 2
		case c == ',':
			toks = append(toks, token{comma, ",", i + 1})
			i++
		case c == ';':
			toks = append(toks, token{semi, ";", i + 1})
			i++
		default:
			r, _ := utf8.DecodeRuneInString(s[i:])
			return nil, fmt.Errorf("col %d: unexpected %q", i+1, r)
		}
	}
	return append(toks, token{kind: end, col: len(s) + 1}), nil
}

func isNameByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i]) {
			return false
		}
	}
	return true
}

type parser struct {
	toks    []token
	pos     int
	names   []string            // in order of first mention
	parents map[string][]string // by child; a key for every name
}

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != end {
		p.pos++
	}
	return t
}

func (p *parser) peek() kind { return p.toks[p.pos].kind }

// shape = [chain] { ";" [chain] }
func (p *parser) shape() error {
	for {
		if k := p.peek(); k != semi && k != end {
			if err := p.chain(); err != nil {
				return err
			}
		}
		switch t := p.next(); t.kind {
		case end:
			return nil
		case semi:
		default:
			return fmt.Errorf("col %d: expected \"->\", \",\" or \";\", found %s", t.col, t)
		}
	}
}

// chain = group { "->" group }
func (p *parser) chain() error {
	prev, err := p.group()
	if err != nil {
		return err
	}
	for p.peek() == arrow {
		p.next()
		group, err := p.group()
		if err != nil {
			return err
		}
		for _, child := range group {
			p.parents[child] = append(p.parents[child], prev...)
		}
		prev = group
	}
	return nil
}

// group = name { "," name }
func (p *parser) group() ([]string, error) {
	var group []string
	for {
		t := p.next()
		if t.kind != name {
			return nil, fmt.Errorf("col %d: expected a name, found %s", t.col, t)
		}
		if _, ok := p.parents[t.text]; !ok {
			p.parents[t.text] = nil
			p.names = append(p.names, t.text)
		}
		group = append(group, t.text)
		if p.peek() != comma {
			return group, nil
		}
		p.next()
	}
}

// sort returns the names with every node after its parents, or an error
// naming a cycle.
func (p *parser) sort() ([]string, error) {
	const (
		unvisited = iota
		visiting
		done
	)
	state := make(map[string]int, len(p.names))
	order := make([]string, 0, len(p.names))
	var path []string // the nodes being visited, each a child of the one before
	var visit func(n string) error
	visit = func(n string) error {
		state[n] = visiting
		path = append(path, n)
		for _, parent := range p.parents[n] {
			switch state[parent] {
			case visiting:
				// path[i] is parent, and each node on path is a child of the
				// next, so the cycle reads parent -> n -> ... -> parent.
				i := slices.Index(path, parent)
				cycle := []string{parent}
				for j := len(path) - 1; j >= i; j-- {
					cycle = append(cycle, path[j])
				}
				return fmt.Errorf("cycle %s", strings.Join(cycle, " -> "))
			case unvisited:
				if err := visit(parent); err != nil {
					return err
				}
			}
		}
		path = path[:len(path)-1]
		state[n] = done
		order = append(order, n)
		return nil
	}
	for _, n := range p.names {
		if state[n] == unvisited {
			if err := visit(n); err != nil {
				return nil, err
			}
		}
	}
	return order, nil
}

func compareCIDs(a, b cid.Cid) int {
	return strings.Compare(a.KeyString(), b.KeyString())
}
