package main

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wsrenew/wsrenew/wssec"
)

// signedSmall is the message decrypted before the baseline in signed rss
// mode: every code path of verification and decryption.
const signedSmall = "sign-then-encrypt-records-1KB"

// signedMessage is a message of signed.tsv ready to be timed.
type signedMessage struct {
	entry
	msg []byte
	d   *wssec.Decryptor
	// rsaOps performs the message's RSA operations alone: the PKCS#1 v1.5
	// verification of its SignatureValue over the canonical SignedInfo
	// (SHA-256 of it included), and the RSA-OAEP decryption of its
	// EncryptedKey if it is encrypted.
	rsaOps func() error
}

// loadSigned reads the message e of signed.tsv and prepares its
// Decryptor: key as the ring's only key, signer's certificate as the trust
// ring's only entry, whose clock stands one minute after the message's
// Timestamp Created, so that the fixed messages stay fresh. A signed-only
// message needs Policy.AllowPlaintextBody; the others get the zero Policy.
func loadSigned(dir string, e entry, key *rsa.PrivateKey, cert, signer *x509.Certificate) (*signedMessage, error) {
	msg, err := os.ReadFile(filepath.Join(dir, e.name+".xml"))
	if err != nil {
		return nil, err
	}
	created, err := timestampCreated(msg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e.name, err)
	}
	now := created.Add(time.Minute)
	trust, err := wssec.NewTrustRing(signer, wssec.RingOptions{Now: func() time.Time { return now }})
	if err != nil {
		return nil, err
	}
	d := &wssec.Decryptor{Keys: wssec.NewKeyRing(wssec.Key{Decrypter: key, Certificate: cert}), Signers: trust}
	encrypted := !strings.HasPrefix(e.name, "signed-")
	d.Policy.AllowPlaintextBody = !encrypted

	si, err := os.ReadFile(filepath.Join(dir, e.name+".signedinfo"))
	if err != nil {
		return nil, err
	}
	value, err := os.ReadFile(filepath.Join(dir, e.name+".sigvalue"))
	if err != nil {
		return nil, err
	}
	pub, ok := signer.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("signer.pem holds no RSA key")
	}
	var ek []byte
	if encrypted {
		if ek, err = encryptedKey(msg); err != nil {
			return nil, fmt.Errorf("%s: %w", e.name, err)
		}
	}
	ops := func() error {
		digest := sha256.Sum256(si)
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], value); err != nil {
			return err
		}
		if ek != nil {
			_, err := rsa.DecryptOAEP(crypto.SHA1.New(), nil, key, ek, nil)
			return err
		}
		return nil
	}
	if err := ops(); err != nil {
		return nil, fmt.Errorf("%s: RSA operations alone: %w", e.name, err)
	}
	return &signedMessage{entry: e, msg: msg, d: d, rsaOps: ops}, nil
}

// decrypt verifies and decrypts the message once and checks the result
// against the manifest.
func (m *signedMessage) decrypt() error {
	r, err := m.verify()
	if err != nil {
		return err
	}
	return check(m.entry, r.Envelope)
}

// verify verifies and decrypts the message once, without checking the
// result: the peak-memory run reads the peak between the two, so that
// the check's own garbage is not counted.
func (m *signedMessage) verify() (*wssec.Result, error) {
	r, err := m.d.Decrypt(m.msg)
	if err != nil {
		return nil, fmt.Errorf("Decrypt(%s): %w", m.name, err)
	}
	if len(r.Signers) == 0 {
		return nil, fmt.Errorf("Decrypt(%s): no verified signature", m.name)
	}
	return r, nil
}

// timeSigned times every message of signed.tsv: on a small message paired
// with its RSA operations alone ("verify", "verify-rsa" and
// "verify-overhead"), on a large one alone ("verify").
func timeSigned(c config, key *rsa.PrivateKey, cert, signer *x509.Certificate, out *json.Encoder) error {
	entries, err := readManifest(filepath.Join(c.dir, "signed.tsv"))
	if err != nil {
		return err
	}
	for _, e := range entries {
		m, err := loadSigned(c.dir, e, key, cert, signer)
		if err != nil {
			return err
		}
		if err := m.decrypt(); err != nil {
			return err
		}
		run := func() error {
			_, err := m.d.Decrypt(m.msg)
			return err
		}
		if e.payload >= large {
			med, err := median(c.largeWarmup, c.largeN, run)
			if err != nil {
				return fmt.Errorf("Decrypt(%s): %w", e.name, err)
			}
			out.Encode(record{Impl: "wsrenew", What: "verify", File: e.name, MedianUS: med, N: c.largeN})
			continue
		}
		p, err := paired(c.warmup, c.n, run, m.rsaOps)
		if err != nil {
			return fmt.Errorf("Decrypt(%s): %w", e.name, err)
		}
		out.Encode(record{Impl: "wsrenew", What: "verify", File: e.name, MedianUS: p.a, N: c.n})
		out.Encode(record{Impl: "wsrenew", What: "verify-rsa", File: e.name, MedianUS: p.b, N: c.n})
		out.Encode(record{Impl: "wsrenew", What: "verify-overhead", File: e.name, MedianUS: p.diff, N: c.n})
	}
	return nil
}

// peakRSSSigned is peakRSS for the signed message name, with the small
// signed message small loaded before the baseline.
func peakRSSSigned(dir string, key *rsa.PrivateKey, cert, signer *x509.Certificate, small, name string, out *json.Encoder) error {
	entries, err := readManifest(filepath.Join(dir, "signed.tsv"))
	if err != nil {
		return err
	}
	se, err := findEntry(entries, small, "signed.tsv")
	if err != nil {
		return err
	}
	e, err := findEntry(entries, name, "signed.tsv")
	if err != nil {
		return err
	}
	sm, err := loadSigned(dir, se, key, cert, signer)
	if err != nil {
		return err
	}
	if err := sm.decrypt(); err != nil {
		return err
	}
	sm = nil
	base, err := vmHWM()
	if err != nil {
		return err
	}
	m, err := loadSigned(dir, e, key, cert, signer)
	if err != nil {
		return err
	}
	r, err := m.verify()
	if err != nil {
		return err
	}
	peak, err := vmHWM()
	if err != nil {
		return err
	}
	if err := check(e, r.Envelope); err != nil {
		return err
	}
	return out.Encode(record{Impl: "wsrenew", What: "rss", File: e.name, BaselineKB: base, PeakKB: peak})
}

// readSigner reads the signer's certificate, signer.pem.
func readSigner(dir string) (*x509.Certificate, error) {
	b, err := os.ReadFile(filepath.Join(dir, "signer.pem"))
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("signer.pem holds no PEM block")
	}
	return x509.ParseCertificate(blk.Bytes)
}

// timestampCreated returns the wsu:Created time of the message's
// Timestamp.
func timestampCreated(msg []byte) (time.Time, error) {
	_, rest, ok := bytes.Cut(msg, []byte(":Created>"))
	if !ok {
		return time.Time{}, errors.New("no Timestamp Created")
	}
	v, _, ok := bytes.Cut(rest, []byte("<"))
	if !ok {
		return time.Time{}, errors.New("unterminated Timestamp Created")
	}
	return time.Parse(time.RFC3339, string(v))
}

// encryptedKey returns the decoded CipherValue of the message's first
// EncryptedKey.
func encryptedKey(msg []byte) ([]byte, error) {
	_, rest, ok := bytes.Cut(msg, []byte(":EncryptedKey "))
	if !ok {
		return nil, errors.New("no EncryptedKey")
	}
	_, rest, ok = bytes.Cut(rest, []byte(":CipherValue>"))
	if !ok {
		return nil, errors.New("no CipherValue in the EncryptedKey")
	}
	v, _, ok := bytes.Cut(rest, []byte("<"))
	if !ok {
		return nil, errors.New("unterminated CipherValue")
	}
	return base64.StdEncoding.DecodeString(string(bytes.Join(bytes.Fields(v), nil)))
}
