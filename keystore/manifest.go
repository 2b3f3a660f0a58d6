package keystore

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"time"

	"github.com/wsrenew/wsrenew/wssec"
)

// manifestVersion is the version of the manifest format this package reads
// and writes.
const manifestVersion = 1

// manifestFile is the manifest's JSON form. The format is documented in
// doc.go; change both together.
type manifestFile struct {
	Version    int       `json:"version"`
	Generation uint64    `json:"generation"`
	Updated    time.Time `json:"updated"`
	// Floors is true in manifests that record, per entry, whether the
	// key was provided and its retention floor. In manifests written
	// before, every current and retained key counts as provided.
	Floors bool `json:"floors,omitempty"`
	// PasswordCheck proves a password right without a key file, so that
	// a damaged file is told apart from a wrong password.
	PasswordCheck *passwordCheck             `json:"passwordCheck,omitempty"`
	Entries       []manifestEntry            `json:"entries"`
	State         map[string]json.RawMessage `json:"state,omitempty"`
}

type manifestEntry struct {
	Alias       string            `json:"alias"`
	Status      string            `json:"status"`
	Created     time.Time         `json:"created"`
	Expires     time.Time         `json:"expires,omitzero"`
	Provided    time.Time         `json:"provided,omitzero"`
	RetainUntil time.Time         `json:"retainUntil,omitzero"`
	DisabledAt  time.Time         `json:"disabledAt,omitzero"`
	Destroy     time.Time         `json:"destroyAfter,omitzero"`
	Location    string            `json:"location"`
	SHA256      string            `json:"sha256"`
	SHA1        string            `json:"sha1"`
	Certificate []byte            `json:"certificate"`
	Chain       [][]byte          `json:"chain,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
}

// manifest is the parsed ring state. Once published in a snapshot it is
// not modified.
type manifest struct {
	generation uint64
	updated    time.Time
	pwCheck    *passwordCheck // immutable once made
	entries    []Entry
	state      map[string]json.RawMessage
}

// clone returns a deep copy that a transaction may modify.
func (m *manifest) clone() *manifest {
	c := &manifest{generation: m.generation, updated: m.updated, pwCheck: m.pwCheck, state: maps.Clone(m.state)}
	c.entries = make([]Entry, len(m.entries))
	for i, e := range m.entries {
		c.entries[i] = e.clone()
	}
	if c.state == nil {
		c.state = map[string]json.RawMessage{}
	}
	return c
}

func (m *manifest) find(alias string) int {
	for i := range m.entries {
		if m.entries[i].Alias == alias {
			return i
		}
	}
	return -1
}

// latest returns the latest time the manifest records as past: when it
// was written, and when each entry was created and provided. A clock that
// shows an earlier time is behind.
func (m *manifest) latest() time.Time {
	t := m.updated
	for _, e := range m.entries {
		for _, u := range []time.Time{e.Created, e.Provided, e.DisabledAt} {
			if u.After(t) {
				t = u
			}
		}
	}
	return t
}

func (m *manifest) current() (Entry, bool) {
	for _, e := range m.entries {
		if e.Status == StatusCurrent {
			return e, true
		}
	}
	return Entry{}, false
}

// parseManifest decodes and checks a manifest. path names it in errors,
// which are [*Error]s.
func parseManifest(data []byte, path string) (*manifest, error) {
	fail := func(reason string, err error) (*manifest, error) {
		return nil, &Error{Err: ErrCorruptManifest, Source: path, Reason: reason, Cause: err}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f manifestFile
	if err := dec.Decode(&f); err != nil {
		return fail("", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fail("data after the manifest object", nil)
	}
	if f.Version != manifestVersion {
		return fail(fmt.Sprintf("unsupported version %d (want %d)", f.Version, manifestVersion), nil)
	}
	if f.Generation == 0 {
		return fail("generation 0", nil)
	}
	if err := f.PasswordCheck.valid(); err != nil {
		return fail("password check", err)
	}
	m := &manifest{generation: f.Generation, updated: f.Updated, pwCheck: f.PasswordCheck, state: map[string]json.RawMessage{}}
	for name, v := range f.State {
		if !validName(name) {
			return fail("invalid state name "+quoteName(name), nil)
		}
		// The manifest is indented; state comes back compact, as
		// Tx.SetState stored it.
		var buf bytes.Buffer
		if err := json.Compact(&buf, v); err != nil {
			return fail("state "+quoteName(name), err)
		}
		m.state[name] = json.RawMessage(buf.Bytes())
	}
	for i, fe := range f.Entries {
		e, err := parseManifestEntry(fe)
		if err != nil {
			return fail(fmt.Sprintf("entry %d", i), err)
		}
		if !f.Floors && e.Status.inRing() && e.Provided.IsZero() {
			// Written before the store recorded it: a key in the ring
			// may have been handed out, so it is protected as if it was.
			e.Provided = e.Created
		}
		m.entries = append(m.entries, e)
	}
	if err := checkEntries(m.entries); err != nil {
		return fail("", err)
	}
	return m, nil
}

func parseManifestEntry(fe manifestEntry) (Entry, error) {
	e := Entry{Alias: fe.Alias, Created: fe.Created, Expires: fe.Expires, Provided: fe.Provided, RetainUntil: fe.RetainUntil, DisabledAt: fe.DisabledAt, DestroyAfter: fe.Destroy, Location: fe.Location, Labels: fe.Labels}
	if !validName(fe.Alias) {
		return Entry{}, &ruleError{"invalid alias " + quoteName(fe.Alias), ErrInvalidName}
	}
	st, ok := parseStatus(fe.Status)
	if !ok {
		return Entry{}, fmt.Errorf("unknown status %s", quoteName(fe.Status))
	}
	e.Status = st
	if fe.Created.IsZero() {
		return Entry{}, errors.New("no creation time")
	}
	if !validLocation(fe.Location) {
		return Entry{}, fmt.Errorf("unsupported key location %s", quoteName(fe.Location))
	}
	cert, err := x509.ParseCertificate(fe.Certificate)
	if err != nil {
		return Entry{}, fmt.Errorf("certificate: %w", err)
	}
	// The store's own rule for keys under minRSABits is checked by
	// Store.parseManifest, which knows its options.
	if pub, ok := cert.PublicKey.(*rsa.PublicKey); !ok || pub.N.BitLen() < weakRSABits || pub.N.BitLen() > maxRSABits {
		return Entry{}, errors.New("certificate key is not RSA of an accepted size")
	}
	e.Certificate = cert
	e.Fingerprint = wssec.FingerprintOf(cert)
	if fe.SHA256 != hex.EncodeToString(e.Fingerprint[:]) {
		return Entry{}, errors.New("sha256 does not match the certificate")
	}
	if s1 := sha1.Sum(cert.Raw); fe.SHA1 != hex.EncodeToString(s1[:]) {
		return Entry{}, errors.New("sha1 does not match the certificate")
	}
	for j, der := range fe.Chain {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return Entry{}, fmt.Errorf("chain certificate %d: %w", j, err)
		}
		e.Chain = append(e.Chain, c)
	}
	return e, nil
}

// parseManifest decodes and checks a manifest as [parseManifest] does,
// and refuses an entry whose RSA key is under minRSABits unless the
// store allows weak retained keys.
func (s *Store) parseManifest(data []byte) (*manifest, error) {
	path := s.b.Locate(manifestName)
	m, err := parseManifest(data, path)
	if err != nil || s.opts.AllowWeakRetainedKey {
		return m, err
	}
	for _, e := range m.entries {
		if bits := rsaBits(e.Certificate); bits < minRSABits {
			return nil, &Error{Err: ErrCorruptManifest, Source: path, Reason: "entry " + quoteName(e.Alias), Cause: weakKeyError(e.Alias, bits, false, "open")}
		}
	}
	return m, nil
}

// checkEntries checks the rules every committed manifest keeps: unique
// aliases, locations and certificates; at most one current key; retained
// keys only beside a current key; an expiry only on retained keys.
func checkEntries(entries []Entry) error {
	aliases := map[string]bool{}
	locations := map[string]bool{}
	fps := map[wssec.Fingerprint]bool{}
	current, retained := 0, 0
	for _, e := range entries {
		if aliases[e.Alias] {
			return &ruleError{"alias " + quoteName(e.Alias) + " used twice", ErrDuplicateAlias}
		}
		aliases[e.Alias] = true
		if locations[e.Location] {
			return fmt.Errorf("location %s used twice", quoteName(e.Location))
		}
		locations[e.Location] = true
		if fps[e.Fingerprint] {
			return &ruleError{"certificate " + e.Fingerprint.String() + " used twice", ErrDuplicateKey}
		}
		fps[e.Fingerprint] = true
		switch e.Status {
		case StatusCurrent:
			current++
		case StatusRetained:
			retained++
		}
		if err := checkDisabled(e); err != nil {
			return err
		}
		if !e.Expires.IsZero() && e.Status != StatusRetained && e.Status != StatusDisabled {
			return fmt.Errorf("%s entry %s has an expiry", e.Status, quoteName(e.Alias))
		}
		if !e.Expires.IsZero() && e.Expires.Before(e.RetainUntil) {
			return fmt.Errorf("entry %s expires before its retention floor", quoteName(e.Alias))
		}
	}
	if current > 1 {
		return fmt.Errorf("%d current keys", current)
	}
	if retained > 0 && current == 0 {
		return &ruleError{fmt.Sprintf("%d retained keys and no current key", retained), ErrNoCurrentKey}
	}
	return nil
}

// ruleError is a broken rule of the store: it reads as its message and
// unwraps to its sentinel.
type ruleError struct {
	msg string
	err error
}

func (e *ruleError) Error() string { return e.msg }
func (e *ruleError) Unwrap() error { return e.err }

// marshalManifest encodes m. Entries keep their order.
func marshalManifest(m *manifest) ([]byte, error) {
	f := manifestFile{
		Version:       manifestVersion,
		Generation:    m.generation,
		Updated:       m.updated,
		Floors:        true,
		PasswordCheck: m.pwCheck,
		Entries:       make([]manifestEntry, 0, len(m.entries)),
		State:         m.state,
	}
	for _, e := range m.entries {
		s1 := sha1.Sum(e.Certificate.Raw)
		fe := manifestEntry{
			Alias:       e.Alias,
			Status:      e.Status.String(),
			Created:     e.Created,
			Expires:     e.Expires,
			Provided:    e.Provided,
			RetainUntil: e.RetainUntil,
			DisabledAt:  e.DisabledAt,
			Destroy:     e.DestroyAfter,
			Location:    e.Location,
			SHA256:      hex.EncodeToString(e.Fingerprint[:]),
			SHA1:        hex.EncodeToString(s1[:]),
			Certificate: e.Certificate.Raw,
			Labels:      e.Labels,
		}
		for _, c := range e.Chain {
			fe.Chain = append(fe.Chain, c.Raw)
		}
		f.Entries = append(f.Entries, fe)
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("keystore: encode manifest: %w", err)
	}
	return append(b, '\n'), nil
}
