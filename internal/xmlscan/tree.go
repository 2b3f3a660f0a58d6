package xmlscan

import (
	"bytes"
	"strings"

	"github.com/beevik/etree"
)

// tag returns name as a string, the same string for every element or
// attribute of that name in a large document.
func (s *fscan) tag(name []byte) string {
	if s.src != "" {
		// A small document has a few names: a map to intern them
		// costs more than it saves.
		return s.str(name)
	}
	if t, ok := s.tagNames[string(name)]; ok {
		return t
	}
	if s.tagNames == nil {
		s.tagNames = map[string]string{}
	}
	t := string(name)
	s.tagNames[t] = t
	return t
}

// slabSize is the capacity of the slab that follows one of capacity
// prev, for at least n items: doubling from 16 to 256, so that a small
// message carves little.
func slabSize(prev, n int) int {
	return max(n, min(max(2*prev, 16), 256))
}

// slabsFor sizes the first slabs of elements, of their children and of
// their attributes for the small document data, so that one of each
// usually suffices: every '<' that begins no end tag, comment, CDATA
// section or declaration begins an element, and every attribute has an
// '=' (a '<' or '=' elsewhere only makes an estimate larger). With sc,
// the slabs are carved from its memory, which grows to fit.
func (s *fscan) slabsFor(data []byte, sc *Scratch) {
	n := bytes.Count(data, []byte("<")) - bytes.Count(data, []byte("</")) - bytes.Count(data, []byte("<!")) - bytes.Count(data, []byte("<?"))
	n = min(max(n, 1), 256)
	a := min(bytes.Count(data, []byte("=")), 256)
	if sc == nil {
		s.elSlab = make([]etree.Element, 0, n)
		s.tokSlab = make([]etree.Token, 0, 2*n)
		if a > 0 {
			s.slab = make([]etree.Attr, 0, a)
		}
		return
	}
	// The memory comes zeroed: new, or cleared by Reset.
	if cap(sc.els) < n {
		sc.els = make([]etree.Element, 0, n)
	}
	if cap(sc.toks) < 2*n {
		sc.toks = make([]etree.Token, 0, 2*n)
	}
	if cap(sc.attr) < a {
		sc.attr = make([]etree.Attr, 0, a)
	}
	s.elSlab, s.tokSlab, s.slab = sc.els[:0], sc.toks[:0], sc.attr[:0]
}

// element1 returns a new element named name, with no parent, carved
// from a slab of elements.
func (s *fscan) element1(name []byte) *etree.Element {
	if len(s.elSlab) == cap(s.elSlab) {
		s.elSlab = make([]etree.Element, 0, slabSize(cap(s.elSlab), 1))
	}
	s.elSlab = s.elSlab[:len(s.elSlab)+1]
	el := &s.elSlab[len(s.elSlab)-1]
	// Room for two children (a text, or the two of a record), capped
	// so that a third moves the list out of the slab.
	if cap(s.tokSlab)-len(s.tokSlab) < 2 {
		s.tokSlab = make([]etree.Token, 0, 2*slabSize(cap(s.tokSlab)/2, 1))
	}
	k := len(s.tokSlab)
	s.tokSlab = s.tokSlab[:k+2]
	el.Child = s.tokSlab[k : k : k+2]
	tag := s.tag(name)
	if i := strings.IndexByte(tag, ':'); i >= 0 {
		el.Space, el.Tag = tag[:i], tag[i+1:]
	} else {
		el.Tag = tag
	}
	return el
}

// attrSlots returns room for n attributes: an empty slice of capacity n
// carved from the slab.
func (s *fscan) attrSlots(n int) []etree.Attr {
	if cap(s.slab)-len(s.slab) < n {
		s.slab = make([]etree.Attr, 0, slabSize(cap(s.slab), n))
	}
	start := len(s.slab)
	s.slab = s.slab[:start+n]
	return s.slab[start : start : start+n]
}

// build adds the element of the start tag just read, with the attributes
// in s.attrs, to the tree, and makes it the element being built.
func (s *fscan) build(name []byte) {
	el := s.element1(name)
	s.tree[len(s.tree)-1].AddChild(el)
	if n := len(s.attrs); n > 0 {
		// The attributes are known to be distinct: spare CreateAttr
		// its search of the ones before (quadratic in their number)
		// by showing it an empty slice whose capacity is the next
		// slot. Their list is capped at its length, so that an
		// attribute added later moves it out of the slab.
		all := s.attrSlots(n)
		for i, a := range s.attrs {
			el.Attr = all[i:i]
			el.CreateAttr(s.tag(a.name), s.attrValue(a))
		}
		el.Attr = all[:n]
	}
	if s.nsTable != nil {
		s.record(el)
	}
	s.tree = append(s.tree, el)
}
