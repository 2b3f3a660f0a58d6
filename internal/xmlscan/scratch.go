package xmlscan

import "github.com/beevik/etree"

// Scratch is memory a scan may borrow, kept across scans so that a
// small input is read with few allocations: first backing arrays for the
// scanner's stacks, enough for a SOAP message's nesting and attributes
// (a deeper or wider input grows them on the heap as without a Scratch),
// and, for [ParseTreeScratch], the first slabs of the tree's elements,
// children and attributes and its [Names].
//
// A Scratch serves one goroutine at a time (a sync.Pool suits it). The
// stacks hold nothing of a scan once it has returned; a tree built in
// the Scratch's memory is lent until [Scratch.Reset], and while it is, a
// further ParseTreeScratch builds its tree on the heap. The zero value is
// ready to use.
type Scratch struct {
	st   stacks
	memo memoTable // the tag memo of a fragment's scan
	lent bool      // a tree in this memory is in use
	tree treeMem
	// docKids backs the children of the document a lent tree is.
	docKids [4]etree.Token
	els     []etree.Element
	toks    []etree.Token
	attr    []etree.Attr
}

// stacks are the first backing arrays of an fscan's stacks.
type stacks struct {
	stack [16][]byte
	binds [16]nsBinding
	marks [16]int
	attrs [8]rawAttr
	keys  [8]attrKey
	tree  [16]*etree.Element
	fc    FragmentCheck // a whole document's
}

// maxScratchNames bounds the Names table a Scratch keeps for the next
// tree: a larger one is left to the garbage collector rather than held.
const maxScratchNames = 1024

// Reset ends the loan of the tree built in sc's memory, which must no
// longer be used, and clears that memory so that it keeps nothing of
// the tree alive.
func (sc *Scratch) Reset() {
	if !sc.lent {
		return
	}
	// The slabs were carved from the start and are zero beyond what was
	// carved (every element has a Tag, every attribute a Key; each
	// element took two child slots): clear only that.
	n := 0
	for n < cap(sc.els) && sc.els[:cap(sc.els)][n].Tag != "" {
		n++
	}
	clear(sc.els[:n])
	clear(sc.toks[:min(2*n, cap(sc.toks))])
	n = 0
	for n < cap(sc.attr) && sc.attr[:cap(sc.attr)][n].Key != "" {
		n++
	}
	clear(sc.attr[:n])
	els := sc.tree.names.els
	if len(els) > maxScratchNames {
		els = nil
	}
	clear(els)
	sc.tree = treeMem{}
	sc.tree.names.els = els
	sc.docKids = [len(sc.docKids)]etree.Token{}
	sc.lent = false
}

// release drops what the scan left in the stacks and the tag memo.
func (sc *Scratch) release() {
	sc.st.clear()
	if sc.memo.used {
		sc.memo.clear()
	}
}

// clear zeroes the stacks as far as a scan used them: they fill from the
// start, and no entry a scan wrote is zero (names, prefixes and element
// pointers are never nil, an attribute key has a URI or a local name),
// so the first zero entry ends what was used. Marks hold no pointers.
func (st *stacks) clear() {
	for i := range st.stack {
		if st.stack[i] == nil {
			break
		}
		st.stack[i] = nil
	}
	for i := range st.binds {
		if st.binds[i].prefix == nil && st.binds[i].uri == "" {
			break
		}
		st.binds[i] = nsBinding{}
	}
	for i := range st.attrs {
		if st.attrs[i].name == nil {
			break
		}
		st.attrs[i] = rawAttr{}
	}
	for i := range st.keys {
		if k := &st.keys[i]; k.local == nil && k.uri == "" && k.prefix == nil {
			break
		}
		st.keys[i] = attrKey{}
	}
	for i := range st.tree {
		if st.tree[i] == nil {
			break
		}
		st.tree[i] = nil
	}
	st.fc = FragmentCheck{}
}

// useScratch starts the scan's stacks in sc.
func (s *fscan) useScratch(sc *Scratch) {
	s.sc = sc
	st := &sc.st
	s.stack = st.stack[:0]
	s.binds = append(st.binds[:0], s.binds...)
	s.marks = st.marks[:0]
	s.attrs = st.attrs[:0]
	s.keys = st.keys[:0]
	if s.tree != nil {
		s.tree = append(st.tree[:0], s.tree...)
	}
}
