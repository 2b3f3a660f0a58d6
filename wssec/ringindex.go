package wssec

import (
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/wsrenew/wsrenew/internal/x509id"
)

// This file holds the ring's immutable snapshot: its entries, the lookup
// maps decryption uses, and the one function that checks the invariants.

// usage is shared by every snapshot that holds the same key, so counts
// survive changes to the ring.
type usage struct {
	count atomic.Uint64
	last  atomic.Int64 // UnixNano; 0 means never
}

type ringEntry struct {
	key     Key
	pub     *rsa.PublicKey
	fp      Fingerprint
	status  Status
	expires time.Time
	usage   *usage
}

func (e *ringEntry) with(status Status, expires time.Time) *ringEntry {
	c := *e
	c.status, c.expires = status, expires
	return &c
}

// ringSnapshot is immutable once published.
type ringSnapshot struct {
	entries []*ringEntry // current first, then retained in the order added

	bySHA1    map[[sha1.Size]byte][]*ringEntry
	bySHA256  map[Fingerprint]*ringEntry
	bySerial  map[string][]*ringEntry // decimal serial number
	bySKI     map[string][]*ringEntry
	bySubject map[string][]*ringEntry // canonical DN, DER order
	byName    map[string][]*ringEntry
	byModulus map[[sha256.Size]byte][]*ringEntry
	// byX509Digest indexes the certificates' digests for X509Digest
	// references, by every algorithm (see x509DigestKey).
	byX509Digest map[string][]*ringEntry
	issuerOf     map[*ringEntry]string // canonical issuer DN, DER order
	// dnForms holds canonicalDNStrings of the entries' issuer and subject
	// names as x509 writes them, which is how most senders write them
	// too: a reference that repeats one is looked up without parsing it.
	dnForms    map[string]dnForms
	currentIdx int // -1 if there is no current key
}

func mustSnapshot(entries []*ringEntry) *ringSnapshot {
	s, err := buildSnapshot(entries)
	if err != nil {
		panic("wssec: invariant: " + err.Error())
	}
	return s
}

// buildSnapshot checks the ring invariants and indexes the entries.
func buildSnapshot(entries []*ringEntry) (*ringSnapshot, error) {
	s, err := indexEntries(entries)
	if err != nil {
		return nil, err
	}
	if len(entries) > 0 && s.currentIdx != 0 {
		return nil, fmt.Errorf("wssec: invariant: current key not first")
	}
	return s, nil
}

// indexEntries indexes the entries, checking every invariant but the
// presence of the current key.
func indexEntries(entries []*ringEntry) (*ringSnapshot, error) {
	s := &ringSnapshot{
		entries:      entries,
		bySHA1:       make(map[[sha1.Size]byte][]*ringEntry, len(entries)),
		bySHA256:     make(map[Fingerprint]*ringEntry, len(entries)),
		bySerial:     make(map[string][]*ringEntry, len(entries)),
		bySKI:        make(map[string][]*ringEntry, len(entries)),
		bySubject:    make(map[string][]*ringEntry, len(entries)),
		byName:       make(map[string][]*ringEntry, len(entries)),
		byModulus:    make(map[[sha256.Size]byte][]*ringEntry, len(entries)),
		byX509Digest: make(map[string][]*ringEntry, len(entries)*len(x509DigestAlgorithms)),
		issuerOf:     make(map[*ringEntry]string, len(entries)),
		dnForms:      make(map[string]dnForms, 2*len(entries)),
		currentIdx:   -1,
	}
	for i, e := range entries {
		if _, dup := s.bySHA256[e.fp]; dup {
			return nil, &KeyError{Fingerprint: e.fp, Err: ErrDuplicateKey}
		}
		s.bySHA256[e.fp] = e
		switch e.status {
		case StatusCurrent:
			if s.currentIdx >= 0 {
				return nil, &KeyError{Fingerprint: e.fp, Reason: "two current keys", Err: ErrCurrentKey}
			}
			if !e.expires.IsZero() {
				return nil, &KeyError{Fingerprint: e.fp, Reason: "the current key has no expiry", Err: ErrCurrentKey}
			}
			s.currentIdx = i
		case StatusRetained:
		default:
			return nil, fmt.Errorf("wssec: entry with status %v", e.status)
		}
		cert := e.key.Certificate
		tp := thumbprintSHA1(cert)
		s.bySHA1[tp] = append(s.bySHA1[tp], e)
		serial := cert.SerialNumber.String()
		s.bySerial[serial] = append(s.bySerial[serial], e)
		if iss, err := canonicalRawDN(cert.RawIssuer); err == nil {
			s.issuerOf[e] = iss
		}
		if sub, err := canonicalRawDN(cert.RawSubject); err == nil {
			s.bySubject[sub] = append(s.bySubject[sub], e)
		}
		s.addDNForms(cert.Issuer.String())
		s.addDNForms(cert.Subject.String())
		for _, ski := range x509id.SubjectKeyIDs(cert) {
			s.bySKI[string(ski)] = append(s.bySKI[string(ski)], e)
		}
		indexX509Digests(s.byX509Digest, e, cert)
		if e.key.Name != "" {
			s.byName[e.key.Name] = append(s.byName[e.key.Name], e)
		}
		if e.pub != nil { // RSA keys; a trust ring may hold ECDSA certificates
			m := sha256.Sum256(e.pub.N.Bytes())
			s.byModulus[m] = append(s.byModulus[m], e)
		}
	}
	return s, nil
}

// dnForms are the canonical forms of a DN string in written and in
// reversed order, as canonicalDNStrings returns them.
type dnForms struct{ fwd, rev string }

func (s *ringSnapshot) addDNForms(name string) {
	if _, ok := s.dnForms[name]; ok {
		return
	}
	if fwd, rev, err := canonicalDNStrings(name); err == nil {
		s.dnForms[name] = dnForms{fwd, rev}
	}
}

// canonicalDNStrings is the package function canonicalDNStrings, without
// parsing a name the ring has seen.
func (s *ringSnapshot) canonicalDNStrings(name string) (string, string, error) {
	if f, ok := s.dnForms[name]; ok {
		return f.fwd, f.rev, nil
	}
	return canonicalDNStrings(name)
}
