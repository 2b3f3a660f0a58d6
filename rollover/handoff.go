package rollover

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/wsrenew/wsrenew/internal/x509id"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover/internal/procedure"
	"github.com/wsrenew/wsrenew/wssec"
)

// Receiver is a party that encrypts its responses to the tenant's
// certificate, as the caller names it.
type Receiver struct {
	// ID names the receiver in confirmations, in [Manager.Observe] and in
	// the audit trail; required, unique within a renewal, at most 128
	// bytes of printable text.
	ID string
	// Description is optional free text, such as the system and the
	// administrator's contact, at most 1024 bytes.
	Description string
	// Transport is the key transport the receiver will encrypt with; the
	// zero value is wssec's default (RSA-OAEP, SHA-256, MGF1-SHA1). Step 3
	// refuses a receiver whose transport the new key cannot perform, and
	// its self-test encrypts with each receiver's transport.
	Transport wssec.TransportParams
}

// Handoff describes step 3: to whom the new certificate goes, and how it
// is tested first.
type Handoff struct {
	// Receivers are the parties given the certificate; at least one.
	// Each must confirm the switch before the old key can get an expiry.
	Receivers []Receiver
	// Note is free text for the audit trail, such as how the bundle was
	// sent.
	Note string
	// Sample is the SOAP envelope the self-test encrypts to the new
	// certificate. If nil, a small built-in SOAP 1.1 envelope.
	Sample []byte
	// Policy is the decryption policy of the self-test; use the one the
	// application's Decryptor uses. The zero value is wssec's default.
	Policy wssec.Policy
}

// selfTestSample is the built-in sample response of the self-test.
const selfTestSample = `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header/><soap:Body><t:SelfTest xmlns:t="urn:wsrenew:rollover:self-test">rollover self-test</t:SelfTest></soap:Body></soap:Envelope>`

const selfTestMarker = "rollover self-test"

// selfTestIdentifiers are the key identifiers the self-test uses: the
// ones the hand-off bundle lists for receivers.
var selfTestIdentifiers = []struct {
	name string
	id   wssec.KeyIdentifier
}{
	{"X509IssuerSerial", wssec.IdentifyByIssuerSerial},
	{"SubjectKeyIdentifier", wssec.IdentifyBySKI},
	{"ThumbprintSHA1", wssec.IdentifyByThumbprintSHA1},
}

// ProvideCertificate is step 3. It reloads the store
// ([keystore.Store.Reload]), so that it tests the ring as committed.
// Then it tests the new key: it encrypts
// a sample response to the new certificate, once with each key
// identifier the bundle lists (X509IssuerSerial, SubjectKeyIdentifier,
// ThumbprintSHA1), and decrypts each through the store's live key ring,
// the one the application's Decryptor holds. If any fails, it stops with
// a [*SelfTestError] ([ErrSelfTestFailed]) and records nothing. Then it
// records to whom and when the certificate is provided, and returns the
// stage whose [CertificateProvided.Bundle] is what the receivers get.
// From here on the renewal cannot be cancelled.
//
// The self-test proves the key decrypts in this process. Processes that
// decrypt follow the store ([keystore.Follow]) and register as holders:
// ProvideCertificate is refused with a [*HoldersError]
// ([ErrHoldersNotReady]) listing the laggards until every live holder
// has loaded the new key and passed its own self-test with it, and at
// least [Policy.MinHolders] holders are live. It records nothing then;
// call it again once they have. Processes that decrypt with a
// keystore.Store without following it must have reloaded it
// ([keystore.Store.Reload]) before the receivers are told.
//
// ProvideCertificate returns [ErrInvalidArgument] for no receivers, an
// empty, repeated or overlong ID, or overlong text; a [*HoldersError]
// as above; a [*StageError] with [ErrStaleStage]; a [*StateError] with
// [ErrInconsistent]; and the errors of [keystore.Store.Reload],
// [keystore.Store.Holders] and [keystore.Store.Update]. It does not
// modify h; it uses the Manager's
// clock and Options.Rand.
func (s *KeyAdded) ProvideCertificate(ctx context.Context, h Handoff) (*CertificateProvided, error) {
	if s == nil || !s.ok() {
		return nil, errNilStage
	}
	if ctx == nil {
		return nil, fmt.Errorf("%w: nil Context", ErrInvalidArgument)
	}
	if err := checkReceivers(h.Receivers); err != nil {
		return nil, err
	}
	if err := procedure.CheckText("note", h.Note); err != nil {
		return nil, err
	}
	if err := s.checkTransports(h.Receivers); err != nil {
		return nil, err
	}
	// The self-test must see the ring as it is now, not as this process
	// last loaded it.
	if _, err := s.m.store.Reload(ctx); err != nil {
		return nil, err
	}
	stored, err := loadState(s.m.store.View().State)
	if err != nil {
		return nil, err
	}
	if err := checkFresh("ProvideCertificate", s.st, stored); err != nil {
		return nil, err
	}
	if err := s.selfTest(h); err != nil {
		s.m.log(ctx, s.m.opts.now(), slog.LevelError, "rollover: self-test failed",
			"renewal", s.st.Renewal, "new_key", s.st.New.fingerprint().String(), "error", err.Error())
		return nil, err
	}
	// Every process that decrypts must hold the new key before any
	// receiver may encrypt to it.
	if err := s.m.checkHolders(ctx, s.st.New.fingerprint()); err != nil {
		s.m.log(ctx, s.m.opts.now(), slog.LevelWarn, "rollover: holders not ready",
			"renewal", s.st.Renewal, "new_key", s.st.New.fingerprint().String(), "error", err.Error())
		return nil, err
	}
	tested := s.m.opts.now()
	st, err := s.m.update(ctx, "ProvideCertificate", s.st, func(tx *keystore.Tx, d *docs, now time.Time) error {
		st := d.changeState()
		// The store keeps a provided key until its retention ends,
		// whatever a later caller asks.
		if err := tx.MarkProvided(st.New.Alias); err != nil {
			return err
		}
		st.Seq++
		st.Stage = StageCertificateProvided
		st.SelfTest, st.Provided = tested, now
		st.Receivers = nil
		names := make([]string, len(selfTestIdentifiers))
		for i, x := range selfTestIdentifiers {
			names[i] = x.name
		}
		d.record(Record{Time: tested, Action: ActionSelfTest, Actor: s.m.opts.Actor,
			Note: "a sample response encrypted to the new certificate decrypted through the key ring with " + strings.Join(names, ", ")})
		for _, r := range h.Receivers {
			st.Receivers = append(st.Receivers, receiverState{ID: r.ID, Description: r.Description, Provided: now, Transport: transportStateOf(r.Transport)})
			d.record(Record{Time: now, Action: ActionProvideCertificate, Actor: s.m.opts.Actor, Receiver: r.ID, Note: h.Note})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &CertificateProvided{base{s.m, st}}, nil
}

// selfTest encrypts the sample to the new certificate with each key
// identifier and decrypts it through the store's key ring.
func (s *KeyAdded) selfTest(h Handoff) error {
	fp := s.st.New.fingerprint()
	fail := func(id, reason string, err error) error {
		return &SelfTestError{Fingerprint: fp, Identifier: id, Reason: reason, Cause: err}
	}
	e, err := s.m.store.View().Entry(s.st.New.Alias)
	if err != nil {
		return fail("", "new key not in the store", err)
	}
	ring, err := s.m.store.KeyRing()
	if err != nil {
		return fail("", "no key ring", err)
	}
	sample, builtIn := h.Sample, false
	if sample == nil {
		sample, builtIn = []byte(selfTestSample), true
	}
	// The ring counts the self-test's decryptions as uses of the new key;
	// they are not evidence of a receiver's traffic. On a failure, the
	// attempts not made (and a failed one) are taken back.
	transports := selfTestTransports(h.Receivers)
	total := int64(len(selfTestIdentifiers) * len(transports))
	s.m.discountUses(fp, total)
	for i := range total {
		x, t := selfTestIdentifiers[i%int64(len(selfTestIdentifiers))], transports[i/int64(len(selfTestIdentifiers))]
		unused := total - i
		id := x.name
		if t != (wssec.TransportParams{}) {
			id += " and " + describeTransport(t)
		}
		enc := &wssec.Encryptor{Certificate: e.Certificate, KeyIdentifier: x.id, Rand: s.m.opts.rand(),
			KeyTransport: t.KeyTransport, OAEPDigest: t.OAEPDigest, MGF: t.MGF}
		msg, err := enc.Encrypt(sample)
		if err != nil {
			s.m.discountUses(fp, -unused)
			return fail(id, "cannot encrypt the sample", err)
		}
		d := &wssec.Decryptor{Keys: ring, Policy: h.Policy}
		res, err := d.Decrypt(msg)
		if err != nil {
			s.m.discountUses(fp, -unused)
			return fail(id, "the key ring cannot decrypt the sample", err)
		}
		if len(res.KeysUsed) != 1 || wssec.FingerprintOf(res.KeysUsed[0]) != fp {
			s.m.discountUses(fp, -unused)
			return fail(id, "the sample was decrypted with another key", nil)
		}
		if builtIn && !bytes.Contains(res.Envelope, []byte(selfTestMarker)) {
			s.m.discountUses(fp, -(unused - 1))
			return fail(id, "the decrypted sample differs", nil)
		}
	}
	return nil
}

// Bundle is what step 3 hands to a receiver's administrator: the new
// certificate and its chain, their fingerprints, and the values the
// receiver's encrypted messages will carry to name the key, so that both
// administrators can compare them.
type Bundle struct {
	Renewal uint64
	// Alias is the store's entry of the new key.
	Alias string
	// Certificate is the new certificate. Its DER encoding is Raw, its
	// fingerprint [wssec.FingerprintOf]; [Bundle.PEM] and [Bundle.String]
	// give the file and the text for the receiver's administrator.
	Certificate *x509.Certificate
	// Chain holds the issuing CA certificates that came with the key;
	// empty for a self-signed certificate.
	Chain []*x509.Certificate
	// Identifiers are the key identifier values of the certificate.
	Identifiers Identifiers
	// Receivers are those the certificate was provided to, and Provided
	// when.
	Receivers []Receiver
	Provided  time.Time
}

// Identifiers are the values by which WS-Security messages name the key
// they are encrypted to (WS-Security X.509 Token Profile 1.1, section
// 3.2), as a receiver's EncryptedKey will carry them.
type Identifiers struct {
	// IssuerName and SerialNumber are the ds:X509IssuerName (RFC 2253, as
	// Go and WSS4J write it) and the decimal ds:X509SerialNumber of an
	// X509IssuerSerial reference.
	IssuerName   string
	SerialNumber string
	// SubjectKeyIdentifier is the base64 value of a KeyIdentifier of
	// ValueType X509SubjectKeyIdentifier: the certificate's extension, or
	// the SHA-1 of its public key if it has none.
	SubjectKeyIdentifier string
	// ThumbprintSHA1 is the base64 value of a KeyIdentifier of ValueType
	// ThumbprintSHA1: the SHA-1 of the certificate's DER encoding.
	ThumbprintSHA1 string
}

// PEM returns the certificate followed by its chain as PEM blocks, the
// file most receivers import.
func (b *Bundle) PEM() []byte {
	if b == nil || b.Certificate == nil {
		return nil
	}
	out := certificatePEM(b.Certificate)
	for _, c := range b.Chain {
		out = append(out, certificatePEM(c)...)
	}
	return out
}

// String returns the bundle as text for the administrators: subject,
// validity, fingerprints, identifiers and receivers, without the
// certificate itself.
func (b *Bundle) String() string {
	if b == nil || b.Certificate == nil {
		return "<nil>"
	}
	var sb strings.Builder
	c := b.Certificate
	fmt.Fprintf(&sb, "Certificate %s (renewal %d)\n", b.Alias, b.Renewal)
	fmt.Fprintf(&sb, "  Subject:              %s\n", c.Subject)
	fmt.Fprintf(&sb, "  Not after:            %s\n", c.NotAfter.UTC().Format(time.RFC3339))
	fmt.Fprintf(&sb, "  SHA-256:              %s\n", wssec.FingerprintOf(c))
	fmt.Fprintf(&sb, "  X509IssuerName:       %s\n", b.Identifiers.IssuerName)
	fmt.Fprintf(&sb, "  X509SerialNumber:     %s\n", b.Identifiers.SerialNumber)
	fmt.Fprintf(&sb, "  SubjectKeyIdentifier: %s\n", b.Identifiers.SubjectKeyIdentifier)
	fmt.Fprintf(&sb, "  ThumbprintSHA1:       %s\n", b.Identifiers.ThumbprintSHA1)
	for _, ch := range b.Chain {
		fmt.Fprintf(&sb, "  Issued by:            %s (SHA-256 %s)\n", ch.Subject, wssec.FingerprintOf(ch))
	}
	for _, r := range b.Receivers {
		fmt.Fprintf(&sb, "  Provided to:          %s", r.ID)
		if r.Description != "" {
			fmt.Fprintf(&sb, " (%s)", r.Description)
		}
		fmt.Fprintf(&sb, " at %s", b.Provided.UTC().Format(time.RFC3339))
		if r.Transport != (wssec.TransportParams{}) {
			fmt.Fprintf(&sb, ", key transport %s", describeTransport(r.Transport))
		}
		sb.WriteString("\n")
	}
	return sb.String()
}

// Bundle returns the hand-off bundle of the new certificate, as step 3
// provided it; it may be fetched again at any time. It returns the
// errors of keystore.Store.ExportCertificate if the store no longer holds
// the key in its ring.
func (s *CertificateProvided) Bundle() (*Bundle, error) {
	if s == nil || !s.ok() {
		return nil, errNilStage
	}
	return bundleOf(s.base)
}

// Bundle returns the hand-off bundle of the new certificate; see
// [CertificateProvided.Bundle].
func (s *ReceiversSwitched) Bundle() (*Bundle, error) {
	if s == nil || !s.ok() {
		return nil, errNilStage
	}
	return bundleOf(s.base)
}

func bundleOf(b base) (*Bundle, error) {
	st := b.st
	cert, err := b.m.store.ExportCertificate(st.New.Alias)
	if err != nil {
		return nil, err
	}
	e, err := b.m.store.View().Entry(st.New.Alias)
	if err != nil {
		return nil, err
	}
	out := &Bundle{
		Renewal:     st.Renewal,
		Alias:       st.New.Alias,
		Certificate: cert,
		Identifiers: identifiersOf(e.Certificate),
		Provided:    st.Provided,
	}
	for _, c := range e.Chain {
		out.Chain = append(out.Chain, c)
	}
	for _, r := range st.Receivers {
		out.Receivers = append(out.Receivers, Receiver{ID: r.ID, Description: r.Description, Transport: r.Transport.params()})
	}
	return out, nil
}

// identifiersOf computes the key identifiers of c as wssec's Encryptor
// writes them and its key ring looks them up.
func identifiersOf(c *x509.Certificate) Identifiers {
	tp := sha1.Sum(c.Raw)
	return Identifiers{
		IssuerName:           c.Issuer.String(),
		SerialNumber:         c.SerialNumber.String(),
		SubjectKeyIdentifier: base64.StdEncoding.EncodeToString(x509id.SubjectKeyID(c)),
		ThumbprintSHA1:       base64.StdEncoding.EncodeToString(tp[:]),
	}
}

// certificatePEM is c as one "CERTIFICATE" PEM block.
func certificatePEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// checkReceivers validates step 3's receivers.
func checkReceivers(rs []Receiver) error {
	if len(rs) == 0 {
		return fmt.Errorf("%w: no receivers", ErrInvalidArgument)
	}
	seen := map[string]bool{}
	for _, r := range rs {
		if err := checkID(r.ID); err != nil {
			return err
		}
		if seen[r.ID] {
			return fmt.Errorf("%w: receiver %q given twice", ErrInvalidArgument, r.ID)
		}
		seen[r.ID] = true
		if err := procedure.CheckText("description", r.Description); err != nil {
			return err
		}
	}
	return nil
}

func checkID(id string) error { return procedure.CheckID("receiver", id) }

// ExportCertificate returns the certificate of the store's entry alias
// for a receiver, as a copy the caller may keep, after recording in the same transaction that it was
// handed out: the key store marks the key provided
// ([keystore.Tx.MarkProvided]) and the audit trail gets an
// [ActionExportCertificate] record with note. From then on the store
// keeps the key as one given to a receiver: it is never cancelled, and
// removed only after its retention. Exporting the new key's certificate
// at [KeyAdded] therefore counts as providing it early; the renewal can
// no longer be cancelled and continues with step 3.
//
// ExportCertificate returns the errors of [keystore.Store.ExportCertificate]
// (a pending key is refused), [ErrInvalidArgument] for an overlong note,
// and the errors of [keystore.Store.Update]. It uses the Manager's clock.
func (m *Manager) ExportCertificate(ctx context.Context, alias, note string) (*x509.Certificate, error) {
	if m == nil {
		return nil, errNilStore
	}
	if err := procedure.CheckText("note", note); err != nil {
		return nil, err
	}
	var out *x509.Certificate
	_, err := m.update(ctx, "ExportCertificate", nil, func(tx *keystore.Tx, d *docs, now time.Time) error {
		e, err := tx.Entry(alias)
		if err != nil {
			return err
		}
		if err := tx.MarkProvided(alias); err != nil {
			return err
		}
		d.record(Record{Time: now, Action: ActionExportCertificate, Actor: m.opts.Actor,
			Note: procedure.JoinNote(fmt.Sprintf("certificate of %s (%s) handed out", alias, e.Fingerprint.String()), note)})
		out = e.Certificate
		return nil
	})
	if err != nil {
		return nil, err
	}
	// A copy the caller may keep, as keystore.Store.ExportCertificate gives.
	return x509.ParseCertificate(bytes.Clone(out.Raw))
}
