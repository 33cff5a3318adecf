package layercheck

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/korup2p/korup2p"

func TestLayerZeroIsPure(t *testing.T) {
	root := filepath.Join("..", "..")
	checked := 0
	for _, pkg := range PurePackages {
		dir := filepath.Join(root, filepath.FromSlash(pkg))
		if _, err := os.Stat(dir); os.IsNotExist(err) {
			continue // a package not written yet
		}
		vs, err := CheckDir(dir, module, strings.HasSuffix(pkg, "test"))
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			t.Errorf("%s breaks layer 0: %s", pkg, v)
		}
		checked++
	}
	if checked < 4 {
		t.Fatalf("checked only %d layer-0 packages; the list or the paths are wrong", checked)
	}
}

// TestCheckerCatches proves the check can fail.
func TestCheckerCatches(t *testing.T) {
	src := `package p
import (
	"os"
	"net/http"
	clock "time"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/korup2p/korup2p/wal"
	_ "github.com/ipfs/go-cid"
	_ "math/rand"
)
func f() {
	go f()
	_ = clock.Now()
	_ = clock.Duration(1)
	_, _ = os.Getwd()
}`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range checkFile(fset, f, module, false) {
		got = append(got, v.What)
	}
	want := []string{`"os"`, `"net/http"`, `go-libp2p/core/host"`, `korup2p/wal"`, `"math/rand"`, "goroutine", "time.Now"}
	if len(got) != len(want) {
		t.Fatalf("found %d violations, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i, w := range want {
		if !strings.Contains(got[i], w) {
			t.Errorf("violation %d = %q, want one about %s", i, got[i], w)
		}
	}
}
