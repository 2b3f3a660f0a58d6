package keystore

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsrenew/wsrenew/internal/interop"
	"github.com/wsrenew/wsrenew/wssec"
)

// OpenSSL and keytool read what the store writes: its own key files with
// the store's password, and exported entries.
func TestStore_PKCS12_interop(t *testing.T) {
	t.Parallel()
	tools := interop.Require(t,
		interop.Executable("openssl", "apt-get install openssl"),
		interop.Executable("keytool", "apt-get install openjdk-17-jre-headless"),
	)
	openssl, keytool := tools[0], tools[1]
	s, _, dir := ringStore(t)
	export, err := s.ExportPKCS12("old", "export-password")
	if err != nil {
		t.Fatal(err)
	}
	exported := filepath.Join(t.TempDir(), "old.p12")
	if err := os.WriteFile(exported, export, 0o600); err != nil {
		t.Fatal(err)
	}
	e, _ := s.View().Entry("new")
	blob, _ := blobOfLocation(e.Location)

	tests := []struct {
		name     string
		file     string
		password string
		want     string // SHA-256 fingerprint of the certificate
	}{
		{"exported entry", exported, "export-password", mustExport(t, s, "old")},
		{"store file", filepath.Join(dir, blob), testPassword, mustExport(t, s, "new")},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/openssl", func(t *testing.T) {
			pem := run(t, openssl, "pkcs12", "-in", tc.file, "-passin", "pass:"+tc.password, "-nokeys", "-clcerts")
			fp := runStdin(t, pem, openssl, "x509", "-noout", "-fingerprint", "-sha256")
			if !strings.Contains(fp, tc.want) {
				t.Errorf("openssl fingerprint = %q, want %s", fp, tc.want)
			}
			run(t, openssl, "pkcs12", "-in", tc.file, "-passin", "pass:"+tc.password, "-nocerts", "-nodes")
		})
		t.Run(tc.name+"/keytool", func(t *testing.T) {
			out := run(t, keytool, "-J-Duser.language=en", "-list", "-v", "-storetype", "PKCS12", "-keystore", tc.file, "-storepass", tc.password)
			if !strings.Contains(out, "PrivateKeyEntry") || !strings.Contains(out, tc.want) {
				t.Errorf("keytool -list = %s\nwant a PrivateKeyEntry with %s", out, tc.want)
			}
		})
	}
}

// mustExport exports the certificate of alias and returns its
// fingerprint, which openssl and keytool must print the same.
func mustExport(t *testing.T, s *Store, alias string) string {
	t.Helper()
	mustUpdate(t, s, func(tx *Tx) error { return tx.MarkProvided(alias) })
	c, err := s.ExportCertificate(alias)
	if err != nil {
		t.Fatal(err)
	}
	return wssec.FingerprintOf(c).String()
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	return runStdin(t, "", name, args...)
}

func runStdin(t *testing.T, stdin, name string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(context.Background(), name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
