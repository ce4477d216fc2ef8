package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"testing"
)

// maxLines is the longest a function (or function literal) of the
// project's non-test code may be: longer ones are to be broken into named
// steps. Generated or table-driven code may be listed in longAllowed.
const maxLines = 150

// longAllowed lists functions (file:name) that may be longer, with why.
var longAllowed = map[string]string{}

func TestFunctionLength(t *testing.T) {
	checked := 0
	sources(t, func(rel, path string) error {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
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
			if _, ok := longAllowed[rel+":"+name]; !ok && lines > maxLines {
				t.Errorf("%s:%d: %s is %d lines (at most %d): break it into named steps", rel, start, name, lines, maxLines)
			}
			return true
		})
		return nil
	})
	if checked < 100 {
		t.Fatalf("checked only %d functions", checked)
	}
}
