package xmlscan

import (
	"github.com/beevik/etree"
)

// Opaque names one element of a document whose content [ParseTree]
// checks as [ScanFragment] checks a fragment but leaves out of the tree:
// for a large signed Body whose canonical form is read from the bytes,
// the tree needs the element but not what it holds.
type Opaque struct {
	// Is reports whether an element with a start tag (not an empty-
	// element tag) at depth (the root at 1), with this namespace URI and
	// local name, is the one. Only the first for which it reports true is.
	Is func(depth int, ns string, local []byte) bool
	// Forbidden and ID apply to the content as in [FragmentCheck]; for
	// the rest of the document there are none.
	Forbidden func(ns string, local []byte) bool
	ID        func(id string) error

	// Element is, after ParseTree, the element whose content was left
	// out (with no children in the tree), or nil; Elements counts the
	// elements of its content.
	Element  *etree.Element
	Elements int
}

// opaqueState is the scan's state while it reads an Opaque's content.
type opaqueState struct {
	at    int // len(stack) inside the content; 0 outside
	tree  []*etree.Element
	fc    *FragmentCheck
	count int // elements before the content
}

// enterOpaque starts leaving the content of el, just opened at the
// current depth with name ns and local, out of the tree if op names it.
func (s *fscan) enterOpaque(el *etree.Element, name []byte) {
	op := s.opaque
	if op == nil || op.Element != nil || s.opq.at != 0 {
		return
	}
	prefix, local := splitQName(name)
	ns, ok := s.resolve(prefix, true)
	if !ok || !op.Is(s.depth, ns, local) {
		return
	}
	op.Element = el
	fc := *s.fc
	fc.Forbidden, fc.ID = op.Forbidden, op.ID
	s.opq = opaqueState{at: len(s.stack), tree: s.tree, fc: s.fc, count: s.elements}
	s.fc, s.tree = &fc, nil
	if s.memo == nil {
		s.memo = new([memoSlots]tagMemo)
	}
}

// leaveOpaque ends the content once its element is closed.
func (s *fscan) leaveOpaque() {
	if s.opq.at == 0 || len(s.stack) >= s.opq.at {
		return
	}
	s.opaque.Elements = s.elements - s.opq.count
	s.tree = s.opq.tree[:len(s.opq.tree)-1]
	s.fc = s.opq.fc
	// Remembered tags skip the tree: none may be recalled once it is
	// built again.
	s.memo = nil
	s.opq = opaqueState{}
}
