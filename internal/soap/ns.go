package soap

import "github.com/beevik/etree"

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

// NamespaceOf returns the namespace URI of el's name.
func NamespaceOf(el *etree.Element) string {
	if el.Space == "xml" {
		return NSXML
	}
	return el.NamespaceURI()
}

// Is reports whether el is the element {ns}local.
func Is(el *etree.Element, ns, local string) bool {
	return el != nil && el.Tag == local && NamespaceOf(el) == ns
}

// AttrNamespace returns the namespace URI of an attribute: none for an
// unprefixed attribute, the XML namespace for xml:, otherwise the URI its
// prefix is bound to in scope.
func AttrNamespace(el *etree.Element, a *etree.Attr) string {
	switch a.Space {
	case "":
		return ""
	case "xml":
		return NSXML
	case "xmlns":
		return nsXMLNS
	}
	return lookup(el, a.Space)
}

// Attr returns the value of the attribute {ns}local of el and whether it is
// present. An empty ns names an unprefixed attribute.
func Attr(el *etree.Element, ns, local string) (string, bool) {
	for i := range el.Attr {
		a := &el.Attr[i]
		if a.Key == local && a.Space != "xmlns" && !(a.Space == "" && a.Key == "xmlns") && AttrNamespace(el, a) == ns {
			return a.Value, true
		}
	}
	return "", false
}

// lookup returns the URI bound to prefix in el's scope ("" for the default
// namespace), or "" if it is unbound.
func lookup(el *etree.Element, prefix string) string {
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

// InScope returns the namespace declarations in scope at el, nearest
// first; the key "" is the default namespace.
func InScope(el *etree.Element) map[string]string {
	m := make(map[string]string)
	for e := el; e != nil; e = e.Parent() {
		for _, a := range e.Attr {
			var p string
			switch {
			case a.Space == "" && a.Key == "xmlns":
				p = ""
			case a.Space == "xmlns":
				p = a.Key
			default:
				continue
			}
			if _, seen := m[p]; !seen {
				m[p] = a.Value
			}
		}
	}
	return m
}

// Text returns the concatenation of el's direct character data (text and
// CDATA sections), skipping comments and processing instructions between
// them. It reports false if el has child elements.
func Text(el *etree.Element) (string, bool) {
	var n int
	for _, t := range el.Child {
		switch c := t.(type) {
		case *etree.CharData:
			n += len(c.Data)
		case *etree.Element:
			return "", false
		}
	}
	if n == 0 {
		return "", true
	}
	buf := make([]byte, 0, n)
	for _, t := range el.Child {
		if c, ok := t.(*etree.CharData); ok {
			buf = append(buf, c.Data...)
		}
	}
	return string(buf), true
}
