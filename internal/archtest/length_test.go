package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// maxLines is the longest a function (or function literal) of the
// project's non-test code may be: longer ones are to be broken into named
// steps. Generated or table-driven code may be listed in longAllowed.
const maxLines = 150

// longAllowed lists functions (file:name) that may be longer, with why.
var longAllowed = map[string]string{}

func TestFunctionLength(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
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
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		ast.Inspect(f, func(n ast.Node) bool {
			var body *ast.BlockStmt
			name := "a function literal"
			switch x := n.(type) {
			case *ast.FuncDecl:
				body, name = x.Body, x.Name.Name
			case *ast.FuncLit:
				body = x.Body
			}
			if body == nil {
				return true
			}
			checked++
			start := fset.Position(n.Pos()).Line
			lines := fset.Position(body.Rbrace).Line - start + 1
			if _, ok := longAllowed[filepath.ToSlash(rel)+":"+name]; !ok && lines > maxLines {
				t.Errorf("%s:%d: %s is %d lines (at most %d): break it into named steps", rel, start, name, lines, maxLines)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 100 {
		t.Fatalf("checked only %d functions under %s", checked, root)
	}
}
