package rollover

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover/internal/procedure"
)

var errNilStage = fmt.Errorf("%w: stage value not returned by a Manager", ErrInvalidArgument)

// KeyRequest describes the key pair that [Idle.CreateKeyPair] generates.
type KeyRequest struct {
	// Alias names the new entry in the key store; required. It must not
	// be in use (see the keystore package for the characters allowed).
	Alias string
	// Subject is the certificate's subject. If empty, the subject of the
	// current certificate: receivers often look keys up by subject, and a
	// renewal usually keeps it.
	Subject pkix.Name
	// Bits is the RSA key size: 2048, 3072 or 4096. If zero, 3072.
	Bits int
	// Validity is how long the self-signed certificate is valid. If zero,
	// 730 days.
	Validity time.Duration
	// Credential, if not nil, is a key pair made elsewhere, such as one a
	// CA issued as a PKCS#12 file ([keystore.ParsePKCS12]): step 1
	// stores it instead of generating one, and Subject, Bits and Validity
	// must be zero. It is not modified.
	Credential *keystore.Credential
}

// CreateKeyPair is step 1: it generates an RSA key pair with a
// self-signed certificate and stores it as a pending entry, outside the
// key ring. To have a CA sign the key, send
// [KeyPairCreated.CertificateRequest] and adopt the answer with
// [KeyPairCreated.AdoptCertificate]. With [KeyRequest.Credential] it
// stores that key pair instead, recorded as [ActionImportKeyPair].
//
// CreateKeyPair reloads the store ([keystore.Store.Reload]) and checks
// the stage and the alias before it generates the key, outside the
// store's writer lock; the entry, the new stage and the audit record are
// then written in one transaction. CreateKeyPair returns a [*StageError] with
// [ErrStaleStage] and [ErrRenewalInProgress] if a renewal started since
// s was returned; keystore.ErrNoCurrentKey if the store has no current
// key to renew; the errors of keystore.Generate (such as
// keystore.ErrInvalidOptions for a bad size) and keystore.Tx.Add (such as
// keystore.ErrDuplicateAlias); and the errors of
// [keystore.Store.Reload] and [keystore.Store.Update]. For a Credential
// it returns [ErrInvalidArgument] if it lacks its key or certificate or
// if Subject, Bits or Validity are set, and the errors of keystore.Tx.Add
// for an unusable one (such as keystore.ErrKeyMismatch or
// keystore.ErrDuplicateKey). It uses the Manager's clock for the
// certificate's validity and Options.Rand for its serial number.
func (s *Idle) CreateKeyPair(ctx context.Context, req KeyRequest) (*KeyPairCreated, error) {
	if s == nil || !s.ok() {
		return nil, errNilStage
	}
	if req.Credential != nil {
		return s.importKeyPair(ctx, req)
	}
	if err := s.precheck(ctx, "CreateKeyPair", req.Alias); err != nil {
		return nil, err
	}
	subject := req.Subject
	if len(subject.ToRDNSequence()) == 0 {
		cur, ok := currentEntry(s.m.store.View().Entries())
		if !ok {
			return nil, fmt.Errorf("%w: nothing to renew", keystore.ErrNoCurrentKey)
		}
		subject = cur.Certificate.Subject
	}
	c, err := keystore.Generate(subject, keystore.GenerateOptions{
		Bits: req.Bits, Validity: req.Validity, Now: s.m.opts.now, Rand: s.m.opts.rand(),
	})
	if err != nil {
		return nil, err
	}
	return s.addPending(ctx, "CreateKeyPair", ActionCreateKeyPair, req.Alias, c)
}

// importKeyPair is step 1 for req.Credential.
func (s *Idle) importKeyPair(ctx context.Context, req KeyRequest) (*KeyPairCreated, error) {
	c := req.Credential
	if c.Certificate == nil || c.Key == nil || len(req.Subject.ToRDNSequence()) > 0 || req.Bits != 0 || req.Validity != 0 {
		return nil, fmt.Errorf("%w: a credential without key or certificate, or with Subject, Bits or Validity", ErrInvalidArgument)
	}
	if err := s.precheck(ctx, "ImportKeyPair", req.Alias); err != nil {
		return nil, err
	}
	return s.addPending(ctx, "ImportKeyPair", ActionImportKeyPair, req.Alias, c)
}

// precheck refuses, before any expensive work, what the transaction would
// refuse: a stale stage or an alias in use.
func (s *Idle) precheck(ctx context.Context, op, alias string) error {
	if ctx == nil {
		return fmt.Errorf("%w: nil Context", ErrInvalidArgument)
	}
	if _, err := s.m.store.Reload(ctx); err != nil {
		return err
	}
	st, err := loadState(s.m.store.View().State)
	if err != nil {
		return err
	}
	if err := checkFresh(op, s.st, st); err != nil {
		return err
	}
	if _, err := s.m.store.View().Entry(alias); err == nil {
		return &keystore.EntryError{Alias: alias, Err: keystore.ErrDuplicateAlias}
	}
	return nil
}

func (s *Idle) addPending(ctx context.Context, op string, action Action, alias string, c *keystore.Credential) (*KeyPairCreated, error) {
	st, err := s.m.update(ctx, op, s.st, func(tx *keystore.Tx, d *docs, now time.Time) error {
		cur, ok := currentEntry(tx.Entries())
		if !ok {
			return fmt.Errorf("%w: nothing to renew", keystore.ErrNoCurrentKey)
		}
		if err := tx.Add(alias, c, nil); err != nil {
			return err
		}
		e, err := tx.Entry(alias)
		if err != nil {
			return err
		}
		d.state = &stateDoc{
			Version: procedure.Version,
			Seq:     d.state.Seq + 1,
			Renewal: d.state.Renewal + 1,
			Stage:   StageKeyPairCreated,
			Started: now,
			New:     refOf(e),
			Old:     refOf(cur),
			// Later steps may be taken by processes with another Policy;
			// none of them may keep the old key for less than this one.
			Retention: s.m.opts.Policy.rules().Record(),
		}
		d.stateChanged = true
		d.record(Record{Time: now, Action: action, Actor: s.m.opts.Actor,
			Note: procedure.DescribeCert(e.Certificate) + "; " + d.state.policy(s.m.opts.Policy).rules().Describe()})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &KeyPairCreated{base{s.m, st}}, nil
}

// CertificateRequest returns a PEM certificate signing request (PKCS#10)
// for the new key, with the subject of its certificate, to send to a CA;
// see keystore.Store.CertificateRequest. It does not change the stage.
func (s *KeyPairCreated) CertificateRequest() ([]byte, error) {
	if s == nil || !s.ok() {
		return nil, errNilStage
	}
	return s.m.store.CertificateRequest(s.st.New.Alias)
}

// AdoptCertificate replaces the new key's self-signed certificate with
// cert, a CA's answer to [KeyPairCreated.CertificateRequest], and its
// chain (the issuing CAs, which step 3 hands to receivers). The stage
// stays [StageKeyPairCreated]; s is stale afterwards. Neither cert nor
// chain may be modified afterwards.
//
// AdoptCertificate returns a [*StageError] with [ErrStaleStage], the
// errors of keystore.Tx.SetCertificate (such as keystore.ErrKeyMismatch
// for a certificate of another key), and those of
// [keystore.Store.Update].
func (s *KeyPairCreated) AdoptCertificate(ctx context.Context, cert *x509.Certificate, chain []*x509.Certificate) (*KeyPairCreated, error) {
	if s == nil || !s.ok() {
		return nil, errNilStage
	}
	if cert == nil {
		return nil, fmt.Errorf("%w: no certificate", ErrInvalidArgument)
	}
	st, err := s.m.update(ctx, "AdoptCertificate", s.st, func(tx *keystore.Tx, d *docs, now time.Time) error {
		st := d.changeState()
		if err := tx.SetCertificate(st.New.Alias, cert, chain); err != nil {
			return err
		}
		e, err := tx.Entry(st.New.Alias)
		if err != nil {
			return err
		}
		st.Seq++
		st.New = refOf(e)
		d.record(Record{Time: now, Action: ActionAdoptCertificate, Actor: s.m.opts.Actor,
			Note: procedure.DescribeCert(e.Certificate) + ", issued by " + e.Certificate.Issuer.String()})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &KeyPairCreated{base{s.m, st}}, nil
}

// AddToKeyStore is step 2: it makes the new key the current key of the
// store's key ring. The old key stays in the ring, retained with no
// expiry, so both decrypt from now on; the ring of this process's store
// changes at once, other processes' on their next keystore.Store.Reload.
//
// AddToKeyStore returns a [*StageError] with [ErrStaleStage]; a
// [*StateError] with [ErrInconsistent] if the old key is no longer the
// current key or the new key no longer pending; and the errors of
// [keystore.Store.Update].
func (s *KeyPairCreated) AddToKeyStore(ctx context.Context) (*KeyAdded, error) {
	if s == nil || !s.ok() {
		return nil, errNilStage
	}
	st, err := s.m.update(ctx, "AddToKeyStore", s.st, func(tx *keystore.Tx, d *docs, now time.Time) error {
		st := d.changeState()
		if err := tx.Rotate(st.New.Alias); err != nil {
			return err
		}
		st.Seq++
		st.Stage = StageKeyAdded
		d.record(Record{Time: now, Action: ActionAddToKeyStore, Actor: s.m.opts.Actor,
			Note: fmt.Sprintf("%s is the current key; %s is retained without expiry", st.New.Alias, st.Old.Alias)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &KeyAdded{base{s.m, st}}, nil
}

// Cancel abandons the renewal before step 2: it removes the pending new
// key from the store and returns to [Idle]. reason goes into the audit
// trail.
//
// Cancel returns a [*StageError] with [ErrStaleStage] (and
// [ErrCannotCancel] if the certificate was provided meanwhile),
// [ErrInvalidArgument] for a reason over 1024 bytes, and the errors of
// [keystore.Store.Update].
func (s *KeyPairCreated) Cancel(ctx context.Context, reason string) (*Idle, error) {
	if s == nil || !s.ok() {
		return nil, errNilStage
	}
	return cancel(ctx, s.base, reason, func(tx *keystore.Tx, st *stateDoc) error {
		return tx.Remove(st.New.Alias)
	})
}

// Cancel abandons the renewal before step 3: it makes the old key the
// current key again, removes the new key from the store and returns to
// [Idle]. No receiver was given the new certificate, so no message can be
// encrypted to it. reason goes into the audit trail.
//
// Cancel returns a [*StageError] with [ErrStaleStage] and, if the
// certificate was provided meanwhile, [ErrCannotCancel]: from step 3 on
// a receiver may already encrypt to the new key. It returns a
// [*StageError] with [ErrCannotCancel] and a Reason naming the new key
// without changing anything if the new key may be in use although step
// 3 was not taken: the store records its certificate as handed out (an
// export counts, see [keystore.Tx.MarkProvided]; the key store's
// refusal is then the Cause), or it decrypted a response by the usage
// evidence of the store and this process. It also returns
// [ErrInvalidArgument] for a reason over 1024 bytes, and the errors of
// [keystore.Store.Update].
func (s *KeyAdded) Cancel(ctx context.Context, reason string) (*Idle, error) {
	if s == nil || !s.ok() {
		return nil, errNilStage
	}
	return cancel(ctx, s.base, reason, func(tx *keystore.Tx, st *stateDoc) error {
		// The store refuses to cancel a key whose certificate was handed
		// out; cancel checked the usage evidence.
		if err := tx.Remove(st.New.Alias); err != nil {
			return err
		}
		return tx.Rotate(st.Old.Alias)
	})
}

func cancel(ctx context.Context, b base, reason string, remove func(*keystore.Tx, *stateDoc) error) (*Idle, error) {
	if err := procedure.CheckText("reason", reason); err != nil {
		return nil, err
	}
	st, err := b.m.update(ctx, "Cancel", b.st, func(tx *keystore.Tx, d *docs, now time.Time) error {
		newE, err := tx.Entry(d.state.New.Alias)
		if err != nil {
			return err
		}
		lastUsed := procedure.Later(d.usage.LastUsed[procedure.Hex(newE.Fingerprint)], d.state.FirstNewKeyUse)
		refuse := func(why string, cause error) error {
			return &StageError{Op: "Cancel", Stage: d.state.Stage, Stored: d.state.Stage, Renewal: d.state.Renewal,
				Reason: fmt.Sprintf("the new key %s (%s) may be in use: %s; a receiver may encrypt to it, so continue with step 3 instead",
					newE.Alias, newE.Fingerprint.String(), why),
				Err: ErrCannotCancel, Cause: cause}
		}
		switch {
		case !newE.Provided.IsZero():
			return refuse("its certificate was handed out at "+newE.Provided.UTC().Format(time.RFC3339), nil)
		case !lastUsed.IsZero():
			return refuse("it decrypted a response at "+lastUsed.UTC().Format(time.RFC3339), nil)
		}
		if err := remove(tx, d.state); err != nil {
			if errors.Is(err, keystore.ErrProvided) {
				return refuse("the key store refused", err)
			}
			return err
		}
		d.record(Record{Time: now, Action: ActionCancel, Actor: b.m.opts.Actor, Note: reason})
		endRenewal(d, now, "cancelled")
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Idle{base{b.m, st}}, nil
}

// endRenewal returns the state to idle, keeping the renewal's number.
func endRenewal(d *docs, now time.Time, outcome string) {
	d.state = &stateDoc{
		Version: procedure.Version,
		Seq:     d.state.Seq + 1,
		Renewal: d.state.Renewal,
		Stage:   StageIdle,
		Ended:   now,
		Outcome: outcome,
	}
	d.stateChanged = true
}

func currentEntry(entries []keystore.Entry) (keystore.Entry, bool) {
	for _, e := range entries {
		if e.Status == keystore.StatusCurrent {
			return e, true
		}
	}
	return keystore.Entry{}, false
}
