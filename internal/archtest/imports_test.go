package archtest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/rct-trials/rct/"

// allowed lists, for each package of the project, the project packages its
// non-test files may import. A package missing here fails the test: a new
// package states its place in the house.
var allowed = map[string][]string{
	"analysis":           {},
	"randomize":          {"internal/chacha8"},
	"ident":              {},
	"internal/dataerr":   {},
	"internal/iostreams": {},
	"internal/progress":  {},
	"internal/archtest":  {},
	"internal/lazyre":    {},
	"internal/chacha8":   {},
	"internal/hugeheap":  {},
	"internal/sheet":     {"internal/dataerr", "internal/lazyre"},
	"trial":              {"internal/dataerr", "internal/files", "internal/sheet", "internal/progress", "internal/lazyre", "ident", "randomize"},
	"internal/files":     {},
	"survey":             {"trial", "internal/dataerr", "internal/sheet", "internal/progress", "internal/lazyre", "ident"},
	"linkage":            {"trial", "internal/dataerr", "internal/sheet", "internal/progress", "ident"},
	"plan":               {"analysis", "randomize", "trial", "survey", "linkage", "internal/sheet", "internal/progress"},
	"reports":            {"analysis", "plan", "internal/files", "internal/sheet"},
	"simulate":           {"trial", "survey", "ident", "randomize", "internal/sheet", "internal/dataerr", "internal/progress"},
	"frame":              {"analysis", "internal/dataerr", "internal/sheet", "internal/progress"},
	"internal/passwords": {},
	"internal/trialtest": {"trial", "internal/sheet"}, // imported by tests only
	"serve":              {"trial", "survey", "plan", "reports", "internal/passwords", "internal/sheet", "internal/dataerr", "internal/files"},
	"cmd/rct":            {"*"},
}

// sources calls fn for every non-test Go file of the module (path
// relative to the module's root), outside testdata and hidden folders.
func sources(t *testing.T, fn func(rel, path string) error) {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatal("not the module root")
	}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == "testdata" || strings.HasPrefix(n, ".") && path != root {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		return fn(filepath.ToSlash(rel), path)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestImportBoundaries(t *testing.T) {
	imports := map[string]map[string]string{} // package → imported project package → file
	sources(t, func(rel, path string) error {
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(filepath.Dir(rel))
		if imports[pkg] == nil {
			imports[pkg] = map[string]string{}
		}
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			if strings.HasPrefix(p, module) {
				imports[pkg][strings.TrimPrefix(p, module)] = filepath.Base(path)
			}
		}
		return nil
	})
	if len(imports) < 5 {
		t.Fatalf("found only %d packages", len(imports))
	}
	for pkg, ims := range imports {
		ok, known := allowed[pkg]
		if !known {
			t.Errorf("package %s is not placed in the house: add it to allowed in %s", pkg, "internal/archtest/imports_test.go")
			continue
		}
		if len(ok) == 1 && ok[0] == "*" {
			continue
		}
		for im, file := range ims {
			if !contains(ok, im) {
				t.Errorf("%s/%s imports %s, which it may not (allowed: %v)", pkg, file, im, ok)
			}
		}
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
