package soap

import (
	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/internal/xmlscan"
)

// IDs indexes the elements of a document by the Id attributes references
// use, as [xmlscan.IsID] defines them: wsu:Id (WS-Security), the
// unqualified Id of XML Encryption and XML Signature elements, and xml:id.
type IDs map[string]*etree.Element

// IndexIDs walks the tree under root, resolving prefixes with n. Two
// elements with the same Id value, by any of the attributes, are an
// error: a reference to it would be ambiguous, which signature-wrapping
// and decryption-redirection attacks exploit.
func IndexIDs(root *etree.Element, n Names) (IDs, error) {
	ids := make(IDs)
	if err := ids.add(root, n); err != nil {
		return nil, err
	}
	return ids, nil
}

// add indexes el and its descendants. With the table of a parsed tree a
// prefix costs a lookup of its element and at most one comparison per
// declaration in scope, so the walk is linear in the size of the tree.
func (ids IDs) add(el *etree.Element, n Names) error {
	// A SOAP message nests a few levels deep: the first array holds the
	// walk's stack without growing it.
	var first [32]*etree.Element
	stack := append(first[:0], el)
	for len(stack) > 0 {
		e := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for i := range e.Attr {
			a := &e.Attr[i]
			if !isIDAttr(n, e, a) {
				continue
			}
			if prev, dup := ids[a.Value]; dup && prev != e {
				return syntaxf("duplicate Id %q", a.Value)
			}
			ids[a.Value] = e
		}
		for j := len(e.Child) - 1; j >= 0; j-- {
			if c, ok := e.Child[j].(*etree.Element); ok {
				stack = append(stack, c)
			}
		}
	}
	return nil
}

// declPrefix reports whether a declares a namespace, and which prefix
// ("" for the default namespace).
func declPrefix(a *etree.Attr) (string, bool) {
	switch {
	case a.Space == "xmlns":
		return a.Key, true
	case a.Space == "" && a.Key == "xmlns":
		return "", true
	}
	return "", false
}

// isIDAttr reports whether a, an attribute of el, is an Id attribute by
// [xmlscan.IsID].
func isIDAttr(n Names, el *etree.Element, a *etree.Attr) bool {
	if len(a.Key) != 2 || a.Space == "xmlns" {
		return false // IsID holds for two-letter names only
	}
	return xmlscan.IsID(n.AttrNamespace(el, a), a.Key)
}

// Remove drops el and its descendants from the index, resolving
// prefixes with n.
func (ids IDs) Remove(el *etree.Element, n Names) {
	var first [32]*etree.Element
	stack := append(first[:0], el)
	for len(stack) > 0 {
		e := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for i := range e.Attr {
			if a := &e.Attr[i]; isIDAttr(n, e, a) && ids[a.Value] == e {
				delete(ids, a.Value)
			}
		}
		for _, t := range e.Child {
			if c, ok := t.(*etree.Element); ok {
				stack = append(stack, c)
			}
		}
	}
}

// Resolve returns the element a same-document reference "#id" points to.
// It reports false for anything else: an empty fragment, an external URI
// or an unknown Id.
func (ids IDs) Resolve(uri string) (*etree.Element, bool) {
	if len(uri) < 2 || uri[0] != '#' {
		return nil, false
	}
	el, ok := ids[uri[1:]]
	return el, ok
}
