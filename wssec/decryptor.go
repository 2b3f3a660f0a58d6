package wssec

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/internal/soap"
	"github.com/wsrenew/wsrenew/internal/xmlenc"
	"github.com/wsrenew/wsrenew/internal/xmlscan"
)

// Decryptor decrypts WS-Security encrypted SOAP messages with the keys of
// a [KeyRing]. The zero Policy is the secure default.
//
// A Decryptor is safe for concurrent use once built; its Policy and Keys
// fields must not be changed after the first call to Decrypt (change the
// ring through its own methods instead). It must not be copied after first
// use.
type Decryptor struct {
	Keys   *KeyRing
	Policy Policy

	// Signers, if set, turns on signature verification: every ds:Signature
	// of the Security header is verified, in header order, against these
	// certificates (and Policy.SignerRoots), including a Signature that is
	// itself encrypted (WSS4J's EncryptSignature) once decrypted; the
	// wsu:Timestamp is checked against the ring's clock; and by default
	// the Body and Timestamp must be covered by a verified signature. If
	// nil, signatures are not verified and a Result says nothing was
	// signed.
	//
	// A Timestamp is not required: partners whose policy has none still
	// verify, and their messages can be replayed, as any message can
	// within a Timestamp's validity. Where a Timestamp is present it must
	// be the Security header's own child and signed, so it cannot be
	// removed or moved to escape the freshness check: a signature
	// reference to a wsu:Timestamp anywhere else is refused.
	//
	// A SOAP Fault no verified signature covers is never a response, not
	// even with AllowUnsignedBody: it is a [*FaultError]. One sent in the
	// clear where the policy wants the Body encrypted matches
	// [ErrNotEncrypted] as well.
	Signers *TrustRing

	// Observer, if set, is told of every decryption, for metrics (see
	// [Observer]). If nil, nothing is observed and nothing is spent on it.
	Observer Observer

	once   sync.Once
	pol    *compiled
	polErr error
	// scratch pools per-call memory (*scratch) across concurrent calls.
	scratch sync.Pool
}

// Result is the outcome of a successful decryption.
type Result struct {
	// Envelope is the SOAP envelope with every EncryptedData replaced by
	// its plaintext and the processed EncryptedKey and ReferenceList
	// elements removed from the Security header.
	Envelope []byte
	// KeysUsed holds the certificate of each ring key that decrypted
	// something, in the order used, each once.
	KeysUsed []*x509.Certificate
	// Decrypted counts the EncryptedData elements decrypted.
	Decrypted int
	// SOAPVersion is 11 or 12.
	SOAPVersion int
	// Signers holds the certificate of each verified signature; empty
	// unless the Decryptor has Signers.
	Signers []*x509.Certificate
	// Signed lists the elements verified signatures cover, as they were
	// referenced (with encrypt-then-sign they are the encrypted forms),
	// each with where it sits in the envelope that was verified.
	Signed []SignedPart
}

// SignedBody reports whether a verified signature covers the envelope's
// own Body element. It decides by identity in the tree that was verified
// ([LocationBody]), not by name: a Body element moved elsewhere, with
// another put in its place, does not count, whatever the Policy allows.
func (r *Result) SignedBody() bool {
	for _, s := range r.Signed {
		if s.Location == LocationBody {
			return true
		}
	}
	return false
}

func (d *Decryptor) policy() (*compiled, error) {
	// compile copies what it needs out of the Policy, so later changes
	// to the caller's slices cannot reach a Decryptor in use.
	d.once.Do(func() { d.pol, d.polErr = d.Policy.compile() })
	return d.pol, d.polErr
}

// Decrypt decrypts message, a SOAP 1.1 or 1.2 envelope, and returns the
// plaintext envelope. It does not modify message.
//
// Every EncryptedData in the Header and Body is decrypted, whether a
// ReferenceList in the Security header names it or its own KeyInfo carries
// or references its EncryptedKey. The key is chosen by the EncryptedKey's
// key reference; with none, by trial (see [Policy.DisableTrialDecryption]).
//
// Errors, for [errors.Is]: [ErrMalformed], [ErrLimitExceeded],
// [ErrAlgorithmNotAllowed], [ErrNoMatchingKey] and [ErrNotEncrypted] are
// decided from the message alone, before any private-key operation;
// [ErrDecryptionFailed] is the one error after it, with no detail. Every
// key is unwrapped before any data is decrypted, and a ring key is left
// for the next candidate only when its unwrap (or an AES-GCM tag) fails,
// never because of CBC padding or the decrypted XML, so the number of
// private-key operations does not depend on the plaintext.
//
// With Signers, [ErrSignatureInvalid], [ErrUntrustedSigner] and
// [ErrMessageExpired] report signatures and the Timestamp, and
// [ErrUnsignedFault] (a [*FaultError]) an unsigned SOAP Fault, which
// also matches [ErrNotEncrypted] if it came in the clear. Every
// signature readable before decryption is checked before it: algorithms,
// signer, SignatureValue (before any reference digest), where its
// references point, the Timestamp, and whether the Body and Timestamp are
// named by a signature. What only decryption reveals (a digest over
// plaintext, an encrypted Signature or Timestamp) is checked on the
// decrypted envelope, the bytes returned in Result.Envelope; for content
// that AES-CBC decrypted, any such failure is ErrDecryptionFailed.
// [ErrInvalidPolicy] reports a bad Policy.
//
// Decrypt is safe for concurrent use, also while the ring changes: it works
// on the ring as it was when the call began. Only when the whole call
// succeeds does it record each key's use in the ring (and each signer's in
// the [TrustRing]), with the ring's clock: a refused message is no
// evidence that a key is still in use.
//
// If d.Observer is set, it is told of every call, successful or not.
func (d *Decryptor) Decrypt(message []byte) (*Result, error) {
	if d != nil && d.Observer != nil {
		return d.observe(message, d.decrypt)
	}
	return d.decrypt(message)
}

func (d *Decryptor) decrypt(message []byte) (*Result, error) {
	if d == nil {
		return nil, &KeyError{Reason: "nil Decryptor", Err: ErrInvalidArgument}
	}
	if err := d.Keys.Err(); err != nil {
		return nil, err
	}
	pol, err := d.policy()
	if err != nil {
		return nil, err
	}
	if int64(len(message)) > pol.maxBytes {
		return nil, limitError("MaxMessageBytes", pol.maxBytes)
	}
	// The Body of a large signed message is digested on a second
	// goroutine from the start, from the message's bytes (see
	// bodyDigest): for a signature over the Body as received, with
	// nothing encrypted or encrypted before it was signed. It is
	// stopped before decryption begins.
	var body *bodyDigest
	if d.Signers != nil && len(message) >= bodyDigestMin {
		body = startBodyDigest(message, pol.limits)
		defer body.close()
	}
	// Large text runs (the CipherValues) bypass the tokenizer: it sees a
	// skeleton, and the runs are read from message where they are.
	var nonce [8]byte
	if _, err := io.ReadFull(pol.rand, nonce[:]); err != nil {
		return nil, fmt.Errorf("wssec: random: %w", err)
	}
	sc := d.getScratch()
	defer d.putScratch(sc)
	skel := xmlscan.CutTextInto(sc.skel, message, "CipherValue", cutThreshold, nonce)
	if skel.Cuts() > 0 {
		// Nothing of the skeleton outlives the call: its bytes serve
		// the next one.
		sc.skel = skel.Data[:0]
	}
	// A signed message with nothing encrypted is read without its Body's
	// content in the tree, digested from the message's bytes instead;
	// where that does not do, it is read again in full before anything
	// was decided on it (there is no private-key operation to repeat).
	enc := bytes.Index(skel.Data, []byte("Encrypted"))
	if d.Signers != nil && enc < 0 {
		res, err := d.decryptSkeleton(message, skel, pol, sc, true, body)
		if !errors.Is(err, errNeedTree) {
			return res, err
		}
		return d.decryptSkeleton(message, skel, pol, sc, false, body)
	}
	if !bytes.Contains(skel.Data[:max(enc, 0)], []byte("Signature")) {
		// Only a signature before the encrypted data can cover the Body
		// as received (encrypt-then-sign): without one, the second core
		// is left to decryption at once (it is waited for before the
		// first private-key operation). A guess: the digest is not
		// needed for the outcome, only for speed.
		body.cancel()
	}
	return d.decryptSkeleton(message, skel, pol, sc, false, body)
}

// decryptSkeleton is decrypt once the skeleton is cut: with opaque, the
// Body's content is left out of the tree (see bodyOpaque), and
// errNeedTree says the message must be read in full. body, if set, is
// the Body's digest under way, for the signatures verified before
// decryption.
func (d *Decryptor) decryptSkeleton(message []byte, skel *xmlscan.Skeleton, pol *compiled, sc *scratch, opaque bool, body *bodyDigest) (*Result, error) {
	var op *xmlscan.Opaque
	if opaque {
		op = bodyOpaque()
	}
	tr, err := xmlscan.ParseTreeScratch(skel.Data, pol.limits, op, &sc.scan)
	if op != nil && op.Element != nil && op.ID == nil {
		return nil, errNeedTree // the content holds what only a tree reads
	}
	if err != nil {
		return nil, soapError(err)
	}
	env, err := soap.NewEnvelope(tr.Doc, tr.Names)
	if err != nil {
		return nil, soapError(err)
	}
	p := &process{pol: pol, ring: d.Keys, snap: d.Keys.load(), env: env, skel: skel, msg: message, elements: tr.Elements, sc: sc}
	if op != nil && op.Element != nil {
		if op.Element != env.Body {
			return nil, errNeedTree
		}
		p.opaque, p.opaqueElements = op.Element, op.Elements
	}
	p.enc = pol.encLimits
	p.enc.Names = env.Names
	p.cutUsed = make([]bool, skel.Cuts())
	p.enc.CipherText = func(text string) ([]byte, bool) {
		raw, k, ok := skel.Lookup(text)
		if ok {
			p.cutUsed[k] = true
		}
		return raw, ok
	}
	if err := p.plan(); err != nil {
		if errors.Is(err, ErrNotEncrypted) && d.Signers != nil && faultOf(env) != nil {
			return nil, p.faultNotEncrypted(d.Signers, message)
		}
		if d.Keys == nil && errors.Is(err, ErrNoMatchingKey) {
			return nil, &KeyError{Reason: "the Decryptor has no KeyRing for an encrypted message", Err: ErrInvalidArgument}
		}
		return nil, err
	}
	sigs, envelope, err := p.signaturesBefore(d.Signers, message, body)
	if err != nil {
		return nil, err
	}
	var res *Result
	if len(p.data) == 0 {
		if envelope == nil {
			envelope = copyMessage(message)
		}
		res = &Result{Envelope: envelope, SOAPVersion: env.Version()}
	} else {
		out, err := p.execute()
		if err != nil {
			if isMalformedOrLimit(err) {
				return nil, err // authenticated content only; see contentError
			}
			// The single exit for every other failure after the first
			// private-key operation: the cause is dropped on purpose,
			// and not logged.
			return nil, ErrDecryptionFailed
		}
		res = &Result{Envelope: out, KeysUsed: p.used, Decrypted: len(p.data), SOAPVersion: env.Version()}
	}
	if sigs != nil {
		if err := p.finishSignatures(sigs, res); err != nil {
			return nil, err
		}
	}
	p.recordUses(sigs)
	return res, nil
}

// finishSignatures verifies, on the decrypted envelope, the signatures
// that cover the plaintext, and checks the policy's requirements on all
// that was verified. Whatever it finds in content that CBC decrypted is
// as secret as that content: every such failure is ErrDecryptionFailed,
// which is why everything the message alone decides was decided in
// planSignatures, before the first private-key operation.
func (p *process) finishSignatures(sigs *sigState, res *Result) error {
	tree, err := p.verifyAfter(sigs, res.Envelope)
	if err != nil {
		return p.afterError(err)
	}
	if sigs.stale != nil {
		if !sigs.stamp {
			return p.afterError(sigError("the Timestamp is not covered by a verified signature"))
		}
		return sigs.stale
	}
	if tree == nil && len(p.data) == 0 {
		tree = p.env
	}
	if err := p.requirements(sigs); err != nil {
		if !p.authenticated() {
			return ErrDecryptionFailed
		}
		if !sigs.body {
			return p.unsignedFault(tree, res.Envelope, err)
		}
		return err
	}
	if !sigs.body {
		// Allowed by AllowUnsignedBody, but a Fault anyone may have
		// written is never a response.
		if tree == nil {
			t, err := xmlscan.ParseTree(res.Envelope, p.pol.limits, nil)
			if err != nil {
				return p.afterError(soapError(err))
			}
			if tree, err = soap.NewEnvelope(t.Doc, t.Names); err != nil {
				return p.afterError(soapError(err))
			}
		}
		if faultOf(tree) != nil {
			return p.afterError(p.unsignedFault(tree, res.Envelope, sigError("the Fault is not covered by a verified signature")))
		}
	}
	res.Signers, res.Signed = sigs.signers, sigs.signed
	return nil
}

// cutThreshold is the length from which a text run bypasses the XML
// tokenizer. Below it the run costs less than the bookkeeping.
const cutThreshold = 512

// DecryptReader reads a message from r and decrypts it like
// [Decryptor.Decrypt]. It reads at most [Policy.MaxMessageBytes] plus one
// byte: a longer message gets [ErrLimitExceeded] without the rest being
// read. Read errors are returned wrapped.
func (d *Decryptor) DecryptReader(r io.Reader) (*Result, error) {
	if d == nil {
		return nil, &KeyError{Reason: "nil Decryptor", Err: ErrInvalidArgument}
	}
	pol, err := d.policy()
	if err != nil {
		return nil, err
	}
	msg, err := io.ReadAll(io.LimitReader(r, pol.maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("wssec: read message: %w", err)
	}
	if int64(len(msg)) > pol.maxBytes {
		return nil, limitError("MaxMessageBytes", pol.maxBytes)
	}
	return d.Decrypt(msg)
}

// soapError maps errors of the parsing layers to this package's errors.
func soapError(err error) error {
	var le *xmlscan.LimitError
	var ce *xmlenc.CountError
	var ue *xmlenc.UnsupportedError
	switch {
	case errors.As(err, &le):
		return limitError(le.Limit, int64(le.Max))
	case errors.As(err, &ce):
		return limitError(ce.What, int64(ce.Max))
	case errors.As(err, &ue):
		return algorithmRefused(ue.URI, "not supported")
	}
	if isMalformed(err) {
		return err
	}
	// The inner layers' sentinels only say "malformed" again.
	reason := err.Error()
	for _, prefix := range []string{"xmlscan: malformed XML: ", "soap: malformed XML: ", "xmlenc: malformed element: "} {
		reason = strings.TrimPrefix(reason, prefix)
	}
	return &MessageError{Err: ErrMalformed, Reason: reason}
}

// process is the state of one Decrypt call.
type process struct {
	pol  *compiled
	ring *KeyRing
	snap *ringSnapshot
	env  *soap.Envelope
	skel *xmlscan.Skeleton
	msg  []byte // the message as received, whose skeleton the tree was read from
	sc   *scratch
	// opaque, when set, is the Body, whose content of opaqueElements
	// elements the tree leaves out (see bodyOpaque).
	opaque         *etree.Element
	opaqueElements int
	cutUsed        []bool        // cut runs read as CipherValues
	enc            xmlenc.Limits // the policy's, reading CipherValues through skel
	elements       int

	ids      soap.IDs
	security *etree.Element // the Security header for our actor, or nil
	keys     []*keyPlan     // in order of first appearance
	keyByEl  map[*etree.Element]*keyPlan
	data     []*dataPlan // in document order
	dataByEl map[*etree.Element]*dataPlan
	lists    []*etree.Element // standalone ReferenceLists in the Security header
	used     []*x509.Certificate
	// usedEntries are the ring keys that decrypted something; their use
	// is recorded only once the whole call has succeeded.
	usedEntries []*ringEntry
	// contentErr describes authenticated decrypted content that cannot go
	// into the message; it ends the search for a key.
	contentErr error
}

type keyPlan struct {
	ek       *xmlenc.EncryptedKey
	inHeader bool
	pos      int // place among the message's EncryptedKeys, from 1
	data     []*dataPlan
	alg      string
	oaep     xmlenc.OAEPParams
	cipher   xmlenc.Cipher
	dataAlg  string
	cands    []*ringEntry
}

type dataPlan struct {
	ed      *xmlenc.EncryptedData
	target  *etree.Element // the element the plaintext replaces
	element bool           // Type Element: the plaintext is one element
	key     *keyPlan
	listed  bool
	ct      []byte
	// buf, when set, is the buffer ct was decoded into, with room before
	// and after it: a single EncryptedData decrypted in place there
	// becomes the output without another copy (see splice).
	buf     []byte
	head    int
	inPlace bool     // the plaintext was decrypted in ct itself
	plain   []byte   // the checked plaintext, after execute
	ids     []string // Id values in the plaintext
	// elements counts the plaintext's elements, so that an element of
	// the spliced result can be found by its place (see ordinal).
	elements int
}
