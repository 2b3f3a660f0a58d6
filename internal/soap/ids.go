package soap

import (
	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/internal/xmlscan"
)

// IDs indexes the elements of a document by the Id attributes references
// use, as [xmlscan.IsID] defines them: wsu:Id (WS-Security), the
// unqualified Id of XML Encryption and XML Signature elements, and xml:id.
type IDs map[string]*etree.Element

// IndexIDs walks the tree under root. Two elements with the same Id value,
// by any of the attributes, are an error: a reference to it would be
// ambiguous, which signature-wrapping and decryption-redirection attacks
// exploit.
func IndexIDs(root *etree.Element) (IDs, error) {
	ids := make(IDs)
	if err := ids.add(root); err != nil {
		return nil, err
	}
	return ids, nil
}

// add indexes el and its descendants. A prefix:Id attribute counts if its
// prefix is bound to the wsu namespace; prefixes are resolved against
// declarations kept while walking, not by searching the ancestors of
// every attribute, so the walk is linear in the size of the tree.
func (ids IDs) add(el *etree.Element) error {
	scope := map[string]string{}
	if p := el.Parent(); p != nil {
		scope = InScope(p)
	}
	type undo struct {
		prefix, old string
		had         bool
	}
	var undos []undo
	inScope := func(prefix string) string { return scope[prefix] }
	type frame struct {
		e    *etree.Element
		next int // index of the next child to visit
		mark int // undo log length when e was entered
	}
	enter := func(e *etree.Element) (frame, error) {
		f := frame{e: e, mark: len(undos)}
		for i := range e.Attr {
			a := &e.Attr[i]
			if p, ok := declPrefix(a); ok {
				old, had := scope[p]
				undos = append(undos, undo{p, old, had})
				scope[p] = a.Value
			}
		}
		for i := range e.Attr {
			a := &e.Attr[i]
			if !isIDAttr(a, inScope) {
				continue
			}
			if prev, dup := ids[a.Value]; dup && prev != e {
				return f, syntaxf("duplicate Id %q", a.Value)
			}
			ids[a.Value] = e
		}
		return f, nil
	}
	f, err := enter(el)
	if err != nil {
		return err
	}
	stack := []frame{f}
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if top.next == len(top.e.Child) {
			for i := len(undos) - 1; i >= top.mark; i-- {
				if u := undos[i]; u.had {
					scope[u.prefix] = u.old
				} else {
					delete(scope, u.prefix)
				}
			}
			undos = undos[:top.mark]
			stack = stack[:len(stack)-1]
			continue
		}
		c, ok := top.e.Child[top.next].(*etree.Element)
		top.next++
		if !ok {
			continue
		}
		f, err := enter(c)
		if err != nil {
			return err
		}
		stack = append(stack, f)
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

// isIDAttr reports whether a is an Id attribute by [xmlscan.IsID],
// resolving its prefix with resolve.
func isIDAttr(a *etree.Attr, resolve func(prefix string) string) bool {
	if len(a.Key) != 2 || a.Space == "xmlns" {
		return false // IsID holds for two-letter names only
	}
	var ns string
	switch a.Space {
	case "":
	case "xml":
		ns = NSXML
	default:
		ns = resolve(a.Space)
	}
	return xmlscan.IsID(ns, a.Key)
}

// Remove drops el and its descendants from the index.
func (ids IDs) Remove(el *etree.Element) {
	stack := []*etree.Element{el}
	for len(stack) > 0 {
		e := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for i := range e.Attr {
			if a := &e.Attr[i]; isIDAttr(a, func(p string) string { return lookup(e, p) }) && ids[a.Value] == e {
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
