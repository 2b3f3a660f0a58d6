package wssec

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/wsrenew/wsrenew/internal/testpki"
)

func TestParseDNValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    string
		wantN   int
		wantErr error
	}{
		{name: "empty", in: "", want: "", wantN: 0},
		{name: "only space", in: " \t", want: "", wantN: 2},
		{name: "plain", in: "abc", want: "abc", wantN: 3},
		{name: "plain after space, up to a comma", in: "  abc,O=x", want: "abc", wantN: 5},
		{name: "plain up to a semicolon", in: "abc;O=x", want: "abc", wantN: 3},
		{name: "plain up to a plus", in: "abc+O=x", want: "abc", wantN: 3},
		{name: "plain keeps inner and trailing space", in: "a b ,", want: "a b ", wantN: 4},
		{name: "escaped separator", in: `a\,b`, want: "a,b", wantN: 4},
		{name: "escaped hex pair", in: `a\2Cb`, want: "a,b", wantN: 5},
		{name: "escaped UTF-8 bytes", in: `\C3\A9`, want: "é", wantN: 6},
		{name: "backslash and one hex digit at the end", in: `a\2`, want: "a2", wantN: 3},
		{name: "backslash at the end", in: `a\`, wantErr: errDN},
		{name: "quoted", in: `"a,b" ,O=x`, want: "a,b", wantN: 6},
		{name: "quoted with escaped quote", in: `"a\"b"`, want: `a"b`, wantN: 6},
		{name: "quoted after space", in: ` "x"`, want: "x", wantN: 4},
		{name: "unterminated quote", in: `"abc`, wantErr: errDN},
		{name: "unterminated quote after a backslash", in: `"abc\"`, wantErr: errDN},
		{name: "hex UTF8String", in: "#0c03616263", want: "abc", wantN: 11},
		{name: "hex PrintableString, upper case, space after", in: "#1303414243 ,O=x", want: "ABC", wantN: 12},
		{name: "hex OCTET STRING stays hex", in: "#04016A", want: "#04016a", wantN: 7},
		{name: "hex that is not one DER value stays hex", in: "#0c0361", want: "#0c0361", wantN: 7},
		{name: "hex with trailing bytes stays hex", in: "#0c016100", want: "#0c016100", wantN: 9},
		{name: "hash alone", in: "#", wantErr: errDN},
		{name: "hash before a separator", in: "#,O=x", wantErr: errDN},
		{name: "odd number of hex digits", in: "#0c0", wantErr: errDN},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, n, err := parseDNValue(tc.in)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("parseDNValue(%q) error = %v, want %v", tc.in, err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" || n != tc.wantN {
				t.Errorf("parseDNValue(%q) = %q, %d; want %q, %d", tc.in, got, n, tc.want, tc.wantN)
			}
		})
	}
}

func TestCanonicalDNStrings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		wantFwd string
		wantRev string
		wantErr error
	}{
		{name: "RFC 2253", in: "CN=Test CA,O=wsrenew test,C=DE", wantFwd: "2.5.4.3=test ca,2.5.4.10=wsrenew test,2.5.4.6=de", wantRev: "2.5.4.6=de,2.5.4.10=wsrenew test,2.5.4.3=test ca"},
		{name: "RFC 1779 spaces and semicolons", in: " cn = Test  CA ; o=\"wsrenew test\";c=DE ", wantFwd: "2.5.4.3=test ca,2.5.4.10=wsrenew test,2.5.4.6=de", wantRev: "2.5.4.6=de,2.5.4.10=wsrenew test,2.5.4.3=test ca"},
		{name: "multi-valued RDN sorted", in: "OU=b+CN=a,C=DE", wantFwd: "2.5.4.11=b+2.5.4.3=a,2.5.4.6=de", wantRev: "2.5.4.6=de,2.5.4.11=b+2.5.4.3=a"},
		{name: "one RDN has no reverse", in: "CN=x", wantFwd: "2.5.4.3=x"},
		{name: "OID type", in: "OID.2.5.4.3=x,1.2.3=y", wantFwd: "2.5.4.3=x,1.2.3=y", wantRev: "1.2.3=y,2.5.4.3=x"},
		{name: "empty", in: "", wantErr: errDN},
		{name: "trailing separator", in: "CN=x,", wantErr: errDN},
		{name: "no type", in: "=x", wantErr: errDN},
		{name: "unknown type name", in: "FOO=x", wantErr: errDN},
		{name: "bad value", in: "CN=#zz", wantErr: errDN},
		{name: "too long", in: "CN=" + strings.Repeat("a", maxDNLength), wantErr: errDN},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fwd, rev, err := canonicalDNStrings(tc.in)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("canonicalDNStrings(%q) error = %v, want %v", tc.in, err, tc.wantErr)
			}
			if diff := cmp.Diff([2]string{tc.wantFwd, tc.wantRev}, [2]string{fwd, rev}); diff != "" {
				t.Errorf("canonicalDNStrings(%q) mismatch (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

// A certificate's DER names and the strings Go writes for them reduce to
// the same canonical form, the string in reversed order.
func TestCanonicalRawDN_matchesString(t *testing.T) {
	t.Parallel()
	for _, name := range []string{testpki.Old, testpki.New, testpki.CA} {
		cert := testpki.Load(name).Certificate
		for _, n := range []struct {
			raw []byte
			str string
		}{{cert.RawIssuer, cert.Issuer.String()}, {cert.RawSubject, cert.Subject.String()}} {
			raw, err := canonicalRawDN(n.raw)
			if err != nil {
				t.Fatalf("canonicalRawDN(%s) error = %v", n.str, err)
			}
			fwd, rev, err := canonicalDNStrings(n.str)
			if err != nil {
				t.Fatalf("canonicalDNStrings(%s) error = %v", n.str, err)
			}
			if rev == "" {
				rev = fwd
			}
			if raw != rev {
				t.Errorf("canonicalRawDN(%s) = %q, want the reversed string form %q", n.str, raw, rev)
			}
		}
	}
	if _, err := canonicalRawDN([]byte{0x30}); !errors.Is(err, errDN) {
		t.Errorf("canonicalRawDN(truncated) error = %v, want %v", err, errDN)
	}
}

// FuzzParseDN feeds arbitrary strings to the DN parser. Property: no
// panic, every error is errDN, and a value never claims more bytes than
// it was given.
func FuzzParseDN(f *testing.F) {
	for _, s := range []string{
		"CN=wsrenew Test CA,O=wsrenew test,C=DE",
		` cn = "a,b" ; OU=x+UID=#0c0161`,
		`CN=a\2Cb\,c`,
		`OID.2.5.4.3=#04016a`,
		`CN="unterminated`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if _, _, err := canonicalDNStrings(s); err != nil && err != errDN {
			t.Fatalf("canonicalDNStrings(%q) error = %v, want nil or errDN", s, err)
		}
		_, n, err := parseDNValue(s)
		if err != nil && err != errDN {
			t.Fatalf("parseDNValue(%q) error = %v, want nil or errDN", s, err)
		}
		if n < 0 || n > len(s) {
			t.Fatalf("parseDNValue(%q) consumed %d bytes of %d", s, n, len(s))
		}
	})
}
