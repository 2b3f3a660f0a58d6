package xmlscan

import (
	"bytes"

	"github.com/beevik/etree"
)

// FragmentCheck says how [ScanFragment] judges decrypted content.
type FragmentCheck struct {
	// Context maps the prefixes in scope where the fragment goes to their
	// URIs; "" is the default namespace.
	Context map[string]string
	// Limits apply with their DepthOffset and ElementsOffset.
	Limits Limits
	// Forbidden reports elements that must not appear in the fragment.
	Forbidden func(ns string, local []byte) bool
	// ID is called with the value of every Id, wsu:Id and xml:id
	// attribute; an error it returns stops the scan.
	ID func(id string) error
	// Scratch, if set, lends the scan its memory (see [Scratch]).
	Scratch *Scratch
	// memoAt, for tests, is the number of start tags after which the scan
	// remembers tags (0: memoAfter; negative: never).
	memoAt int
	// splitAt, for tests, is the fragment size from which the scan runs
	// as two halves at once (0: splitMin; negative: never).
	splitAt int
}

// FragmentInfo describes a fragment [ScanFragment] accepted.
type FragmentInfo struct {
	Elements    int  // elements in the fragment
	TopElements int  // elements at its top level
	TopText     bool // character data other than white space at its top level
}

// ScanFragment checks that data is well-formed element content in the
// given namespace context — the rules of XML 1.0 and Namespaces in XML for
// content, without building a tree — and applies the limits, the
// forbidden-element rule and the Id callback. Processing instructions and
// document type declarations are refused, as in [Parse]. It reads data once
// and allocates little, so that large decrypted payloads can be spliced
// into a message as bytes.
//
// Two shortcuts keep large fragments fast: a start tag that repeats one
// already accepted, but for its attribute values, is not read again (see
// tagMemo), and a fragment of 1 MB or more is scanned as two halves at
// once when more than one processor is available (see scanSplit). The
// result, the errors and the Id callbacks are those of a plain scan from
// start to end; Forbidden, though, may be called once per distinct
// element name rather than once per element, so it must depend on its
// arguments only.
func ScanFragment(data []byte, fc FragmentCheck) (FragmentInfo, error) {
	if info, err, done := scanSplit(data, &fc); done {
		return info, err
	}
	return scanWhole(data, &fc)
}

func scanWhole(data []byte, fc *FragmentCheck) (FragmentInfo, error) {
	s := newFragmentScan(data, fc)
	if fc.Scratch != nil {
		s.useScratch(fc.Scratch)
		defer fc.Scratch.release()
	}
	if err := s.run(); err != nil {
		return FragmentInfo{}, err
	}
	s.info.Elements = s.elements - fc.Limits.ElementsOffset
	return s.info, nil
}

func newFragmentScan(data []byte, fc *FragmentCheck) *fscan {
	s := &fscan{d: data, fc: fc, depth: fc.Limits.DepthOffset, elements: fc.Limits.ElementsOffset}
	for p, u := range fc.Context {
		s.binds = append(s.binds, nsBinding{prefix: []byte(p), uri: u, id: -1})
	}
	return s
}

type nsBinding struct {
	prefix []byte
	uri    string
	id     int32 // the declaration's index in the tree's Names, -1 if none
}

type rawAttr struct {
	name, value []byte
	at          int // where the value starts in the data
}

type fscan struct {
	// document is set when reading a whole document: one root element,
	// only white space and comments around it.
	document bool
	// tree, when not nil, is the stack of elements being built; tree[0]
	// receives the top level.
	tree []*etree.Element
	// tagNames interns the element names of the tree, and slab is where
	// the tree's attributes are carved from, so that building it costs
	// fewer allocations than one per name and one per attribute list.
	tagNames map[string]string
	slab     []etree.Attr
	elSlab   []etree.Element
	tokSlab  []etree.Token
	// nsTable, when not nil, receives the namespace URIs of the tree's
	// names; elementURI is the one of the start tag just read.
	nsTable    *Names
	elementURI string
	sawRoot    bool
	names      map[string]bool // validity of names beyond ASCII
	d          []byte
	// src is d as one string when a small document's tree is built: its
	// values that need no resolving are substrings of it, one allocation
	// for all of them.
	src      string
	pos      int
	fc       *FragmentCheck
	stack    [][]byte // names of open elements
	binds    []nsBinding
	marks    []int
	attrs    []rawAttr
	keys     []attrKey // the attributes' keys (element)
	order    []int     // scratch for sorting keys
	depth    int
	elements int
	info     FragmentInfo
	// half is set when the scan reads one half of a split fragment.
	half *half
	tags int // start tags read in full
	memo *[memoSlots]tagMemo
	// sc, if set, is the Scratch the scan borrows from.
	sc  *Scratch
	gen int // changes whenever the declarations in scope change
	// opaque, when set, names an element whose content is checked but
	// not built (see Opaque); opq is the scan's state inside it.
	opaque *Opaque
	opq    opaqueState
}

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
	els  []etree.Element
	toks []etree.Token
	attr []etree.Attr
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

func (s *fscan) limit(name string, max, n int) error {
	if max > 0 && n > max {
		return &LimitError{Limit: name, Max: max}
	}
	return nil
}

func (s *fscan) run() error {
	d := s.d
	for s.pos < len(d) {
		// In tag-dense content the next markup usually follows at once or
		// after a few bytes: look before paying for a vectorized search.
		lt := -1
		for i := s.pos; i < len(d) && i < s.pos+16; i++ {
			if d[i] == '<' {
				lt = i - s.pos
				break
			}
		}
		if lt < 0 && s.pos+16 < len(d) {
			if n := bytes.IndexByte(d[s.pos+16:], '<'); n >= 0 {
				lt = 16 + n
			}
		}
		end := len(d)
		if lt >= 0 {
			end = s.pos + lt
		}
		if end > s.pos {
			text := d[s.pos:end]
			nonSpace, err := checkText(text, true)
			if err != nil {
				return err
			}
			if nonSpace && len(s.stack) == 0 {
				if s.document {
					return syntaxf("text outside the root element")
				}
				s.info.TopText = true
			}
			if s.tree != nil {
				s.tree[len(s.tree)-1].CreateText(s.text(text, s.pos))
			}
		}
		if lt < 0 {
			break
		}
		s.pos = end
		if err := s.markup(); err != nil {
			return err
		}
	}
	if len(s.stack) != 0 && (s.half == nil || s.half.second) {
		return syntaxf("unclosed element %s", s.stack[len(s.stack)-1])
	}
	return nil
}

func (s *fscan) markup() error {
	d := s.d[s.pos:]
	// Most markup is a tag: decide on the second byte before trying the
	// rarer constructs.
	if len(d) > 1 && d[1] != '!' && d[1] != '?' {
		if d[1] == '/' {
			return s.endTag()
		}
		return s.startTag()
	}
	switch {
	case bytes.HasPrefix(d, []byte("<!--")):
		end := bytes.Index(d[4:], []byte("-->"))
		if end < 0 {
			return syntaxf("unterminated comment")
		}
		body := d[4 : 4+end]
		if bytes.Contains(body, []byte("--")) || bytes.HasSuffix(body, []byte("-")) {
			return syntaxf("'--' in comment")
		}
		if _, err := checkText(body, false); err != nil {
			return err
		}
		if s.tree != nil {
			s.tree[len(s.tree)-1].CreateComment(string(body))
		}
		s.pos += 4 + end + 3
	case bytes.HasPrefix(d, []byte("<![CDATA[")):
		end := bytes.Index(d[9:], []byte("]]>"))
		if end < 0 {
			return syntaxf("unterminated CDATA section")
		}
		nonSpace, err := checkText(d[9:9+end], false)
		if err != nil {
			return err
		}
		if len(s.stack) == 0 && (nonSpace || s.document) {
			if s.document {
				return syntaxf("CDATA outside the root element")
			}
			s.info.TopText = true
		}
		if s.tree != nil {
			s.tree[len(s.tree)-1].CreateText(normalizeNewlines(d[9 : 9+end]))
		}
		s.pos += 9 + end + 3
	case bytes.HasPrefix(d, []byte("<?")):
		return syntaxf("processing instruction")
	case bytes.HasPrefix(d, []byte("<!")):
		return syntaxf("document type declaration or other directive")
	case bytes.HasPrefix(d, []byte("</")):
		return s.endTag()
	default:
		return s.startTag()
	}
	return nil
}

func (s *fscan) endTag() error {
	// The end tag almost always closes the element just opened: compare
	// with its name directly, and parse in full only otherwise.
	if n := len(s.stack); n > 0 {
		top := s.stack[n-1]
		rest := s.d[s.pos+2:]
		if len(rest) > len(top) && rest[len(top)] == '>' && bytes.Equal(rest[:len(top)], top) {
			s.pos += 2 + len(top) + 1
			s.stack = s.stack[:n-1]
			s.pop()
			s.depth--
			if s.tree != nil {
				s.tree = s.tree[:len(s.tree)-1]
			}
			s.leaveOpaque()
			return nil
		}
	}
	s.pos += 2
	name, err := s.name()
	if err != nil {
		return err
	}
	s.space()
	if s.pos >= len(s.d) || s.d[s.pos] != '>' {
		return syntaxf("malformed end tag")
	}
	s.pos++
	if len(s.stack) == 0 && s.half != nil && s.half.second {
		return s.half.outerEnd(s, name)
	}
	if len(s.stack) == 0 || !bytes.Equal(s.stack[len(s.stack)-1], name) {
		return syntaxf("unexpected end tag %s", name)
	}
	s.stack = s.stack[:len(s.stack)-1]
	s.pop()
	s.depth--
	if s.tree != nil {
		s.tree = s.tree[:len(s.tree)-1]
	}
	s.leaveOpaque()
	return nil
}

func (s *fscan) startTag() error {
	if s.memo != nil {
		if e, n := s.recall(); e != nil {
			return s.recalled(e, n)
		}
	} else if s.tags == s.memoAfter() && s.tree == nil {
		s.memo = s.newMemo()
	}
	s.tags++
	start := s.pos
	s.pos++
	name, err := s.name()
	if err != nil {
		return err
	}
	if err := s.limit("MaxNameBytes", s.fc.Limits.MaxNameBytes, len(name)); err != nil {
		return err
	}
	selfClosing, err := s.attributes()
	if err != nil {
		return err
	}
	if err := s.count(); err != nil {
		return err
	}
	if err := s.limit("MaxAttributes", s.fc.Limits.MaxAttributes, len(s.attrs)); err != nil {
		return err
	}
	if err := s.element(name); err != nil {
		return err
	}
	if s.memo != nil {
		s.remember(start, len(name), selfClosing)
	}
	if s.tree != nil {
		s.build(name)
	}
	if selfClosing {
		s.pop()
		s.depth--
		if s.tree != nil {
			s.tree = s.tree[:len(s.tree)-1]
		}
		return nil
	}
	s.stack = append(s.stack, name)
	if s.opaque != nil && s.tree != nil {
		s.enterOpaque(s.tree[len(s.tree)-1], name)
	}
	return nil
}

// count counts an element just opened and checks the limits that depend
// on where it is.
func (s *fscan) count() error {
	s.depth++
	s.elements++
	if len(s.stack) == 0 {
		if s.document && s.sawRoot {
			return syntaxf("more than one root element")
		}
		s.sawRoot = true
		s.info.TopElements++
	}
	if s.half != nil && s.half.second {
		// Depth and element count are known relative to the split only.
		if s.depth > s.half.maxDepth {
			s.half.maxDepth = s.depth
		}
		return nil
	}
	if err := s.limit("MaxDepth", s.fc.Limits.MaxDepth, s.depth); err != nil {
		return err
	}
	return s.limit("MaxElements", s.fc.Limits.MaxElements, s.elements)
}

func (s *fscan) pop() {
	n := len(s.marks) - 1
	if s.marks[n] != len(s.binds) {
		s.gen++
	}
	s.binds = s.binds[:s.marks[n]]
	s.marks = s.marks[:n]
}

// resolve returns the URI bound to prefix. With no prefix it returns the
// default namespace for an element (possibly "") and "" for an attribute.
func (s *fscan) resolve(prefix []byte, element bool) (string, bool) {
	return resolveIn(s.binds, prefix, element)
}

// space skips white space and reports whether there was any.
func (s *fscan) space() bool {
	start := s.pos
	for s.pos < len(s.d) && isSpace(s.d[s.pos]) {
		s.pos++
	}
	return s.pos > start
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
