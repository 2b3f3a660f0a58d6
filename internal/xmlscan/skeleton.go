package xmlscan

import (
	"bytes"
	"encoding/hex"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
)

// Skeleton is a message with its large text runs cut out, so that the
// tokenizer and the tree see a few kilobytes instead of megabytes of base64.
// Each cut run is replaced by a marker made from a random nonce, which a
// sender cannot predict and so cannot forge. The runs are read later
// straight from the original bytes ([Skeleton.Lookup]) and put back into
// the serialized output ([Skeleton.Expand]).
type Skeleton struct {
	// Data is the message with markers in place of the cut runs; it is the
	// original message when nothing was cut.
	Data   []byte
	src    []byte
	cuts   []span
	marker string
}

type span struct{ start, end int }

// CutText returns the skeleton of msg, cutting the text content of
// elements with the local name local (in any namespace) where it is at
// least min bytes long, holds something other than white space and no
// reference. It does not modify msg. Anything it cannot scan simply stays
// uncut: the parser will judge it.
func CutText(msg []byte, local string, min int, nonce [8]byte) *Skeleton {
	return CutTextInto(nil, msg, local, min, nonce)
}

// CutTextInto is [CutText] building the skeleton's Data in dst's memory
// where it fits (dst's contents are overwritten; nil means none). Data is
// msg or in dst's memory whenever it is not a new allocation: reuse dst
// only once the skeleton is no longer used.
func CutTextInto(dst, msg []byte, local string, min int, nonce [8]byte) *Skeleton {
	s := &Skeleton{Data: msg, src: msg, marker: "wsrenew" + hex.EncodeToString(nonce[:]) + "_"}
	var cuts []span
	i := bytes.IndexByte(msg, '<')
	// A message without the name has nothing to cut: one fast search
	// spares reading its every tag.
	if i < 0 || min <= 0 || !bytes.Contains(msg, []byte(local)) {
		return s
	}
	for {
		// msg[i] == '<': find where this markup ends.
		end := markupEnd(msg, i)
		if end < 0 {
			return s
		}
		named := hasLocalName(msg[i:end], local)
		var next int
		amp := false
		if named {
			next, amp = textEnd(msg[end:], textEndTwoWay)
		} else {
			next = bytes.IndexByte(msg[end:], '<')
		}
		if next < 0 {
			break
		}
		text := msg[end : end+next]
		if len(text) >= min && named && !amp && len(bytes.TrimLeft(text, " \t\r\n")) > 0 {
			cuts = append(cuts, span{end, end + next})
		}
		i = end + next
	}
	if len(cuts) == 0 {
		return s
	}
	size := len(msg)
	for k, c := range cuts {
		size += len(s.markerFor(k)) - (c.end - c.start)
	}
	data := dst[:0]
	if cap(data) < size {
		data = make([]byte, 0, size)
	}
	prev := 0
	for k, c := range cuts {
		data = append(data, msg[prev:c.start]...)
		data = append(data, s.markerFor(k)...)
		prev = c.end
	}
	s.Data = append(data, msg[prev:]...)
	s.cuts = cuts
	return s
}

// markupEnd returns the index just past the markup starting at msg[i], or
// -1 if it does not end or is a document type declaration.
func markupEnd(msg []byte, i int) int {
	rest := msg[i:]
	find := func(open int, close string) int {
		n := bytes.Index(rest[open:], []byte(close))
		if n < 0 {
			return -1
		}
		return i + open + n + len(close)
	}
	switch {
	case bytes.HasPrefix(rest, []byte("<!--")):
		return find(4, "-->")
	case bytes.HasPrefix(rest, []byte("<![CDATA[")):
		return find(9, "]]>")
	case bytes.HasPrefix(rest, []byte("<?")):
		return find(2, "?>")
	case bytes.HasPrefix(rest, []byte("<!")):
		return -1
	}
	// A tag: '>' ends it outside quoted attribute values.
	for j := 1; j < len(rest); j++ {
		switch rest[j] {
		case '>':
			return i + j + 1
		case '"', '\'':
			n := bytes.IndexByte(rest[j+1:], rest[j])
			if n < 0 {
				return -1
			}
			j += n + 1
		}
	}
	return -1
}

// hasLocalName reports whether tag, a complete piece of markup, is a start
// tag (not self-closing) of an element with the local name local.
func hasLocalName(tag []byte, local string) bool {
	if len(tag) < 3 || tag[1] == '/' || tag[1] == '!' || tag[1] == '?' || tag[len(tag)-2] == '/' {
		return false
	}
	n := 1
	for n < len(tag) && !isSpace(tag[n]) && tag[n] != '>' && tag[n] != '/' {
		n++
	}
	name := tag[1:n]
	if i := bytes.LastIndexByte(name, ':'); i >= 0 {
		name = name[i+1:]
	}
	return string(name) == local
}

func (s *Skeleton) markerFor(k int) string {
	return s.marker + strconv.Itoa(k) + "_"
}

// Cuts returns the number of cut runs; markers from Cuts() on are free
// for [Skeleton.Marker].
func (s *Skeleton) Cuts() int { return len(s.cuts) }

// Lookup returns the original bytes of the run a marker text stands for.
func (s *Skeleton) Lookup(text string) ([]byte, int, bool) {
	k, ok := s.index(text)
	if !ok || k >= len(s.cuts) {
		return nil, 0, false
	}
	c := s.cuts[k]
	return s.src[c.start:c.end], k, true
}

// Raw returns the original bytes of cut run k.
func (s *Skeleton) Raw(k int) []byte {
	c := s.cuts[k]
	return s.src[c.start:c.end]
}

func (s *Skeleton) index(text string) (int, bool) {
	if !strings.HasPrefix(text, s.marker) || !strings.HasSuffix(text, "_") {
		return 0, false
	}
	k, err := strconv.Atoi(text[len(s.marker) : len(text)-1])
	if err != nil || k < 0 {
		return 0, false
	}
	return k, true
}

// Marker returns the marker for extra piece k (counted from 0) of an
// [Skeleton.Expand] call, such as decrypted content to splice in.
func (s *Skeleton) Marker(k int) string { return s.markerFor(len(s.cuts) + k) }

// Markers counts the markers in out, a serialization of the skeleton's
// tree.
func (s *Skeleton) Markers(out []byte) int {
	return bytes.Count(out, []byte(s.marker))
}

// Expand replaces every marker in out, a serialization of the skeleton's
// tree, with the original run it stands for, or with extra[k] for the
// marker [Skeleton.Marker](k). It allocates the result once.
func (s *Skeleton) Expand(out []byte, extra [][]byte) []byte {
	piece := func(k int) []byte {
		if k < len(s.cuts) {
			return s.Raw(k)
		}
		return extra[k-len(s.cuts)]
	}
	type hit struct{ at, n, k int }
	var hits []hit
	size := len(out)
	m := []byte(s.marker)
	for i := 0; ; {
		j := bytes.Index(out[i:], m)
		if j < 0 {
			break
		}
		at := i + j
		end := bytes.IndexByte(out[at+len(m):], '_')
		if end < 0 {
			break
		}
		n := len(m) + end + 1
		k, ok := s.index(string(out[at : at+n]))
		if !ok || k >= len(s.cuts)+len(extra) {
			i = at + 1
			continue
		}
		hits = append(hits, hit{at, n, k})
		size += len(piece(k)) - n
		i = at + n
	}
	if len(hits) == 0 {
		return out
	}
	res := make([]byte, 0, size)
	prev := 0
	for _, h := range hits {
		res = append(res, out[prev:h.at]...)
		res = append(res, piece(h.k)...)
		prev = h.at + h.n
	}
	return append(res, out[prev:]...)
}

// textEnd returns the index of the first '<' in rest, or -1, and whether
// a '&' comes before it. The two searches go together chunk by chunk,
// so that a long run is read from memory once. From twoWayFrom bytes on,
// with more than one processor, the part after the first chunk is
// searched in two halves at once; the second half gives up as soon as the
// first finds the end.
func textEnd(rest []byte, twoWayFrom int) (int, bool) {
	first := rest[:min(len(rest), textChunk)]
	n0, amp0 := textEndIn(first, nil)
	if n0 >= 0 || len(rest) == len(first) {
		return n0, amp0
	}
	if len(rest) < twoWayFrom || runtime.GOMAXPROCS(0) < 2 {
		n, amp := textEndIn(rest[len(first):], nil)
		if n >= 0 {
			n += len(first)
		}
		return n, amp0 || amp
	}
	mid := len(first) + (len(rest)-len(first))/2
	// found stops the second half once the first found the end; claimed
	// lets this goroutine search the second half itself when the new one
	// has not started by then, as on a busy machine.
	var found, claimed atomic.Bool
	n2, amp2 := -1, false
	searchSecond := func() {
		if claimed.CompareAndSwap(false, true) {
			n2, amp2 = textEndIn(rest[mid:], &found)
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		searchSecond()
	}()
	n1, amp1 := textEndIn(rest[len(first):mid], nil)
	if n1 >= 0 {
		found.Store(true)
	} else {
		searchSecond()
	}
	<-done
	switch {
	case n1 >= 0:
		return len(first) + n1, amp0 || amp1
	case n2 >= 0:
		return mid + n2, amp0 || amp1 || amp2
	}
	return -1, amp0 || amp1 || amp2
}

// textEndIn is textEnd on one goroutine, stopping with -1 between chunks
// once stop (if not nil) is set.
func textEndIn(b []byte, stop *atomic.Bool) (int, bool) {
	amp := false
	for off := 0; off < len(b); off += textChunk {
		if stop != nil && stop.Load() {
			return -1, amp
		}
		c := b[off:min(len(b), off+textChunk)]
		n := bytes.IndexByte(c, '<')
		if n >= 0 {
			c = c[:n]
		}
		amp = amp || bytes.IndexByte(c, '&') >= 0
		if n >= 0 {
			return off + n, amp
		}
	}
	return -1, amp
}

const (
	// textChunk is how much of a text run textEnd reads at a time: it
	// stays in the processor's cache between the two searches.
	textChunk = 64 << 10
	// textEndTwoWay is the length of the rest of a message from which
	// textEnd searches it in two halves at once.
	textEndTwoWay = 1 << 20
)
