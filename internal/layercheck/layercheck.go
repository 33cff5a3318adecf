package layercheck

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// PurePackages are the layer-0 directories, relative to the module root.
var PurePackages = []string{"distinctions", "dag", "dag/dagtest", "lca", "crdt", "caps", "internal/query"}

// allowedThirdParty are the only non-standard imports layer 0 may use, besides the
// module's own pure packages.
var allowedThirdParty = []string{
	"github.com/fxamacker/cbor/v2",
	"github.com/google/btree",
	"github.com/ipfs/go-cid",
	"github.com/multiformats/go-multihash",
	"github.com/libp2p/go-libp2p/core/crypto",
	"github.com/libp2p/go-libp2p/core/peer",
}

// forbiddenStd are standard packages that touch the outside world.
var forbiddenStd = []string{"os", "net", "syscall", "plugin", "unsafe", "io/ioutil", "io/fs", "path/filepath", "crypto/rand", "math/rand", "math/rand/v2"}

// wallClock are the time functions that read the wall clock or wait on it.
var wallClock = []string{"Now", "Since", "Until", "Sleep", "After", "AfterFunc", "Tick", "NewTicker", "NewTimer"}

// Violation is one breach of the layer rule.
type Violation struct {
	Pos  token.Position
	What string
}

func (v Violation) String() string { return fmt.Sprintf("%s: %s", v.Pos, v.What) }

// CheckDir parses the non-test Go files of dir and returns every violation. module is
// the module path; testSupport relaxes the rule on seeded randomness (math/rand) for
// packages that exist only to help tests.
func CheckDir(dir, module string, testSupport bool) ([]Violation, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	var out []Violation
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		out = append(out, checkFile(fset, f, module, testSupport)...)
	}
	return out, nil
}

func checkFile(fset *token.FileSet, f *ast.File, module string, testSupport bool) []Violation {
	var out []Violation
	timeName := ""
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		if path == "time" {
			timeName = "time"
			if imp.Name != nil {
				timeName = imp.Name.Name
			}
		}
		if why := importProblem(path, module, testSupport); why != "" {
			out = append(out, Violation{fset.Position(imp.Pos()), fmt.Sprintf("imports %q: %s", path, why)})
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.GoStmt:
			out = append(out, Violation{fset.Position(x.Pos()), "starts a goroutine"})
		case *ast.SelectorExpr:
			if id, ok := x.X.(*ast.Ident); ok && timeName != "" && id.Name == timeName && slices.Contains(wallClock, x.Sel.Name) {
				out = append(out, Violation{fset.Position(x.Pos()), "reads or waits on the wall clock: time." + x.Sel.Name})
			}
		}
		return true
	})
	return out
}

func importProblem(path, module string, testSupport bool) string {
	first, _, _ := strings.Cut(path, "/")
	if !strings.Contains(first, ".") { // standard library
		if testSupport && strings.HasPrefix(path, "math/rand") {
			return ""
		}
		for _, bad := range forbiddenStd {
			if path == bad || strings.HasPrefix(path, bad+"/") {
				return "layer 0 does no IO"
			}
		}
		return ""
	}
	if strings.HasPrefix(path, module+"/") {
		rel := strings.TrimPrefix(path, module+"/")
		if slices.Contains(PurePackages, rel) || rel == "internal/dagshape" || rel == "internal/proptest" {
			return ""
		}
		return "layer 0 imports only layer 0"
	}
	if slices.Contains(allowedThirdParty, path) {
		return ""
	}
	return "not on layer 0's list of pure dependencies"
}
