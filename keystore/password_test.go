package keystore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsrenew/wsrenew/internal/testpki"
)

func TestPasswordSource(t *testing.T) {
	dir := t.TempDir()
	file := func(content string) string {
		p := filepath.Join(dir, fmt.Sprintf("pw%d", len(content)))
		os.WriteFile(p, []byte(content), 0o600)
		return p
	}
	t.Setenv("KEYSTORE_TEST_PW", "from env")
	t.Setenv("KEYSTORE_TEST_EMPTY", "")
	tests := []struct {
		name    string
		src     PasswordSource
		want    string
		wantErr error
	}{
		{name: "value", src: PasswordValue("v"), want: "v"},
		{name: "env", src: PasswordEnv("KEYSTORE_TEST_PW"), want: "from env"},
		{name: "file", src: PasswordFile(file("secret")), want: "secret"},
		{name: "file newline", src: PasswordFile(file("secret\n")), want: "secret"},
		{name: "file CRLF", src: PasswordFile(file("secret\r\n")), want: "secret"},
		{name: "file keeps spaces", src: PasswordFile(file(" secret \n\n")), want: " secret \n"},
		{name: "zero", wantErr: ErrNoPassword},
		{name: "empty value", src: PasswordValue(""), wantErr: ErrNoPassword},
		{name: "unset env", src: PasswordEnv("KEYSTORE_TEST_UNSET"), wantErr: ErrNoPassword},
		{name: "empty env", src: PasswordEnv("KEYSTORE_TEST_EMPTY"), wantErr: ErrNoPassword},
		{name: "missing file", src: PasswordFile(filepath.Join(dir, "missing")), wantErr: ErrNoPassword},
		{name: "empty file", src: PasswordFile(file("\n")), wantErr: ErrNoPassword},
		{name: "directory", src: PasswordFile(dir), wantErr: ErrNoPassword},
		{name: "huge file", src: PasswordFile(file(strings.Repeat("x", maxPasswordFileBytes+1))), wantErr: ErrNoPassword},
	}
	for _, tc := range tests {
		got, err := tc.src.password()
		if !errors.Is(err, tc.wantErr) || got != tc.want {
			t.Errorf("%s: password() = %q, %v; want %q, %v", tc.name, got, err, tc.want, tc.wantErr)
		}
	}
}

// No verb of package fmt prints a password or a private key.
func TestRedaction(t *testing.T) {
	t.Parallel()
	const secret = "hunter2-very-secret"
	key := testpki.Load(testpki.Old).Key
	values := []any{PasswordValue(secret), &PasswordSource{kind: passwordValue, value: secret}, fixture(testpki.Old), (*Credential)(nil)}
	for _, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q", "%d"} {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(out, secret) || strings.Contains(out, key.D.String()) || strings.Contains(out, fmt.Sprintf("%x", key.D.Bytes()[:8])) {
				t.Errorf("Sprintf(%q, %T) = %q shows a secret", verb, v, out)
			}
		}
	}
	wants := map[string]PasswordSource{
		"password from environment variable X": PasswordEnv("X"),
		"password from file /p":                PasswordFile("/p"),
		"password value (redacted)":            PasswordValue(secret),
		"no password source":                   {},
	}
	for want, src := range wants {
		if got := fmt.Sprint(src); got != want {
			t.Errorf("Sprint() = %q, want %q", got, want)
		}
	}
}
