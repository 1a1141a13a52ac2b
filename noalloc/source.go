package noalloc

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
)

const (
	directiveNoalloc = "//zerogc:noalloc"
	directiveAllow   = "//zerogc:allow"
)

// srcFunc is a function declaration: where its body lies and what its
// compiled symbol is called once type arguments are removed.
type srcFunc struct {
	Pkg      string // import path
	Key      string // canonical symbol: "path.F", "path.(*T).M", "path.T.M"
	Name     string // "F", "(*T).M"
	At       pos
	EndLine  int
	NoAlloc  bool
	Generic  bool
	Bodyless bool // declared without a body: assembly or a linkname
	// Recv and Method name a method's receiver type and method; for a
	// function, Method is its name.
	Recv, Method string
	Star         bool
	// Constraints are the constraints of the type parameters, as source:
	// the function's own, or the receiver type's for a method.
	Constraints []string
}

// srcPkg is what the checker read from a package's Go files.
type srcPkg struct {
	funcs  []*srcFunc
	allows map[pos]string // line → reason of a //zerogc:allow that covers it
	// typeParams are the constraints of the generic types' parameters.
	typeParams map[string][]string
	errs       []string
}

// readPackage parses the Go files of p (comments included) and collects
// its functions and directives.
func readPackage(p *pkgInfo) *srcPkg {
	sp := &srcPkg{allows: map[pos]string{}, typeParams: map[string][]string{}}
	fset := token.NewFileSet()
	files := append(append([]string(nil), p.GoFiles...), p.CgoFiles...)
	for _, name := range files {
		path := filepath.Join(p.Dir, name)
		src, err := os.ReadFile(path)
		if err != nil {
			sp.errs = append(sp.errs, err.Error())
			continue
		}
		f, err := parser.ParseFile(fset, path, src, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			sp.errs = append(sp.errs, err.Error())
			continue
		}
		sp.readDirectives(fset, f, path, src)
		for _, d := range f.Decls {
			if gd, ok := d.(*ast.GenDecl); ok {
				for _, spec := range gd.Specs {
					if ts, ok := spec.(*ast.TypeSpec); ok && ts.TypeParams != nil {
						sp.typeParams[ts.Name.Name] = constraints(src, fset, ts.TypeParams)
					}
				}
				continue
			}
			fd, ok := d.(*ast.FuncDecl)
			if !ok {
				continue
			}
			sf := &srcFunc{
				At:       pos{File: path, Line: fset.Position(fd.Pos()).Line},
				EndLine:  fset.Position(fd.End()).Line,
				Bodyless: fd.Body == nil,
				Generic:  fd.Type.TypeParams != nil,
			}
			sf.Name = fd.Name.Name
			sf.Method = fd.Name.Name
			if fd.Type.TypeParams != nil {
				sf.Constraints = constraints(src, fset, fd.Type.TypeParams)
			}
			if fd.Recv != nil && len(fd.Recv.List) == 1 {
				recv, star, generic := recvName(fd.Recv.List[0].Type)
				sf.Generic = sf.Generic || generic
				sf.Recv, sf.Star = recv, star
				if star {
					sf.Name = "(*" + recv + ")." + fd.Name.Name
				} else {
					sf.Name = recv + "." + fd.Name.Name
				}
			}
			sf.Pkg = p.ImportPath
			sf.Key = p.ImportPath + "." + sf.Name
			if fd.Doc != nil {
				for _, c := range fd.Doc.List {
					if isDirective(c.Text, directiveNoalloc) {
						sf.NoAlloc = true
					}
				}
			}
			sp.funcs = append(sp.funcs, sf)
		}
	}
	return sp
}

// recvName returns the type name of a receiver, whether it is a pointer
// and whether the type is generic.
func recvName(e ast.Expr) (name string, star, generic bool) {
	if s, ok := e.(*ast.StarExpr); ok {
		e, star = s.X, true
	}
	switch t := e.(type) {
	case *ast.IndexExpr:
		e, generic = t.X, true
	case *ast.IndexListExpr:
		e, generic = t.X, true
	}
	if id, ok := e.(*ast.Ident); ok {
		return id.Name, star, generic
	}
	return "?", star, generic
}

// isDirective reports whether comment text is the directive d, alone or
// followed by a space and arguments.
func isDirective(text, d string) bool {
	rest, ok := strings.CutPrefix(text, d)
	return ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t')
}

// readDirectives records the //zerogc:allow comments of f, and reports
// misspelt or misplaced zerogc directives. An allow comment at the end of
// a line covers that line; one alone on its line covers the next line.
func (sp *srcPkg) readDirectives(fset *token.FileSet, f *ast.File, path string, src []byte) {
	docs := map[*ast.Comment]bool{}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Doc != nil {
			for _, c := range fd.Doc.List {
				docs[c] = true
			}
		}
	}
	for _, g := range f.Comments {
		for _, c := range g.List {
			if !strings.HasPrefix(c.Text, "//zerogc:") {
				continue
			}
			p := fset.Position(c.Pos())
			where := fmt.Sprintf("%s:%d", path, p.Line)
			switch {
			case isDirective(c.Text, directiveNoalloc):
				if !docs[c] {
					sp.errs = append(sp.errs, where+": //zerogc:noalloc belongs in the doc comment of a function (the comment lines right above func)")
				}
			case isDirective(c.Text, directiveAllow):
				reason := strings.TrimSpace(strings.TrimPrefix(c.Text, directiveAllow))
				if reason == "" {
					sp.errs = append(sp.errs, where+": //zerogc:allow needs a reason, such as //zerogc:allow cold error path")
					continue
				}
				line := p.Line
				if alone(src, p.Offset) {
					line++
				}
				sp.allows[pos{File: path, Line: line}] = reason
			default:
				sp.errs = append(sp.errs, where+": unknown directive "+strings.Fields(c.Text)[0]+" (zerogc knows //zerogc:noalloc and //zerogc:allow <reason>)")
			}
		}
	}
}

// alone reports whether only blanks precede offset on its line.
func alone(src []byte, offset int) bool {
	start := bytes.LastIndexByte(src[:offset], '\n') + 1
	return len(bytes.TrimSpace(src[start:offset])) == 0
}

// constraints returns the source text of the constraint of each type
// parameter in list.
func constraints(src []byte, fset *token.FileSet, list *ast.FieldList) []string {
	var cs []string
	for _, f := range list.List {
		text := string(src[fset.Position(f.Type.Pos()).Offset:fset.Position(f.Type.End()).Offset])
		for range max(len(f.Names), 1) {
			cs = append(cs, text)
		}
	}
	return cs
}
