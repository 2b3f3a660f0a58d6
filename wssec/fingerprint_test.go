package wssec_test

import (
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wsrenew/wsrenew/internal/interop"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/wssec"
)

// TestFingerprint_String pins the one printed form of a fingerprint. The
// wanted values are what `openssl x509 -noout -fingerprint -sha256`
// printed for the fixture certificates.
func TestFingerprint_String(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		fp   wssec.Fingerprint
		want string
	}{
		{"old", wssec.FingerprintOf(oldID.Certificate), "EB:BF:A8:EC:42:25:6C:51:54:3C:09:F4:F7:81:0B:59:32:B1:99:70:48:D3:AC:0D:72:A5:6E:DD:3E:17:40:EF"},
		{"new", wssec.FingerprintOf(newID.Certificate), "3F:90:6F:4C:22:5A:D0:76:78:CA:57:21:00:82:AE:B2:F7:44:B7:A8:F2:46:76:65:86:A3:11:83:3B:DB:80:A2"},
		{"nil certificate", wssec.FingerprintOf(nil), strings.Repeat("00:", 31) + "00"},
		{"all bits", wssec.Fingerprint{0: 0xff, 31: 0x0a}, "FF:" + strings.Repeat("00:", 30) + "0A"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, tc.fp.String()); diff != "" {
				t.Errorf("String() mismatch (-want +got):\n%s", diff)
			}
			if got := tc.fp.String(); len(got) != 95 {
				t.Errorf("len(String()) = %d, want 95", len(got))
			}
		})
	}
}

// TestFingerprint_openssl compares the printed form with a live run of
// openssl, the tool a partner's administrator compares it with.
func TestFingerprint_openssl(t *testing.T) {
	t.Parallel()
	bin := interop.Require(t, interop.Executable("openssl", "apt-get install openssl"))[0]
	for _, name := range []string{testpki.Old, testpki.New, testpki.Stranger} {
		cert := testpki.Load(name).Certificate
		path := filepath.Join(t.TempDir(), name+".pem")
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bin, "x509", "-in", path, "-noout", "-fingerprint", "-sha256").Output()
		if err != nil {
			t.Fatalf("openssl x509 -fingerprint: %v", err)
		}
		_, got, _ := strings.Cut(strings.TrimSpace(string(out)), "=")
		if want := wssec.FingerprintOf(cert).String(); got != want {
			t.Errorf("%s: openssl prints %s, String() = %s", name, got, want)
		}
	}
}
