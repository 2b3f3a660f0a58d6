package xmlscan

import "github.com/beevik/etree"

// Names holds the namespace URIs of a tree that [ParseTree] built,
// resolved once while the scanner read it: the URI of every element's
// name, and for every element the declarations in scope there, from which
// an attribute's prefix is resolved. It describes the tree as read; an
// element added to the tree later is not in it (its lookups report
// false), and a declaration added or an element moved later is not seen.
//
// A Names is not modified after ParseTree returns and is safe for
// concurrent use. The nil *Names knows no element.
type Names struct {
	els   map[*etree.Element]elemName
	decls []decl
	// first holds the first declarations, enough for most messages.
	first [16]decl
}

// elemName is what Names keeps for one element.
type elemName struct {
	uri   string // namespace URI of the element's name
	scope int32  // innermost declaration in scope (index in decls), -1 if none
}

// decl is one namespace declaration, linked to the one in scope outside
// it; prefix "" declares the default namespace.
type decl struct {
	prefix, uri string
	outer       int32
}

// Element returns the namespace URI of el's name ("" for none) and true,
// or "" and false if el is not an element of the tree as read.
func (n *Names) Element(el *etree.Element) (string, bool) {
	if n == nil {
		return "", false
	}
	e, ok := n.els[el]
	return e.uri, ok
}

// Prefix returns the URI prefix is bound to in el's scope ("" for the
// default namespace; "" if it is unbound there) and true, or "" and false
// if el is not an element of the tree as read. The xml prefix is bound
// only if the document declares it, as in the tree's attributes.
func (n *Names) Prefix(el *etree.Element, prefix string) (string, bool) {
	if n == nil {
		return "", false
	}
	e, ok := n.els[el]
	if !ok {
		return "", false
	}
	for i := e.scope; i >= 0; i = n.decls[i].outer {
		if d := &n.decls[i]; d.prefix == prefix {
			return d.uri, true
		}
	}
	return "", true
}

// InScope returns the declarations in scope at el, the key "" for the
// default namespace, and true; or nil and false if el is not an element
// of the tree as read.
func (n *Names) InScope(el *etree.Element) (map[string]string, bool) {
	if n == nil {
		return nil, false
	}
	e, ok := n.els[el]
	if !ok {
		return nil, false
	}
	m := make(map[string]string)
	for i := e.scope; i >= 0; i = n.decls[i].outer {
		if d := &n.decls[i]; !hasKey(m, d.prefix) {
			m[d.prefix] = d.uri
		}
	}
	return m, true
}

// appendScope appends to binds the declarations in scope at el, each
// prefix once (the innermost declaration), as InScope lists them; their
// prefixes share one allocation. For an element n does not know it
// appends nothing.
func (n *Names) appendScope(binds []nsBinding, el *etree.Element) []nsBinding {
	e, ok := n.els[el]
	if !ok {
		return binds
	}
	var first [32]int32
	picked, size := first[:0], 0
	for i := e.scope; i >= 0; i = n.decls[i].outer {
		shadowed := false
		for _, j := range picked {
			if n.decls[j].prefix == n.decls[i].prefix {
				shadowed = true
				break
			}
		}
		if !shadowed {
			picked = append(picked, i)
			size += len(n.decls[i].prefix)
		}
	}
	prefixes := make([]byte, 0, size)
	for _, j := range picked {
		d := &n.decls[j]
		at := len(prefixes)
		prefixes = append(prefixes, d.prefix...)
		// Never nil, as a prefix read from a declaration is not.
		p := prefixes[at:len(prefixes):len(prefixes)]
		binds = append(binds, nsBinding{prefix: p, uri: d.uri, id: -1})
	}
	return binds
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

// known returns the number of elements n knows.
func (n *Names) known() int {
	if n == nil {
		return 0
	}
	return len(n.els)
}

// innermost returns the declaration in scope at the scan's position, -1
// if none is recorded.
func (s *fscan) innermost() int32 {
	if len(s.binds) == 0 {
		return -1
	}
	return s.binds[len(s.binds)-1].id
}

// record notes, for the element just built, its name's URI and the
// declarations it makes, in the order declare put them in scope. The
// prefixes come from the tree's attribute names, so that recording
// allocates nothing of its own.
func (s *fscan) record(el *etree.Element) {
	t := s.nsTable
	j := s.marks[len(s.marks)-1]
	for i := range el.Attr {
		a := &el.Attr[i]
		var p string
		switch {
		case a.Space == "xmlns":
			p = a.Key
		case a.Space == "" && a.Key == "xmlns":
		default:
			continue
		}
		outer := int32(-1)
		if j > 0 {
			outer = s.binds[j-1].id
		}
		s.binds[j].id = int32(len(t.decls))
		t.decls = append(t.decls, decl{prefix: p, uri: s.binds[j].uri, outer: outer})
		j++
	}
	t.els[el] = elemName{uri: s.elementURI, scope: s.innermost()}
}
