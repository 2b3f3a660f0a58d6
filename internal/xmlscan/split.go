package xmlscan

import (
	"bytes"
	"errors"
	"runtime"
	"sync/atomic"
)

// splitMin is the fragment size from which ScanFragment scans two halves
// at once. Below it the second goroutine costs more than it saves.
const splitMin = 1 << 20

// splitFrom returns the fragment size from which the scan splits, or -1
// if it never does.
func (fc *FragmentCheck) splitFrom() int {
	if fc.splitAt != 0 {
		return fc.splitAt
	}
	return splitMin
}

// maxPending bounds what the second half of a split may collect before it
// gives way to a whole scan: distinct names, end tags of outer elements.
const maxPending = 4096

// errNoSplit stops a half whose result could not be joined.
var errNoSplit = errors.New("soap: fragment needs a whole scan")

// half is the state of one half of a split fragment.
//
// The first half is scanned with the fragment's context like a whole
// fragment, except that elements may remain open at its end and that it
// collects Id values instead of reporting them. The second half starts
// inside those elements without knowing them: it records the end tags
// that close them, the element names and attribute prefixes that its own
// declarations do not bind, its depth and in-scope declarations relative
// to the split, and the element names whose Forbidden answer is due. The
// join checks all of that against the first half's final state and only
// then reports the Id values, in document order.
type half struct {
	second bool
	// closes are the end tags, in order, of elements opened before the
	// split (second half).
	closes [][]byte
	// maxDepth is the highest depth relative to the split (second half).
	maxDepth int
	// maxBinds[k] is the most of its own declarations in scope while k
	// outer elements were closed (second half).
	maxBinds []int
	// unbound[k] holds what to resolve in the scope left after k outer
	// elements were closed (second half).
	unbound []pendingNames
	// elements holds the names bound by the second half's own
	// declarations, by namespace, for Forbidden.
	elements map[string]map[string]struct{}
	pending  int
	ids      []pendingID
}

type pendingNames struct {
	elements map[string]struct{} // qualified element names
	prefixes map[string]struct{} // attribute prefixes that must be bound
}

// pendingID is an Id value; prefix, when set, is the prefix of an
// attribute prefix:local that counts if [IsID] holds for the namespace
// the prefix is bound to in the scope left after k outer elements were
// closed.
type pendingID struct {
	value  string
	prefix []byte
	local  string
	k      int
}

func (h *half) outerEnd(s *fscan, name []byte) error {
	if len(h.closes) >= maxPending {
		return errNoSplit
	}
	h.closes = append(h.closes, name)
	s.depth--
	// What follows is at the top of the fragment only if no outer
	// element is left open, which the join decides.
	s.info.TopElements, s.info.TopText = 0, false
	return nil
}

func (h *half) noteBindings(n int) {
	k := len(h.closes)
	for len(h.maxBinds) <= k {
		h.maxBinds = append(h.maxBinds, 0)
	}
	h.maxBinds[k] = max(h.maxBinds[k], n)
}

func (h *half) deferName(b []byte, attr bool) error {
	k := len(h.closes)
	for len(h.unbound) <= k {
		h.unbound = append(h.unbound, pendingNames{})
	}
	u := &h.unbound[k]
	m := &u.elements
	if attr {
		m = &u.prefixes
	}
	if _, ok := (*m)[string(b)]; ok {
		return nil
	}
	if h.pending++; h.pending > maxPending {
		return errNoSplit
	}
	if *m == nil {
		*m = make(map[string]struct{})
	}
	(*m)[string(b)] = struct{}{}
	return nil
}

func (h *half) noteElement(ns string, local []byte) {
	if _, ok := h.elements[ns][string(local)]; ok {
		return
	}
	if h.elements == nil {
		h.elements = make(map[string]map[string]struct{})
	}
	if h.elements[ns] == nil {
		h.elements[ns] = make(map[string]struct{})
	}
	h.elements[ns][string(local)] = struct{}{}
	h.pending++
}

func (h *half) deferID(value string, prefix []byte, local string) {
	h.ids = append(h.ids, pendingID{value: value, prefix: prefix, local: local, k: len(h.closes)})
}

// scanSplit scans a large fragment as two halves on two goroutines and
// joins them. It returns done false, having called no callback that a
// whole scan would not call too, when the fragment is small, when only one
// processor is available, or when either half or the join finds anything
// amiss, including the split falling inside a comment or CDATA section:
// the whole scan then decides, with its errors.
func scanSplit(data []byte, fc *FragmentCheck) (info FragmentInfo, err error, done bool) {
	if from := fc.splitFrom(); from < 0 || len(data) < from || runtime.GOMAXPROCS(0) < 2 {
		return FragmentInfo{}, nil, false
	}
	// Every '<' in content starts markup; one inside a comment or a
	// CDATA section leaves the first half unterminated.
	at := bytes.IndexByte(data[len(data)/2:], '<')
	if at < 0 {
		return FragmentInfo{}, nil, false
	}
	return scanSplitAt(data, fc, at+len(data)/2)
}

func scanSplitAt(data []byte, fc *FragmentCheck, at int) (FragmentInfo, error, bool) {
	// The halves write their positions and counters all the time: keep
	// them off each other's cache lines.
	halves := new(struct {
		first      fscan
		firstHalf  half
		_          [64]byte
		second     fscan
		secondHalf half
	})
	first, second := &halves.first, &halves.second
	*first = *newFragmentScan(data[:at], fc)
	first.half = &halves.firstHalf
	*second = fscan{d: data[at:], fc: fc, half: &halves.secondHalf}
	second.half.second = true
	// Whichever goroutine comes to the second half first scans it: on a
	// busy machine the new one may not run before the first half is done,
	// and then waiting for it would only add its delay.
	var secondErr error
	var claimed atomic.Bool
	scanSecond := func() {
		if claimed.CompareAndSwap(false, true) {
			secondErr = second.run()
		}
	}
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		scanSecond()
	}()
	firstErr := first.run()
	if firstErr == nil {
		scanSecond()
	} else {
		claimed.Store(true) // the whole scan decides; the second half is not needed
	}
	<-finished
	if firstErr != nil || secondErr != nil {
		return FragmentInfo{}, nil, false
	}
	return join(first, second, fc)
}

// join checks the halves against each other and reports the Id values.
func join(a, b *fscan, fc *FragmentCheck) (FragmentInfo, error, bool) {
	if !fits(a, b, fc.Limits) || !resolves(a, b, fc) {
		return FragmentInfo{}, nil, false
	}
	// The fragment is well-formed: report the Id values as a whole scan
	// would have, in document order.
	if fc.ID != nil {
		for _, id := range append(a.half.ids, b.half.ids...) {
			if id.prefix != nil {
				if u, _ := resolveIn(a.scopeAfter(id.k), id.prefix, false); !IsID(u, id.local) {
					continue
				}
			}
			if err := fc.ID(id.value); err != nil {
				return FragmentInfo{}, err, true
			}
		}
	}
	return FragmentInfo{
		Elements:    a.elements + b.elements - fc.Limits.ElementsOffset,
		TopElements: a.info.TopElements + b.info.TopElements,
		TopText:     a.info.TopText || b.info.TopText,
	}, nil, true
}

// fits reports whether the second half closes exactly the elements the
// first left open, and the two together stay within the limits.
func fits(a, b *fscan, lim Limits) bool {
	h, n := b.half, len(a.stack)
	if len(h.closes) != n {
		return false
	}
	for i, name := range h.closes {
		if !bytes.Equal(name, a.stack[n-1-i]) {
			return false
		}
	}
	if (lim.MaxDepth > 0 && a.depth+h.maxDepth > lim.MaxDepth) || (lim.MaxElements > 0 && a.elements+b.elements > lim.MaxElements) {
		return false
	}
	for k, m := range h.maxBinds {
		if lim.MaxNamespaces > 0 && len(a.scopeAfter(k))+m > lim.MaxNamespaces {
			return false
		}
	}
	return true
}

// resolves reports whether every name the second half left to the join
// is bound in the first half's scope and no element is forbidden.
func resolves(a, b *fscan, fc *FragmentCheck) bool {
	forbidden := func(ns string, local []byte) bool {
		return fc.Forbidden != nil && fc.Forbidden(ns, local)
	}
	for k, u := range b.half.unbound {
		sc := a.scopeAfter(k)
		for qn := range u.elements {
			prefix, local := splitQName([]byte(qn))
			ns, ok := resolveIn(sc, prefix, true)
			if !ok || forbidden(ns, local) {
				return false
			}
		}
		for p := range u.prefixes {
			if _, ok := resolveIn(sc, []byte(p), false); !ok {
				return false
			}
		}
	}
	for ns, locals := range b.half.elements {
		for local := range locals {
			if forbidden(ns, []byte(local)) {
				return false
			}
		}
	}
	return true
}

// scopeAfter returns the declarations in scope at the end of the first
// half once k of its open elements are closed.
func (s *fscan) scopeAfter(k int) []nsBinding {
	if k == 0 {
		return s.binds
	}
	return s.binds[:s.marks[len(s.stack)-k]]
}

// resolveIn resolves prefix in a list of declarations as fscan.resolve
// does in its own.
func resolveIn(binds []nsBinding, prefix []byte, element bool) (string, bool) {
	if len(prefix) == 0 && !element {
		return "", true
	}
	if len(prefix) == 3 && string(prefix) == "xml" {
		return NSXML, true
	}
	if uri, found := declared(binds, prefix); found {
		return uri, len(prefix) == 0 || uri != ""
	}
	return "", len(prefix) == 0
}

// declared returns the URI of the innermost declaration of prefix.
func declared(binds []nsBinding, prefix []byte) (uri string, found bool) {
	for i := len(binds) - 1; i >= 0; i-- {
		if string(binds[i].prefix) == string(prefix) {
			return binds[i].uri, true
		}
	}
	return "", false
}
