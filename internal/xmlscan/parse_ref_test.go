package xmlscan

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"

	"github.com/beevik/etree"
)

// refParse is the parser this package had before it got its own tokenizer,
// built on encoding/xml; it stays as the reference the fuzz test compares
// Parse with. It reads a whole document and returns it with the number of elements
// it holds. Leading UTF-8 byte order mark and an XML declaration (UTF-8
// only) are accepted; exactly one root element must follow, with only white
// space and comments around it.
func refParse(data []byte, lim Limits) (*etree.Document, int, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	doc := etree.NewDocument()
	p := parser{lim: lim, scope: newScope(nil)}
	if err := p.run(data, &doc.Element, true); err != nil {
		return nil, 0, err
	}
	if doc.Root() == nil {
		return nil, 0, syntaxf("no root element")
	}
	return doc, p.elements, nil
}

type parser struct {
	lim      Limits
	scope    *scope
	depth    int
	elements int
}

func (p *parser) limit(name string, max, n int) error {
	if max > 0 && n > max {
		return &LimitError{Limit: name, Max: max}
	}
	return nil
}

func (p *parser) run(data []byte, root *etree.Element, document bool) error {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	stack := []*etree.Element{root}
	sawRoot, first := false, true
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			if len(stack) != 1 {
				return syntaxf("unexpected end of input")
			}
			return nil
		}
		if err != nil {
			return syntaxf("%v", err)
		}
		top := stack[len(stack)-1]
		atTop := len(stack) == 1
		switch t := tok.(type) {
		case xml.StartElement:
			if document && atTop {
				if sawRoot {
					return syntaxf("more than one root element")
				}
				sawRoot = true
			}
			p.depth++
			p.elements++
			if err := p.limit("MaxDepth", p.lim.MaxDepth, p.depth); err != nil {
				return err
			}
			if err := p.limit("MaxElements", p.lim.MaxElements, p.elements); err != nil {
				return err
			}
			el, err := p.start(top, t)
			if err != nil {
				return err
			}
			stack = append(stack, el)
		case xml.EndElement:
			if atTop || t.Name.Space != top.Space || t.Name.Local != top.Tag {
				return syntaxf("unexpected end tag %s", qname(t.Name))
			}
			p.scope.pop()
			stack = stack[:len(stack)-1]
			p.depth--
		case xml.CharData:
			if document && atTop {
				if len(bytes.TrimSpace(t)) > 0 {
					return syntaxf("text outside the root element")
				}
				root.CreateText(string(t))
				break
			}
			top.CreateText(string(t))
		case xml.Comment:
			top.CreateComment(string(t))
		case xml.ProcInst:
			// The XML declaration may open a document; any other
			// processing instruction is refused, as SOAP messages must
			// not carry them (WS-I Basic Profile R1009).
			if !(document && first && t.Target == "xml") {
				return syntaxf("processing instruction %q", t.Target)
			}
			if err := checkDecl(strings.TrimLeft(string(t.Inst), " \t\r\n")); err != nil {
				return err
			}
			root.CreateProcInst(t.Target, string(t.Inst))
		case xml.Directive:
			return syntaxf("document type declaration or other directive")
		}
		first = false
	}
}

func qname(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

func (p *parser) start(parent *etree.Element, t xml.StartElement) (*etree.Element, error) {
	if err := p.limit("MaxAttributes", p.lim.MaxAttributes, len(t.Attr)); err != nil {
		return nil, err
	}
	if err := p.limit("MaxNameBytes", p.lim.MaxNameBytes, len(t.Name.Space)+len(t.Name.Local)); err != nil {
		return nil, err
	}
	p.scope.push()
	// Declarations first: they apply to the element's own name and
	// attributes whatever their order.
	for _, a := range t.Attr {
		switch {
		case a.Name.Space == "xmlns":
			if a.Name.Local == "xmlns" || (a.Name.Local == "xml" && a.Value != NSXML) || a.Value == "" {
				return nil, syntaxf("invalid namespace declaration xmlns:%s", a.Name.Local)
			}
			p.scope.bind(a.Name.Local, a.Value)
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			p.scope.bind("", a.Value)
		default:
			continue
		}
		if err := p.limit("MaxNamespaces", p.lim.MaxNamespaces, len(p.scope.binds)); err != nil {
			return nil, err
		}
	}
	if t.Name.Space != "" && t.Name.Space != "xml" && !p.scope.bound(t.Name.Space) {
		return nil, syntaxf("unbound prefix %q", t.Name.Space)
	}
	el := parent.CreateElement(qname(t.Name))
	seen := make(map[string]struct{}, len(t.Attr))
	for _, a := range t.Attr {
		if err := p.limit("MaxAttrValue", p.lim.MaxAttrValue, len(a.Value)); err != nil {
			return nil, err
		}
		if err := p.limit("MaxNameBytes", p.lim.MaxNameBytes, len(a.Name.Space)+len(a.Name.Local)); err != nil {
			return nil, err
		}
		if a.Name.Space != "" && a.Name.Space != "xmlns" && a.Name.Space != "xml" && !p.scope.bound(a.Name.Space) {
			return nil, syntaxf("unbound prefix %q", a.Name.Space)
		}
		// Duplicates are checked by expanded name, so that p:a and q:a
		// with p and q bound to one URI are caught too.
		key := a.Name.Local
		switch a.Name.Space {
		case "":
		case "xmlns":
			key = "xmlns:" + a.Name.Local
		case "xml":
			key = "{" + NSXML + "}" + a.Name.Local
		default:
			key = "{" + p.scope.lookup(a.Name.Space) + "}" + a.Name.Local
		}
		if _, dup := seen[key]; dup {
			return nil, syntaxf("duplicate attribute %s", qname(a.Name))
		}
		seen[key] = struct{}{}
		el.CreateAttr(qname(a.Name), a.Value)
	}
	return el, nil
}

// scope tracks namespace bindings by depth.
type scope struct {
	binds []binding
	marks []int
}

type binding struct{ prefix, uri string }

func newScope(ctx map[string]string) *scope {
	s := &scope{}
	for p, u := range ctx {
		s.binds = append(s.binds, binding{p, u})
	}
	return s
}

func (s *scope) push()                   { s.marks = append(s.marks, len(s.binds)) }
func (s *scope) bind(prefix, uri string) { s.binds = append(s.binds, binding{prefix, uri}) }

func (s *scope) pop() {
	n := len(s.marks) - 1
	s.binds = s.binds[:s.marks[n]]
	s.marks = s.marks[:n]
}

func (s *scope) lookup(prefix string) string {
	for i := len(s.binds) - 1; i >= 0; i-- {
		if s.binds[i].prefix == prefix {
			return s.binds[i].uri
		}
	}
	return ""
}

func (s *scope) bound(prefix string) bool { return s.lookup(prefix) != "" }
