package main

import (
	"crypto/x509/pkix"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
)

// maxInput bounds the files keyadmin reads; the keystore package refuses
// larger imports anyway.
const maxInput = 1 << 20

// readInput reads a file given on the command line.
func readInput(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxInput+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxInput {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxInput)
	}
	return data, nil
}

// writeOutput writes a file for the operator, or to w if path is "-".
// Certificates and requests are public, so the file is readable by all.
func writeOutput(path string, data []byte, w io.Writer) error {
	if path == "-" {
		_, err := w.Write(data)
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// parseDuration accepts Go durations (72h) and whole days (730d).
func parseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		d, err := strconv.Atoi(n)
		if err != nil || d < 0 || d > 100*366 {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		return time.Duration(d) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// parseSubject parses a distinguished name such as
// "CN=tenant.example,OU=Integration,O=Example Tenant,C=DE"; a backslash
// escapes a comma.
func parseSubject(s string) (pkix.Name, error) {
	var n pkix.Name
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
		case s[i] == ',':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(s[i])
		}
	}
	parts = append(parts, cur.String())
	for _, p := range parts {
		k, v, ok := strings.Cut(p, "=")
		k, v = strings.ToUpper(strings.TrimSpace(k)), strings.TrimSpace(v)
		if !ok || v == "" {
			return n, fmt.Errorf("invalid subject attribute %q: want KEY=VALUE", p)
		}
		switch k {
		case "CN":
			n.CommonName = v
		case "O":
			n.Organization = append(n.Organization, v)
		case "OU":
			n.OrganizationalUnit = append(n.OrganizationalUnit, v)
		case "C":
			n.Country = append(n.Country, v)
		case "L":
			n.Locality = append(n.Locality, v)
		case "ST":
			n.Province = append(n.Province, v)
		case "SERIALNUMBER":
			n.SerialNumber = v
		default:
			return n, fmt.Errorf("unsupported subject attribute %q (use CN, O, OU, C, L, ST, SERIALNUMBER)", k)
		}
	}
	return n, nil
}

// source is where an imported key pair comes from: a PKCS#12 file, or
// a PEM key and certificate, with the file's own password, if any.
type source struct {
	pkcs12, key, cert, pem    string
	passwordEnv, passwordFile string
}

func (s *source) register(fs *flag.FlagSet) {
	fs.StringVar(&s.pkcs12, "pkcs12", "", "PKCS#12 file (.p12, .pfx) holding the key, its certificate and chain")
	fs.StringVar(&s.key, "key", "", "PEM private key (PKCS#1, PKCS#8 or encrypted PKCS#8)")
	fs.StringVar(&s.cert, "cert", "", "PEM certificate of the key, followed by its chain")
	fs.StringVar(&s.pem, "pem", "", "one PEM file with the key and its certificate (and chain), as openssl pkcs12 -nodes writes it")
	fs.StringVar(&s.passwordEnv, "file-password-env", "", "environment variable holding the password of the PKCS#12 file or encrypted key")
	fs.StringVar(&s.passwordFile, "file-password-file", "", "file holding the password of the PKCS#12 file or encrypted key")
}

// given reports whether any import flag was set.
func (s *source) given() bool { return s.pkcs12 != "" || s.key != "" || s.cert != "" || s.pem != "" }

// check returns a usage problem of the import flags, or "".
func (s *source) check() string {
	n := 0
	for _, f := range []string{s.pkcs12, s.pem, s.key + s.cert} {
		if f != "" {
			n++
		}
	}
	switch {
	case n > 1:
		return "give one of -pkcs12 FILE, -pem FILE, or -key FILE -cert FILE"
	case (s.key == "") != (s.cert == ""):
		return "-key and -cert go together; for one file holding both, give -pem FILE"
	case !s.given():
		return "give -pkcs12 FILE, -pem FILE (key and certificate in one file), or -key FILE -cert FILE"
	case s.passwordEnv != "" && s.passwordFile != "":
		return "give -file-password-env or -file-password-file, not both"
	}
	return ""
}

// load reads the key pair.
func (s *source) load(env func(string) string) (*keystore.Credential, error) {
	var password string
	switch {
	case s.passwordEnv != "":
		password = env(s.passwordEnv)
		if password == "" {
			return nil, fmt.Errorf("environment variable %s is unset or empty", s.passwordEnv)
		}
	case s.passwordFile != "":
		b, err := readInput(s.passwordFile)
		if err != nil {
			return nil, err
		}
		password = string(b)
		if p, ok := strings.CutSuffix(password, "\r\n"); ok {
			password = p
		} else {
			password = strings.TrimSuffix(password, "\n")
		}
	}
	if s.pkcs12 != "" {
		data, err := readInput(s.pkcs12)
		if err != nil {
			return nil, err
		}
		return s.explain(keystore.ParsePKCS12(data, password))
	}
	if s.pem != "" {
		data, err := readInput(s.pem)
		if err != nil {
			return nil, err
		}
		return s.explain(keystore.ParsePEM(data, nil, password))
	}
	key, err := readInput(s.key)
	if err != nil {
		return nil, err
	}
	cert, err := readInput(s.cert)
	if err != nil {
		return nil, err
	}
	return s.explain(keystore.ParsePEM(key, cert, password))
}

// explain adds to a password error the flags that give the file's
// password.
func (s *source) explain(c *keystore.Credential, err error) (*keystore.Credential, error) {
	switch {
	case err == nil:
		return c, nil
	case errors.Is(err, keystore.ErrWrongPassword) && s.passwordEnv != "":
		return nil, fmt.Errorf("%w; the password from -file-password-env %s does not open the file (the store's own password is not used for it)", err, s.passwordEnv)
	case errors.Is(err, keystore.ErrWrongPassword) && s.passwordFile != "":
		return nil, fmt.Errorf("%w; the password in -file-password-file %s does not open the file (the store's own password is not used for it)", err, s.passwordFile)
	case errors.Is(err, keystore.ErrWrongPassword), errors.Is(err, keystore.ErrEncryptedKey) && s.passwordEnv == "" && s.passwordFile == "":
		return nil, fmt.Errorf("%w; give the file's password with -file-password-env NAME or -file-password-file PATH", err)
	}
	return nil, err
}

// receiverFlags collects repeated -receiver ID[=DESCRIPTION] flags.
type receiverFlags []rollover.Receiver

func (r *receiverFlags) String() string { return "" }

func (r *receiverFlags) Set(v string) error {
	id, desc, _ := strings.Cut(v, "=")
	if strings.TrimSpace(id) == "" {
		return errors.New("empty receiver ID")
	}
	*r = append(*r, rollover.Receiver{ID: id, Description: desc})
	return nil
}
