package wssec

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"hash"
	"sync"
	"sync/atomic"

	"github.com/wsrenew/wsrenew/internal/c14n"
	"github.com/wsrenew/wsrenew/internal/soap"
	"github.com/wsrenew/wsrenew/internal/xmlscan"
)

// bodyDigest is the SHA-256 digest of a message's Body as received, in
// exclusive canonical form without comments or InclusiveNamespaces (what
// signers send), computed from the message's bytes on one more goroutine
// while the calling goroutine parses the message, reads its encrypted
// data and checks its signatures: for a signature over the Body of a
// message with nothing encrypted, or over the encrypted Body
// (encrypt-then-sign).
//
// It is a guess computed from bytes no parser has judged yet, so it is
// read only after the parse accepted them, for a reference that asks for
// exactly this digest of the element the guess found (same place, same
// name as written): any other reference, and any error of the guess,
// is digested as it would be without it. It reads only the message as
// received, which is public, and is stopped before the first private-key
// operation, so no plaintext is ever near it and the order of the checks
// is unchanged. The reading never panics on any input, is bounded by the
// message's canonicalization budget and the policy's depth and attribute
// limits (see c14n.CanonicalizeBytesMatch), and stops when the call ends:
// close waits for it, so no goroutine outlives Decrypt or reads the
// caller's message after it returned.
type bodyDigest struct {
	stop atomic.Bool
	done chan struct{}
	pipe hashPipe
	// found and err are the reading's outcome, set before done closes.
	found c14n.Found
	err   error
	// sum, once read, is the digest; closed says close was called,
	// after which the digest may be incomplete and is not used. Both
	// belong to the calling goroutine.
	sum    []byte
	closed bool
	// signature says the reading met a Signature element; it belongs
	// to the reading goroutine.
	signature bool
}

// bodyDigestMin is the size of message from which its Body is digested
// on a second goroutine: below it the hand-over costs more than it
// saves.
const bodyDigestMin = 64 << 10

// bodyChunk is the size of the buffers the canonical form is handed
// over in: large enough that a 16 MB Body costs a few hundred handovers.
const bodyChunk = 64 << 10

// startBodyDigest starts the digest of message's Body. The caller must
// call close before it returns.
func startBodyDigest(message []byte, lim xmlscan.Limits) *bodyDigest {
	b := &bodyDigest{done: make(chan struct{})}
	b.pipe.h = sha256.New()
	b.pipe.ready.L = &b.pipe.mu
	b.pipe.stop = &b.stop
	// The budget of the whole message bounds this one element: the use
	// charges what it cost to the message's budget, as a digest computed
	// then would.
	max := newCanonBudget(len(message)).max
	go func() {
		defer close(b.done)
		opt := c14n.Options{Method: c14n.Method{Exclusive: true}, MaxBytes: max}
		g := c14n.Guard{MaxDepth: lim.MaxDepth, MaxAttributes: lim.MaxAttributes, Stop: &b.stop}
		b.found, b.err = c14n.CanonicalizeBytesMatch(&b.pipe, message, b.isBody, opt, max, g)
		b.pipe.finish()
	}()
	return b
}

// isBody reports whether an element before the Body, or the Body, is a
// SOAP Body where the envelope's own stands. It also gives up on the
// digest at an encrypted element (EncryptedKey, EncryptedData,
// EncryptedHeader) before any Signature: what is signed then is the
// plaintext (sign-then-encrypt), and the second core is better left to
// decryption than spent reading a long CipherValue. A guess on names
// alone, which decides nothing but speed.
func (b *bodyDigest) isBody(depth int, ns string, local []byte) bool {
	switch {
	case string(local) == "Signature":
		b.signature = true
	case !b.signature && bytes.HasPrefix(local, []byte("Encrypted")):
		b.stop.Store(true)
	}
	return depth == 2 && (ns == soap.NSSOAP11 || ns == soap.NSSOAP12) && string(local) == "Body"
}

// close stops the reading, if it still runs, and waits for it. It may be
// called on nil and more than once.
func (b *bodyDigest) close() {
	if b == nil {
		return
	}
	b.cancel()
	<-b.done
}

// cancel tells the reading to stop, without waiting for it: the digest
// is no longer wanted. close must still be called. It may be called on
// nil.
func (b *bodyDigest) cancel() {
	if b == nil {
		return
	}
	b.closed = true
	b.stop.Store(true)
}

// fits reports whether the guess is the digest a reference asks for:
// SHA-256 over the exclusive canonical form, without comments or
// InclusiveNamespaces, of the element at place n written qname.
func (b *bodyDigest) fits(hash crypto.Hash, m c14n.Method, prefixes string, n int, qname string) bool {
	if b == nil || b.closed || hash != crypto.SHA256 || m != (c14n.Method{Exclusive: true}) || !isBlank(prefixes) {
		return false
	}
	b.wait()
	return b.err == nil && b.found.Ordinal == n && b.found.QName == qname
}

// wait takes over the hashing from the reading goroutine and returns
// once the reading is done.
func (b *bodyDigest) wait() {
	if b.sum == nil {
		b.sum = b.pipe.sum()
	}
	<-b.done
}

// charge returns the digest, once fits reported true, charging the budget
// what computing it then would have cost, with the same limit error.
func (b *bodyDigest) charge(budget *canonBudget) ([]byte, error) {
	if budget != nil {
		if budget.left <= 0 || budget.skipLeft <= 0 || b.found.Written > budget.left || b.found.Skipped > budget.skipLeft {
			budget.left = 0
			return nil, limitError("canonicalized bytes", budget.max)
		}
		budget.left -= b.found.Written
		budget.skipLeft -= b.found.Skipped
	}
	return b.sum, nil
}

// isBlank reports whether s holds nothing but XML white space: a
// PrefixList that names no prefix.
func isBlank(s string) bool {
	for i := range len(s) {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
		default:
			return false
		}
	}
	return true
}

// hashPipe hashes the canonical form as it is written. Until the calling
// goroutine asks for the digest, the writing goroutine hashes each
// buffer itself; from then on it hands the buffers over and the caller
// hashes them, so that canonicalization and hashing use the two cores.
// The writer never waits for the caller.
type hashPipe struct {
	h     hash.Hash
	mu    sync.Mutex
	ready sync.Cond // on mu: a buffer was queued, or the writer is done
	queue []pipeChunk
	free  [][]byte
	// joined: the caller hashes from now on; done: nothing more comes.
	joined, done bool
	// stop, once true, ends the writer's own hashing: its digest is no
	// longer wanted.
	stop *atomic.Bool
}

// hashPiece is what the writer hashes between two looks at stop, so
// that a large slice of the message does not hold up a call that ended.
const hashPiece = 1 << 20

type pipeChunk struct {
	b     []byte
	owned bool // a buffer of the pipe's, reused once hashed
}

// Write is called with slices of the message only (c14n.ChunkWriter),
// which stay unmodified while the call lasts: they are queued as they
// are.
func (p *hashPipe) Write(b []byte) (int, error) {
	p.put(pipeChunk{b: b})
	return len(b), nil
}

// WriteChunk implements c14n.ChunkWriter.
func (p *hashPipe) WriteChunk(buf []byte) []byte {
	if buf == nil {
		return make([]byte, 0, bodyChunk)
	}
	if !p.put(pipeChunk{b: buf, owned: true}) {
		return buf[:0]
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		next := p.free[n-1]
		p.free = p.free[:n-1]
		return next
	}
	return make([]byte, 0, bodyChunk)
}

// put hashes c, or queues it for the caller once it joined, and reports
// whether it queued it.
func (p *hashPipe) put(c pipeChunk) bool {
	p.mu.Lock()
	if !p.joined {
		p.mu.Unlock()
		// Only this goroutine hashes until the caller joins, and the
		// caller hashes only what is queued after this returns.
		for b := c.b; len(b) > 0 && (p.stop == nil || !p.stop.Load()); {
			n := min(len(b), hashPiece)
			p.h.Write(b[:n])
			b = b[n:]
		}
		return false
	}
	p.queue = append(p.queue, c)
	p.ready.Signal()
	p.mu.Unlock()
	return true
}

// finish says that nothing more will be written.
func (p *hashPipe) finish() {
	p.mu.Lock()
	p.done = true
	p.ready.Broadcast()
	p.mu.Unlock()
}

// sum joins the hashing, hashes what is queued until the writer is done,
// and returns the digest.
func (p *hashPipe) sum() []byte {
	p.mu.Lock()
	p.joined = true
	for {
		for len(p.queue) == 0 && !p.done {
			p.ready.Wait()
		}
		if len(p.queue) == 0 {
			break
		}
		c := p.queue[0]
		p.queue[0] = pipeChunk{}
		p.queue = p.queue[1:]
		p.mu.Unlock()
		p.h.Write(c.b)
		p.mu.Lock()
		if c.owned {
			p.free = append(p.free, c.b[:0])
		}
	}
	p.mu.Unlock()
	return p.h.Sum(nil)
}
