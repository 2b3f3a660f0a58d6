package soap

import (
	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/internal/xmlscan"
)

// Namespace URIs.
const (
	NSSOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
	NSSOAP12 = "http://www.w3.org/2003/05/soap-envelope"
	NSWSSE   = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	NSWSU    = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
	NSWSSE11 = "http://docs.oasis-open.org/wss/oasis-wss-wssecurity-secext-1.1.xsd"
	NSDS     = "http://www.w3.org/2000/09/xmldsig#"
	NSXENC   = "http://www.w3.org/2001/04/xmlenc#"
	NSXENC11 = "http://www.w3.org/2009/xmlenc11#"
	NSXML    = "http://www.w3.org/XML/1998/namespace"
	nsXMLNS  = "http://www.w3.org/2000/xmlns/"
)

// Names resolves the namespace URIs of a tree's names. For a tree that
// [xmlscan.ParseTree] read, it answers from the table the scanner filled
// while it built the tree (see [xmlscan.Names]), so that a lookup does
// not search the ancestors' declarations again. For an element the table
// does not know (one added to the tree after parsing, such as the
// encryptor's output), and for every element with the zero Names (a tree
// not read by ParseTree), it walks the ancestors' declarations as the
// tree holds them now. Either way the answer is the one the walk gives
// on the tree as read: the table is filled from the same declarations.
//
// A Names is safe for concurrent use; it never modifies the tree.
type Names struct {
	t *xmlscan.Names
}

// NewNames returns the Names that answers from t, which may be nil.
func NewNames(t *xmlscan.Names) Names { return Names{t: t} }

// Of returns the namespace URI of el's name.
func (n Names) Of(el *etree.Element) string {
	if el.Space == "xml" {
		return NSXML
	}
	if uri, ok := n.t.Element(el); ok {
		return uri
	}
	return walkPrefix(el, el.Space)
}

// Is reports whether el is the element {ns}local.
func (n Names) Is(el *etree.Element, ns, local string) bool {
	return el != nil && el.Tag == local && n.Of(el) == ns
}

// AttrNamespace returns the namespace URI of an attribute of el: none for
// an unprefixed attribute, the XML namespace for xml:, otherwise the URI
// its prefix is bound to in el's scope.
func (n Names) AttrNamespace(el *etree.Element, a *etree.Attr) string {
	switch a.Space {
	case "":
		return ""
	case "xml":
		return NSXML
	case "xmlns":
		return nsXMLNS
	}
	return n.prefix(el, a.Space)
}

// Attr returns the value of the attribute {ns}local of el and whether it
// is present. An empty ns names an unprefixed attribute.
func (n Names) Attr(el *etree.Element, ns, local string) (string, bool) {
	for i := range el.Attr {
		a := &el.Attr[i]
		if a.Key == local && a.Space != "xmlns" && !(a.Space == "" && a.Key == "xmlns") && n.AttrNamespace(el, a) == ns {
			return a.Value, true
		}
	}
	return "", false
}

// InScope returns the namespace declarations in scope at el; the key ""
// is the default namespace. The map is the caller's.
func (n Names) InScope(el *etree.Element) map[string]string {
	if m, ok := n.t.InScope(el); ok {
		return m
	}
	m := make(map[string]string)
	for e := el; e != nil; e = e.Parent() {
		for i := range e.Attr {
			if p, ok := declPrefix(&e.Attr[i]); ok {
				if _, seen := m[p]; !seen {
					m[p] = e.Attr[i].Value
				}
			}
		}
	}
	return m
}

// prefix returns the URI bound to prefix in el's scope ("" for the
// default namespace), or "" if it is unbound.
func (n Names) prefix(el *etree.Element, prefix string) string {
	if uri, ok := n.t.Prefix(el, prefix); ok {
		return uri
	}
	return walkPrefix(el, prefix)
}

// walkPrefix resolves prefix by searching el and its ancestors for the
// nearest declaration: for trees, or parts of them, not read by
// [xmlscan.ParseTree].
func walkPrefix(el *etree.Element, prefix string) string {
	for e := el; e != nil; e = e.Parent() {
		for _, a := range e.Attr {
			if prefix == "" && a.Space == "" && a.Key == "xmlns" {
				return a.Value
			}
			if prefix != "" && a.Space == "xmlns" && a.Key == prefix {
				return a.Value
			}
		}
	}
	return ""
}

// Text returns the concatenation of el's direct character data (text and
// CDATA sections), skipping comments and processing instructions between
// them. It reports false if el has child elements.
func Text(el *etree.Element) (string, bool) {
	var n, parts int
	var only string
	for _, t := range el.Child {
		switch c := t.(type) {
		case *etree.CharData:
			n += len(c.Data)
			parts++
			only = c.Data
		case *etree.Element:
			return "", false
		}
	}
	switch {
	case n == 0:
		return "", true
	case parts == 1:
		return only, true // the usual case: nothing to join
	}
	buf := make([]byte, 0, n)
	for _, t := range el.Child {
		if c, ok := t.(*etree.CharData); ok {
			buf = append(buf, c.Data...)
		}
	}
	return string(buf), true
}
