package xmlenc

import (
	"bytes"
	"crypto/cipher"
	"encoding/base64"
	"runtime"
)

// parallelMin is the size from which base64 decoding and CBC decryption
// work on two halves at once, when more than one processor is available.
// Below it a second goroutine costs more than it saves. Tests pass a
// smaller size to the unexported functions that take one.
const parallelMin = 1 << 20

// twoWay reports whether n bytes are worth two goroutines, from the size
// from on.
func twoWay(n, from int) bool {
	return n >= from && runtime.GOMAXPROCS(0) > 1
}

// decodeHalves decodes text into dst in two halves at once and reports
// whether it did. dst must have room for base64.StdEncoding.DecodedLen
// (len(text)) bytes.
//
// The split must fall after a whole number of four-character groups, but
// counting the characters before it (the standard decoder skips line
// breaks) would read half the text once more. Instead it falls after a
// line break near the middle, where wrapped base64 ends a line (producers
// wrap at a multiple of four), or, in unwrapped text, at a multiple of four
// bytes. A first half that ends inside a group fails to decode; one that
// ends in padding decodes to fewer bytes than whole groups would; either
// way the halves report false, and the caller decodes the whole text.
// The second half decodes to where the first half's output would end if
// it held no line break, and moves down only if it did.
func decodeHalves(dst, text []byte) (int, bool) {
	m := len(text) / 2
	if nl := bytes.IndexByte(text[m:min(m+maxLineSearch, len(text))], '\n'); nl >= 0 {
		m += nl + 1
	} else {
		m -= m % 4
	}
	if m == 0 || m >= len(text) {
		return 0, false
	}
	// The first half has at most m characters, so decodes to at most
	// base bytes: it cannot write where the second half does.
	base := m / 4 * 3
	var n2 int
	var err2 error
	done := make(chan struct{})
	go func() {
		defer close(done)
		n2, err2 = base64.StdEncoding.Decode(dst[base:], text[m:])
	}()
	n1, err1 := base64.StdEncoding.Decode(dst[:base], text[:m])
	<-done
	if err1 != nil || err2 != nil || endsInPadding(text[:m]) {
		return 0, false
	}
	if n1 < base {
		copy(dst[n1:], dst[base:base+n2])
	}
	return n1 + n2, true
}

// maxLineSearch bounds the search for a line break after the middle of
// base64 text: lines are 64 or 76 characters long where text is wrapped.
const maxLineSearch = 1024

// endsInPadding reports whether the last character of text, line breaks
// aside, is base64 padding.
func endsInPadding(text []byte) bool {
	text = bytes.TrimRight(text, "\r\n")
	return len(text) > 0 && text[len(text)-1] == '='
}

// decryptCBCHalves decrypts body, a whole number of blocks, in place in
// two halves at once: CBC decryption of a block needs only the block
// before it, which the second half copies before the first half
// overwrites it.
func decryptCBCHalves(block, block2 cipher.Block, iv, body []byte) {
	bs := block.BlockSize()
	mid := len(body) / 2 / bs * bs
	if mid == 0 {
		cipher.NewCBCDecrypter(block, iv).CryptBlocks(body, body)
		return
	}
	iv2 := bytes.Clone(body[mid-bs : mid])
	done := make(chan struct{})
	go func() {
		defer close(done)
		cipher.NewCBCDecrypter(block2, iv2).CryptBlocks(body[mid:], body[mid:])
	}()
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(body[:mid], body[:mid])
	<-done
}
