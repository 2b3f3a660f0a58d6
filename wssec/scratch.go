package wssec

import "github.com/wsrenew/wsrenew/internal/xmlscan"

// scratch is memory one Decrypt call borrows from its Decryptor's pool
// and gives back when it returns: the scanner's stacks, the memory of the
// message's tree, and the buffer the envelope is serialized into before
// the plaintext is spliced in. Nothing in it outlives the call: what goes
// into a Result or an error is copied out first (the tree's strings are
// not in this memory).
type scratch struct {
	scan xmlscan.Scratch
	out  []byte // the envelope serialized (see process.serialize)
	skel []byte // the skeleton's Data (see xmlscan.CutTextInto)
	// ct is the first EncryptedData's ciphertext, decrypted in place;
	// it is cleared before it serves again, so that no plaintext stays
	// in the pool.
	ct []byte
}

// maxScratchOut bounds the buffers a pooled scratch keeps, so that one
// large envelope does not pin its buffers for the Decryptor's lifetime.
const maxScratchOut = 64 << 10

// getScratch takes a scratch from d's pool, or makes one.
func (d *Decryptor) getScratch() *scratch {
	if sc, ok := d.scratch.Get().(*scratch); ok {
		return sc
	}
	return new(scratch)
}

// putScratch gives sc back to d's pool.
func (d *Decryptor) putScratch(sc *scratch) {
	sc.scan.Reset()
	clear(sc.ct[:cap(sc.ct)])
	if cap(sc.out) > maxScratchOut {
		sc.out = nil
	}
	if cap(sc.skel) > maxScratchOut {
		sc.skel = nil
	}
	d.scratch.Put(sc)
}
