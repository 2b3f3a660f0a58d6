package soap

import (
	"github.com/beevik/etree"
)

// IDs indexes the elements of a document by the Id attributes references
// use: wsu:Id (WS-Security), the unqualified Id of XML Encryption and XML
// Signature elements, and xml:id.
type IDs map[string]*etree.Element

// IndexIDs walks the tree under root. Two elements with the same Id value,
// by any of the attributes, are an error: a reference to it would be
// ambiguous, which signature-wrapping and decryption-redirection attacks
// exploit.
func IndexIDs(root *etree.Element) (IDs, error) {
	ids := make(IDs)
	if err := ids.Add(root); err != nil {
		return nil, err
	}
	return ids, nil
}

// Add indexes el and its descendants.
func (ids IDs) Add(el *etree.Element) error {
	stack := []*etree.Element{el}
	for len(stack) > 0 {
		e := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for i := range e.Attr {
			a := &e.Attr[i]
			if !isIDAttr(e, a) {
				continue
			}
			if prev, dup := ids[a.Value]; dup && prev != e {
				return syntaxf("duplicate Id %q", a.Value)
			}
			ids[a.Value] = e
		}
		for i := len(e.Child) - 1; i >= 0; i-- {
			if c, ok := e.Child[i].(*etree.Element); ok {
				stack = append(stack, c)
			}
		}
	}
	return nil
}

func isIDAttr(el *etree.Element, a *etree.Attr) bool {
	switch {
	case a.Key == "Id" && a.Space == "":
		return true
	case a.Key == "id" && a.Space == "xml":
		return true
	case a.Key == "Id" && a.Space != "" && a.Space != "xmlns":
		return AttrNamespace(el, a) == NSWSU
	}
	return false
}

// Remove drops el and its descendants from the index.
func (ids IDs) Remove(el *etree.Element) {
	stack := []*etree.Element{el}
	for len(stack) > 0 {
		e := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for i := range e.Attr {
			if a := &e.Attr[i]; isIDAttr(e, a) && ids[a.Value] == e {
				delete(ids, a.Value)
			}
		}
		stack = append(stack, e.ChildElements()...)
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
