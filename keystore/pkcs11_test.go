package keystore

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/wssec"
)

func TestParseTokenURI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    *TokenURI
		canon   string
		wantErr error
	}{
		{
			name:  "label and id",
			in:    "pkcs11:token=wsrenew;object=tenant;id=%01%A2?module-path=/usr/lib/softhsm/libsofthsm2.so",
			want:  &TokenURI{ModulePath: "/usr/lib/softhsm/libsofthsm2.so", Token: "wsrenew", Object: "tenant", ID: []byte{1, 0xa2}},
			canon: "pkcs11:token=wsrenew;object=tenant;id=%01%a2?module-path=/usr/lib/softhsm/libsofthsm2.so",
		},
		{
			name:  "serial, escaped label, type",
			in:    "pkcs11:serial=abc;object=my%20key;type=private?module-path=/m.so",
			want:  &TokenURI{ModulePath: "/m.so", Serial: "abc", Object: "my key"},
			canon: "pkcs11:serial=abc;object=my%20key?module-path=/m.so",
		},
		{name: "other scheme", in: "blob:x.1.p12", wantErr: ErrInvalidTokenURI},
		{name: "no module", in: "pkcs11:token=a;object=b", wantErr: ErrInvalidTokenURI},
		{name: "relative module", in: "pkcs11:token=a;object=b?module-path=libsofthsm2.so", wantErr: ErrInvalidTokenURI},
		{name: "no token", in: "pkcs11:object=b?module-path=/m.so", wantErr: ErrInvalidTokenURI},
		{name: "two token selectors", in: "pkcs11:token=a;serial=s;object=b?module-path=/m.so", wantErr: ErrInvalidTokenURI},
		{name: "no key selector", in: "pkcs11:token=a?module-path=/m.so", wantErr: ErrInvalidTokenURI},
		{name: "unknown attribute", in: "pkcs11:token=a;object=b;slot-id=1?module-path=/m.so", wantErr: ErrInvalidTokenURI},
		{name: "pin in URI", in: "pkcs11:token=a;object=b?module-path=/m.so&pin-value=1234", wantErr: ErrInvalidTokenURI},
		{name: "repeated", in: "pkcs11:token=a;token=b;object=b?module-path=/m.so", wantErr: ErrInvalidTokenURI},
		{name: "public key", in: "pkcs11:token=a;object=b;type=public?module-path=/m.so", wantErr: ErrInvalidTokenURI},
		{name: "bad escape", in: "pkcs11:token=a;object=%zz?module-path=/m.so", wantErr: ErrInvalidTokenURI},
		{name: "too long", in: "pkcs11:token=" + strings.Repeat("a", 3000), wantErr: ErrInvalidTokenURI},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseTokenURI(tc.in)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("ParseTokenURI(%q) error = %v, want %v", tc.in, err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseTokenURI(%q) mismatch (-want +got):\n%s", tc.in, diff)
			}
			if s := got.String(); s != tc.canon {
				t.Errorf("String() = %q, want %q", s, tc.canon)
			}
			if again, err := ParseTokenURI(got.String()); err != nil || !cmp.Equal(again, got) {
				t.Errorf("ParseTokenURI(String()) = %v, %v, want the same URI", again, err)
			}
		})
	}
}

// memModule is a TokenModule whose keys are RSA keys in memory, in one
// token labelled memToken, that decrypt only what SoftHSM2 does
// (RSA-OAEP with SHA-1 and no label, plain PKCS#1 v1.5). It tests this
// package's own token logic: the URI in the entry, probing, reopening,
// the errors. It is no stand-in for PKCS#11: package keystore/pkcs11
// tests the real module against SoftHSM2, through this package's API.
type memModule struct {
	pin string

	mu   sync.Mutex
	keys []*memKey
	// fail, if not nil, is the error of every call.
	fail error
	// decryptNothing makes the keys generated from now on refuse every
	// decryption.
	decryptNothing bool
}

const memToken = "mem"

// memKey is a key of a memModule.
type memKey struct {
	id      []byte
	label   string
	key     *rsa.PrivateKey
	nothing bool

	mu     sync.Mutex
	closed bool
}

func (k *memKey) Public() crypto.PublicKey { return k.key.Public() }

func (k *memKey) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return k.key.Sign(r, digest, opts)
}

func (k *memKey) Decrypt(r io.Reader, ct []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	refused := k.nothing
	switch o := opts.(type) {
	case *rsa.OAEPOptions:
		refused = refused || o.Hash != crypto.SHA1 || o.MGFHash != crypto.SHA1 && o.MGFHash != 0 || len(o.Label) > 0
	case *rsa.PKCS1v15DecryptOptions:
		refused = refused || o.SessionKeyLen > 0
	default:
		refused = true
	}
	if refused {
		return nil, errors.New("mem: mechanism invalid")
	}
	return k.key.Decrypt(r, ct, opts)
}

func (k *memKey) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.closed = true
	return nil
}

// find returns the keys u selects, or an error for a wrong token or PIN.
func (m *memModule) find(u *TokenURI, pin string) ([]*memKey, error) {
	if m.fail != nil {
		return nil, m.fail
	}
	if u.Token != memToken {
		return nil, errors.New("mem: no such token")
	}
	if pin != m.pin {
		return nil, errors.New("mem: PIN incorrect")
	}
	var found []*memKey
	for _, k := range m.keys {
		if (len(u.ID) == 0 || bytes.Equal(k.id, u.ID)) && (u.Object == "" || k.label == u.Object) {
			found = append(found, k)
		}
	}
	return found, nil
}

func (m *memModule) OpenKey(u *TokenURI, pin string) (TokenKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	found, err := m.find(u, pin)
	if err != nil {
		return nil, err
	}
	if len(found) != 1 {
		return nil, &Error{Source: u.String(), Reason: "find the key", Err: ErrToken}
	}
	return found[0], nil
}

func (m *memModule) GenerateKey(u *TokenURI, pin string, bits int) (TokenKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.find(u, pin); err != nil {
		return nil, err
	}
	for _, k := range m.keys {
		if bytes.Equal(k.id, u.ID) || u.Object != "" && k.label == u.Object {
			return nil, &Error{Source: u.String(), Reason: "generate", Err: ErrToken}
		}
	}
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, err
	}
	k := &memKey{id: u.ID, label: u.Object, key: key, nothing: m.decryptNothing}
	m.keys = append(m.keys, k)
	return k, nil
}

// memURI names the key object in a memModule's token.
func memURI(object string) *TokenURI {
	return &TokenURI{ModulePath: "/nonexistent/mem.so", Token: memToken, Object: object}
}

// tokenStore creates a store whose token module is a new memModule.
func tokenStore(t *testing.T) (*Store, *memModule, string) {
	t.Helper()
	m := &memModule{pin: testPassword}
	_, clock, dir := newTestStore(t)
	s, err := Open(context.Background(), Dir(dir), PasswordValue(testPassword), Options{Now: clock.Now, Tokens: m})
	if err != nil {
		t.Fatalf("Open() error = %v", err)
	}
	return s, m, dir
}

func TestGenerateTokenCredential_module(t *testing.T) {
	t.Parallel()
	s, m, dir := tokenStore(t)
	ctx := context.Background()
	mustUpdate(t, s, func(tx *Tx) error { return errors.Join(tx.Add("old", fixture(testpki.Old), nil), tx.Rotate("old")) })
	e, err := generateInToken(ctx, s, "next", pkix.Name{CommonName: "tenant"}, memURI("next"), GenerateOptions{Bits: 2048})
	if err != nil {
		t.Fatalf("GenerateTokenCredential() error = %v", err)
	}
	got, err := ParseTokenURI(e.Location)
	if err != nil || got.Token != memToken || got.Object != "next" || len(got.ID) != 16 || e.Location != got.String() {
		t.Fatalf("entry location %q, want the token key with a 16-byte id", e.Location)
	}
	if _, err := generateInToken(ctx, s, "next2", pkix.Name{CommonName: "tenant"}, got, GenerateOptions{Bits: 2048}); !errors.Is(err, ErrToken) {
		t.Errorf("GenerateTokenCredential(same id) error = %v, want %v", err, ErrToken)
	}
	for _, tc := range []struct {
		t       wssec.TransportParams
		wantErr error
	}{
		{wssec.TransportParams{KeyTransport: wssec.RSAOAEPMGF1P}, nil},
		{wssec.TransportParams{KeyTransport: wssec.RSAOAEP, OAEPDigest: crypto.SHA1}, nil},
		{wssec.TransportParams{KeyTransport: wssec.RSA15}, nil},
		{wssec.TransportParams{}, wssec.ErrKeyCapability},
		{wssec.TransportParams{KeyTransport: wssec.RSAOAEP, OAEPDigest: crypto.SHA1, MGF: crypto.SHA256}, wssec.ErrKeyCapability},
	} {
		err := s.CheckTransport("next", tc.t)
		if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
			t.Errorf("CheckTransport(%+v) error = %v, want %v", tc.t, err, tc.wantErr)
		}
	}
	if err := s.CheckTransport("nope", wssec.TransportParams{}); !errors.Is(err, ErrUnknownAlias) {
		t.Errorf("CheckTransport(unknown alias) error = %v, want %v", err, ErrUnknownAlias)
	}
	if _, err := s.ExportPKCS12("next", "x"); err == nil {
		t.Errorf("ExportPKCS12(token entry) error = nil, want an error")
	}
	mustUpdate(t, s, func(tx *Tx) error { return tx.Rotate("next") })

	// Another Store on the same directory opens the key through the
	// module and decrypts what the key performs, refusing the rest.
	s2, err := Open(ctx, Dir(dir), PasswordValue(testPassword), Options{Now: s.opts.Now, Tokens: m})
	if err != nil {
		t.Fatalf("Open() error = %v", err)
	}
	ring, err := s2.KeyRing()
	if err != nil {
		t.Fatal(err)
	}
	dec := &wssec.Decryptor{Keys: ring, Policy: wssec.Policy{AllowRSA15: true}}
	env := []byte(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><x>token</x></soap:Body></soap:Envelope>`)
	for _, tc := range []struct {
		enc     wssec.Encryptor
		wantErr error
	}{
		{wssec.Encryptor{KeyTransport: wssec.RSAOAEPMGF1P}, nil},
		{wssec.Encryptor{KeyTransport: wssec.RSA15}, nil},
		{wssec.Encryptor{}, wssec.ErrKeyCapability},
	} {
		tc.enc.Certificate = e.Certificate
		msg, err := tc.enc.Encrypt(env)
		if err != nil {
			t.Fatal(err)
		}
		res, err := dec.Decrypt(msg)
		if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
			t.Errorf("Decrypt(%s) error = %v, want %v", tc.enc.KeyTransport, err, tc.wantErr)
			continue
		}
		if err == nil && !strings.Contains(string(res.Envelope), "<x>token</x>") {
			t.Errorf("Decrypt(%s) envelope = %s", tc.enc.KeyTransport, res.Envelope)
		}
	}

	// Without a module the token entry cannot be opened, and the error
	// names the entry and the fix.
	_, err = Open(ctx, Dir(dir), PasswordValue(testPassword), Options{})
	var ee *EntryError
	if !errors.As(err, &ee) || ee.Alias != "next" || !errors.Is(err, ErrTokenUnavailable) || !strings.Contains(err.Error(), "Options.Tokens") {
		t.Errorf("Open(no Tokens) error = %v, want an *EntryError for next with %v naming Options.Tokens", err, ErrTokenUnavailable)
	}
}

func TestOpenTokenCredential_module(t *testing.T) {
	t.Parallel()
	s, m, _ := tokenStore(t)
	ctx := context.Background()
	c, err := GenerateTokenCredential(m, memURI("imported"), PasswordValue(testPassword), pkix.Name{CommonName: "tenant"}, GenerateOptions{Bits: 2048})
	if err != nil {
		t.Fatalf("GenerateTokenCredential() error = %v", err)
	}
	if _, err := importFromToken(ctx, s, "k", memURI("imported"), fixture(testpki.Old).Certificate, nil); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("OpenTokenCredential(foreign certificate) error = %v, want %v", err, ErrKeyMismatch)
	}
	if _, err := importFromToken(ctx, s, "absent", memURI("absent"), c.Certificate, nil); !errors.Is(err, ErrToken) {
		t.Errorf("OpenTokenCredential(absent key) error = %v, want %v", err, ErrToken)
	}
	e, err := importFromToken(ctx, s, "k", memURI("imported"), c.Certificate, map[string]string{"hsm": "mem"})
	if err != nil {
		t.Fatalf("OpenTokenCredential() error = %v", err)
	}
	if !e.Certificate.Equal(c.Certificate) || e.Status != StatusPending {
		t.Errorf("OpenTokenCredential() entry = %v, want pending with the token key's certificate", e)
	}
	oc, err := OpenTokenCredential(m, memURI("imported"), PasswordValue(testPassword), c.Certificate, nil)
	if err != nil {
		t.Fatalf("OpenTokenCredential() error = %v", err)
	}
	if !oc.Certificate.Equal(c.Certificate) {
		t.Errorf("OpenTokenCredential() certificate differs")
	}
	if _, err := OpenTokenCredential(m, memURI("imported"), PasswordValue(testPassword), fixture(testpki.Old).Certificate, nil); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("OpenTokenCredential(foreign certificate) error = %v, want %v", err, ErrKeyMismatch)
	}
}

// TestTokenModule_errors checks the errors of token operations: no
// module, a module failing with a plain error, a key that decrypts
// nothing (closed again), and a wrong PIN.
func TestTokenModule_errors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	subject := pkix.Name{CommonName: "tenant"}
	pin := PasswordValue(testPassword)
	cert := fixture(testpki.Old).Certificate
	plain := errors.New("mem: device removed")
	tests := []struct {
		name    string
		m       *memModule
		pin     PasswordSource
		wantErr []error
		reason  string
	}{
		{name: "no module", wantErr: []error{ErrTokenUnavailable}, reason: "Options.Tokens"},
		{name: "plain module error", m: &memModule{pin: testPassword, fail: plain}, wantErr: []error{ErrToken, plain}},
		{name: "decrypts nothing", m: &memModule{pin: testPassword, decryptNothing: true}, wantErr: []error{ErrToken}, reason: "probe the key"},
		{name: "wrong PIN", m: &memModule{pin: "other"}, wantErr: []error{ErrToken}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var mod TokenModule
			if tc.m != nil {
				mod = tc.m
			}
			_, clock, dir := newTestStore(t)
			s, err := Open(ctx, Dir(dir), pin, Options{Now: clock.Now, Tokens: mod})
			if err != nil {
				t.Fatal(err)
			}
			check := func(op string, err error) {
				t.Helper()
				var te *Error
				if !errors.As(err, &te) || !strings.Contains(te.Reason, tc.reason) {
					t.Errorf("%s error = %v, want a *Error with reason %q", op, err, tc.reason)
				}
				for _, w := range tc.wantErr {
					if !errors.Is(err, w) {
						t.Errorf("%s error = %v, want %v", op, err, w)
					}
				}
			}
			_, err = GenerateTokenCredential(mod, memURI("k2"), pin, subject, GenerateOptions{Bits: 2048})
			check("GenerateTokenCredential()", err)
			if tc.m == nil || !tc.m.decryptNothing {
				_, err = OpenTokenCredential(mod, memURI("k"), pin, cert, nil)
				check("OpenTokenCredential()", err)
			}
			if tc.m != nil {
				for _, k := range tc.m.keys {
					if k.closed != tc.m.decryptNothing {
						t.Errorf("key %s closed = %v, want %v", k.label, k.closed, tc.m.decryptNothing)
					}
				}
			}
			if len(s.View().Entries()) != 0 {
				t.Errorf("Entries() = %v, want none after failures", s.View().Entries())
			}
		})
	}
}

// generateInToken generates a key in the token u names with the store's
// module, the test PIN and the store's clock, and adds it to s under
// alias as a pending entry.
func generateInToken(ctx context.Context, s *Store, alias string, subject pkix.Name, u *TokenURI, opts GenerateOptions) (Entry, error) {
	opts.Now = s.opts.Now
	c, err := GenerateTokenCredential(s.opts.Tokens, u, PasswordValue(testPassword), subject, opts)
	if err != nil {
		return Entry{}, err
	}
	return addCredential(ctx, s, alias, c, nil)
}

// importFromToken opens the key u names with the store's module and cert
// and adds it to s under alias as a pending entry.
func importFromToken(ctx context.Context, s *Store, alias string, u *TokenURI, cert *x509.Certificate, labels map[string]string) (Entry, error) {
	c, err := OpenTokenCredential(s.opts.Tokens, u, PasswordValue(testPassword), cert, nil)
	if err != nil {
		return Entry{}, err
	}
	return addCredential(ctx, s, alias, c, labels)
}

// addCredential adds c to s under alias and returns the new entry.
func addCredential(ctx context.Context, s *Store, alias string, c *Credential, labels map[string]string) (Entry, error) {
	if err := s.Update(ctx, func(tx *Tx) error { return tx.Add(alias, c, labels) }); err != nil {
		return Entry{}, err
	}
	return s.View().Entry(alias)
}

// TestTx_Add_tokenWithoutModule refuses a token key in a store that could
// not open it again.
func TestTx_Add_tokenWithoutModule(t *testing.T) {
	t.Parallel()
	m := &memModule{pin: testPassword}
	c, err := GenerateTokenCredential(m, memURI("k"), PasswordValue(testPassword), pkix.Name{CommonName: "tenant"}, GenerateOptions{Bits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	s, _, _ := newTestStore(t)
	_, err = addCredential(context.Background(), s, "k", c, nil)
	if !errors.Is(err, ErrTokenUnavailable) || !strings.Contains(err.Error(), "Options.Tokens") {
		t.Errorf("Add(token key, no Options.Tokens) error = %v, want %v naming the option", err, ErrTokenUnavailable)
	}
}
