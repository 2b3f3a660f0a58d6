package xmlenc

import (
	"bytes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"runtime"
	"sync/atomic"
)

// parallelMin is the size from which base64 decoding and CBC and GCM
// decryption work on two goroutines, when more than one processor is
// available.
// Below it a second goroutine costs more than it saves. Tests pass a
// smaller size to the unexported functions that take one.
const parallelMin = 1 << 20

// twoWay reports whether n bytes are worth two goroutines, from the size
// from on.
func twoWay(n, from int) bool {
	return n >= from && runtime.GOMAXPROCS(0) > 1
}

// decodeTwoWay decodes text into dst on two goroutines, with t, and
// reports whether it did: unwrapped text (no line break near its middle)
// in pieces of piece characters, wrapped text in two halves.
// dst must have room for base64.StdEncoding.DecodedLen(len(text)) bytes.
func decodeTwoWay(t *pairTable, dst, text []byte, piece int) (int, bool) {
	m := len(text) / 2
	if bytes.IndexByte(text[m:min(m+maxLineSearch, len(text))], '\n') < 0 {
		return decodePieces(t, dst, text, piece)
	}
	return decodeHalves(t, dst, text)
}

// decodePieces decodes text into dst in pieces of piece characters, a
// multiple of four, that two goroutines take from a shared counter, and
// reports whether it did. Each piece but the last must decode on its own
// to three bytes for every four characters, which a piece holding white
// space or padding does not: then it reports false, and the caller
// decodes the whole text. Each piece decodes into its own part of dst, so
// that no write of one reaches another's.
func decodePieces(t *pairTable, dst, text []byte, piece int) (int, bool) {
	out := piece / 4 * 3
	pieces := (len(text) + piece - 1) / piece
	var bad atomic.Bool
	var last int
	shared(pieces, func(_, j int) {
		src := text[j*piece : min(len(text), (j+1)*piece)]
		if j == pieces-1 {
			n, err := t.decode(dst[j*out:], src)
			last = n
			if err != nil {
				bad.Store(true)
			}
			return
		}
		if n, err := t.decode(dst[j*out:(j+1)*out], src); err != nil || n != out {
			bad.Store(true)
		}
	})
	if bad.Load() {
		return 0, false
	}
	return (pieces-1)*out + last, true
}

// decodePiece is the number of characters decodePieces gives each piece.
const decodePiece = 256 << 10

// decodeHalves decodes text into dst in two halves at once, with t, and
// reports whether it did. dst must have room for base64.StdEncoding.DecodedLen
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
func decodeHalves(t *pairTable, dst, text []byte) (int, bool) {
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
	var n1, n2 int
	var err1, err2 error
	shared(2, func(_, i int) {
		if i == 0 {
			n1, err1 = t.decode(dst[:base], text[:m])
		} else {
			n2, err2 = t.decode(dst[base:], text[m:])
		}
	})
	if err1 != nil || err2 != nil || endsInPadding(text[:m]) {
		return 0, false
	}
	if n1 < base {
		// Moved down in chunks: each reads only what no earlier one wrote,
		// and none is a long memmove the scheduler cannot preempt.
		for k := 0; k < n2; k += cryptChunk {
			copy(dst[n1+k:], dst[base+k:base+min(n2, k+cryptChunk)])
		}
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
// cryptChunk pieces shared by two goroutines (block and block2 hold the
// same key, one per goroutine): CBC decryption of a block needs only the
// ciphertext block before it, which is copied for each piece before any
// is overwritten.
func decryptCBCHalves(block, block2 cipher.Block, iv, body []byte) {
	bs := block.BlockSize()
	pieces := (len(body) + cryptChunk - 1) / cryptChunk
	ivs := make([][]byte, pieces)
	ivs[0] = iv
	for j := 1; j < pieces; j++ {
		ivs[j] = bytes.Clone(body[j*cryptChunk-bs : j*cryptChunk])
	}
	blocks := [2]cipher.Block{block, block2}
	shared(pieces, func(w, j int) {
		part := body[j*cryptChunk : min(len(body), (j+1)*cryptChunk)]
		cipher.NewCBCDecrypter(blocks[w], ivs[j]).CryptBlocks(part, part)
	})
}

// openGCMHalves is AES-GCM decryption (NIST SP 800-38D) of body,
// ciphertext ‖ 16-byte tag, in place with a 12-byte iv, on two goroutines.
// It checks the tag first and decrypts only after it verified, so nothing
// of the plaintext exists before then; on a wrong tag it reports false and
// leaves body as it was. block and block2 hold the same key, one per
// goroutine.
//
// The standard library's Open is one pass, so it cannot be split. Its
// Seal, given ciphertext as additional data and no plaintext, runs the
// same GHASH over the same blocks, differing only in the final length
// block: the ciphertext is hashed that way in cryptChunk pieces shared by
// the two goroutines, the pieces are joined by GHASH's linearity (the
// hash of what comes before a piece moves past its blocks by a power of
// H), and the length block is corrected. Decryption is then CTR mode from
// the counter GCM uses, in the same pieces. Each piece is one call into
// the standard library's assembly, which cannot be preempted: a longer
// one would keep the garbage collector waiting.
func openGCMHalves(block, block2 cipher.Block, iv, body []byte) ([]byte, bool) {
	const tagSize = 16
	if len(iv) != gcmIVSize || len(body) < tagSize {
		return nil, false
	}
	ct, tag := body[:len(body)-tagSize], body[len(body)-tagSize:]
	if uint64(len(ct)) > gcmMaxText {
		return nil, false
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, false
	}
	aead2, err := cipher.NewGCM(block2)
	if err != nil {
		return nil, false
	}
	var h, ek0, j0 [16]byte
	block.Encrypt(h[:], h[:])
	copy(j0[:], iv)
	j0[15] = 1
	block.Encrypt(ek0[:], j0[:])
	g := &ghasher{iv: iv, h: gfLoad(h[:]), ek0: gfLoad(ek0[:])}
	g.chunkPow = g.h.pow(cryptChunk / 16)
	clear(h[:])
	clear(ek0[:])
	defer func() { *g = ghasher{} }() // values derived from the key

	pieces := (len(ct) + cryptChunk - 1) / cryptChunk
	aeads := [2]cipher.AEAD{aead, aead2}
	zs := make([]gf, pieces)
	shared(pieces, func(w, j int) {
		zs[j] = g.z(aeads[w], ct[j*cryptChunk:min(len(ct), (j+1)*cryptChunk)])
	})
	// The GHASH of the whole, times H, joins the pieces' by Horner's
	// rule; the length block of the ciphertext follows.
	var s gf
	for j, z := range zs {
		step := g.chunkPow
		if j == pieces-1 {
			step = g.h.pow(uint64(blocks(len(ct) - j*cryptChunk)))
		}
		s = s.mul(step).xor(z)
	}
	s = s.xor(gf{lo: uint64(len(ct)) * 8}.mul(g.h))
	var want [tagSize]byte
	s.xor(g.ek0).store(want[:])
	if subtle.ConstantTimeCompare(want[:], tag) != 1 {
		return nil, false
	}

	// The counter of the first ciphertext block is J0 + 1; GCM increments
	// only its last 32 bits, which gcmMaxText keeps from wrapping, so
	// CTR mode's 128-bit increment gives the same stream.
	ciphers := [2]cipher.Block{block, block2}
	shared(pieces, func(w, j int) {
		var c [16]byte
		copy(c[:], iv)
		binary.BigEndian.PutUint32(c[12:], uint32(2+j*cryptChunk/16))
		part := ct[j*cryptChunk : min(len(ct), (j+1)*cryptChunk)]
		cipher.NewCTR(ciphers[w], c[:]).XORKeyStream(part, part)
	})
	return ct, true
}

// ghasher computes GHASH through the standard library's GCM Seal, for
// one key and IV.
type ghasher struct {
	iv       []byte
	h, ek0   gf // H and the encrypted initial counter block J0
	chunkPow gf // H to the number of blocks in cryptChunk bytes
}

// z returns Y·H for piece, at most cryptChunk bytes and a whole number
// of blocks unless it is the last piece of the ciphertext, where Y is the
// GHASH of piece's blocks alone. Seal's tag of piece as additional data
// is EK0 ⊕ (Y ⊕ L)·H, with L the length block of that many bytes of
// additional data.
func (g *ghasher) z(aead cipher.AEAD, piece []byte) gf {
	var t [16]byte
	aead.Seal(t[:0], g.iv, nil, piece)
	return gfLoad(t[:]).xor(g.ek0).xor(gf{hi: uint64(len(piece)) * 8}.mul(g.h))
}

// blocks returns the number of 16-byte blocks n bytes take, the last
// one padded.
func blocks(n int) int { return (n + 15) / 16 }

// cryptChunk is how much data one call into the standard library's
// cipher assembly processes in the two-goroutine paths, the unit the two
// share; a multiple of the block size.
const cryptChunk = 256 << 10

const (
	// gcmIVSize is the IV size openGCMHalves takes, the one XML
	// Encryption 1.1 defines for AES-GCM.
	gcmIVSize = 12
	// gcmMaxText is the longest plaintext GCM encrypts with a 12-byte IV
	// (NIST SP 800-38D, 5.2.1.1): 2^32 - 2 blocks.
	gcmMaxText = (1<<32 - 2) * 16
)

// shared calls f(w, i) once for each i in [0, n), on this goroutine
// (w = 0) and on a second one (w = 1), each taking the next i that
// neither has taken, and returns when all are done. Where the scheduler
// runs the second goroutine late, as on a busy machine, this one does
// more of the work instead of waiting for half of it.
func shared(n int, f func(w, i int)) {
	var next atomic.Int64
	work := func(w int) {
		for {
			i := int(next.Add(1) - 1)
			if i >= n {
				return
			}
			f(w, i)
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		work(1)
	}()
	work(0)
	<-done
}

// gf is an element of GF(2^128) as GCM represents it: hi holds the first
// eight bytes big-endian, and the first bit is the coefficient of x^0.
type gf struct{ hi, lo uint64 }

func gfLoad(b []byte) gf {
	return gf{binary.BigEndian.Uint64(b), binary.BigEndian.Uint64(b[8:])}
}

func (x gf) store(b []byte) {
	binary.BigEndian.PutUint64(b, x.hi)
	binary.BigEndian.PutUint64(b[8:], x.lo)
}

func (x gf) xor(y gf) gf { return gf{x.hi ^ y.hi, x.lo ^ y.lo} }

// mul is multiplication in GF(2^128) (NIST SP 800-38D, 6.3, algorithm
// 1). H is secret, so it branches on no bit of either operand and reads
// no table.
func (x gf) mul(y gf) gf {
	var z gf
	v := y
	for i := range 128 {
		var bit uint64
		if i < 64 {
			bit = x.hi >> (63 - i) & 1
		} else {
			bit = x.lo >> (127 - i) & 1
		}
		m := -bit
		z.hi ^= v.hi & m
		z.lo ^= v.lo & m
		lsb := -(v.lo & 1)
		v.lo = v.lo>>1 | v.hi<<63
		v.hi = v.hi>>1 ^ 0xe1<<56&lsb
	}
	return z
}

// pow returns x^n. The exponent, a block count, is public.
func (x gf) pow(n uint64) gf {
	r := gf{hi: 1 << 63} // the polynomial 1
	for ; n > 0; n >>= 1 {
		if n&1 == 1 {
			r = r.mul(x)
		}
		x = x.mul(x)
	}
	return r
}
