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
// whether it did. It splits after a multiple of four base64 characters
// (the standard decoder skips line breaks, so they do not count) and
// accepts the result only if the first half decoded to exactly three
// bytes per four characters: padding there, or anything else the whole
// decode would refuse, makes it report false, and the caller decodes the
// whole text. dst must have room for base64.StdEncoding.DecodedLen
// (len(text)) bytes.
func decodeHalves(dst, text []byte) (int, bool) {
	m := len(text) / 2
	chars := m - bytes.Count(text[:m], []byte{'\n'}) - bytes.Count(text[:m], []byte{'\r'})
	for ; chars%4 != 0 && m < len(text); m++ {
		if c := text[m]; c != '\n' && c != '\r' {
			chars++
		}
	}
	if chars == 0 || chars%4 != 0 || m == len(text) {
		return 0, false
	}
	first := chars / 4 * 3
	var n2 int
	var err2 error
	done := make(chan struct{})
	go func() {
		defer close(done)
		n2, err2 = base64.StdEncoding.Decode(dst[first:], text[m:])
	}()
	// Four characters decode to at most three bytes, so the first half
	// cannot write beyond dst[:first], where the second half writes.
	n1, err1 := base64.StdEncoding.Decode(dst[:first], text[:m])
	<-done
	if err1 != nil || err2 != nil || n1 != first {
		return 0, false
	}
	return n1 + n2, true
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
