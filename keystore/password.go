package keystore

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// maxPasswordFileBytes bounds what a password file may hold; a larger file
// is not a password file.
const maxPasswordFileBytes = 4096

type passwordKind int

const (
	passwordNone passwordKind = iota
	passwordValue
	passwordEnv
	passwordFile
)

// PasswordSource says where the password that protects a store's PKCS#12
// files comes from. There is no default: the zero PasswordSource yields
// [ErrNoPassword].
//
// Printing a PasswordSource with any verb of package fmt shows the source
// (the variable name or file path), never the password. The source is
// read when a store is opened or created. A PasswordSource is an
// immutable value, safe for concurrent use.
type PasswordSource struct {
	kind  passwordKind
	name  string // variable name or file path
	value string
}

// PasswordValue returns a source that yields password itself. Prefer
// [PasswordEnv] or [PasswordFile] so that the password stays out of
// configuration files and command lines.
func PasswordValue(password string) PasswordSource {
	return PasswordSource{kind: passwordValue, value: password}
}

// PasswordEnv returns a source that reads the password from the environment
// variable name when a store is opened.
func PasswordEnv(name string) PasswordSource {
	return PasswordSource{kind: passwordEnv, name: name}
}

// PasswordFile returns a source that reads the password from the file at
// path when a store is opened. One trailing line break ("\n" or "\r\n") is
// removed; any other byte, including spaces, is part of the password.
func PasswordFile(path string) PasswordSource {
	return PasswordSource{kind: passwordFile, name: path}
}

// describe describes the source without the password.
func (p PasswordSource) describe() string {
	switch p.kind {
	case passwordValue:
		return "password value (redacted)"
	case passwordEnv:
		return fmt.Sprintf("password from environment variable %s", p.name)
	case passwordFile:
		return fmt.Sprintf("password from file %s", p.name)
	}
	return "no password source"
}

// Format describes the source, never the password, for every verb, so
// that neither %v, %s, %+v, %#v nor %x can show the password.
func (p PasswordSource) Format(f fmt.State, verb rune) {
	io.WriteString(f, p.describe())
}

// password returns the password. It returns ErrNoPassword for an empty
// password or one that cannot be read.
func (p PasswordSource) password() (string, error) {
	switch p.kind {
	case passwordValue:
		if p.value == "" {
			return "", fmt.Errorf("%w: empty password value", ErrNoPassword)
		}
		return p.value, nil
	case passwordEnv:
		v, ok := os.LookupEnv(p.name)
		if !ok || v == "" {
			return "", fmt.Errorf("%w: environment variable %s is unset or empty", ErrNoPassword, p.name)
		}
		return v, nil
	case passwordFile:
		f, err := os.Open(p.name)
		if err != nil {
			return "", fmt.Errorf("%w: %w", ErrNoPassword, err)
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxPasswordFileBytes+1))
		if err != nil {
			return "", fmt.Errorf("%w: read %s: %w", ErrNoPassword, p.name, err)
		}
		if len(b) > maxPasswordFileBytes {
			return "", fmt.Errorf("%w: %s is larger than %d bytes", ErrNoPassword, p.name, maxPasswordFileBytes)
		}
		s := string(b)
		if strings.HasSuffix(s, "\r\n") {
			s = s[:len(s)-2]
		} else {
			s = strings.TrimSuffix(s, "\n")
		}
		if s == "" {
			return "", fmt.Errorf("%w: %s is empty", ErrNoPassword, p.name)
		}
		return s, nil
	}
	return "", fmt.Errorf("%w: no password source given", ErrNoPassword)
}

// passwordCheckIterations is the PBKDF2 work of a password check: as much
// as a guess against the PKCS#12 files costs and more, so that the check
// is not the cheaper target.
const passwordCheckIterations = 100_000

// passwordCheck is a salted PBKDF2-HMAC-SHA-256 digest of the store's
// password, kept in the manifest. It tells a damaged key file (the
// password matches the check) from a wrong password (it does not).
type passwordCheck struct {
	Salt       []byte `json:"salt"`
	Iterations int    `json:"iterations"`
	Digest     []byte `json:"sha256"`
}

// newPasswordCheck makes the check of password with a salt from rand.
func newPasswordCheck(password string, rand io.Reader) (*passwordCheck, error) {
	salt := make([]byte, 16)
	if _, err := io.ReadFull(rand, salt); err != nil {
		return nil, fmt.Errorf("keystore: password check salt: %w", err)
	}
	d, err := pbkdf2.Key(sha256.New, password, salt, passwordCheckIterations, sha256.Size)
	if err != nil {
		return nil, fmt.Errorf("keystore: password check: %w", err)
	}
	return &passwordCheck{Salt: salt, Iterations: passwordCheckIterations, Digest: d}, nil
}

func (c *passwordCheck) valid() error {
	if c == nil {
		return nil
	}
	if len(c.Salt) < 8 || len(c.Digest) != sha256.Size || c.Iterations < 1000 || c.Iterations > 10_000_000 {
		return errors.New("unusable parameters")
	}
	return nil
}

// matches reports whether password is the one the check was made of.
func (c *passwordCheck) matches(password string) bool {
	d, err := pbkdf2.Key(sha256.New, password, c.Salt, c.Iterations, sha256.Size)
	return err == nil && subtle.ConstantTimeCompare(d, c.Digest) == 1
}
