package keystore

import (
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
)

// locationPKCS11 prefixes the location of a key held in a PKCS#11 token:
// the location is the key's RFC 7512 URI.
const locationPKCS11 = "pkcs11:"

// maxTokenURIBytes bounds a pkcs11: URI.
const maxTokenURIBytes = 2048

// TokenURI names a private key in a PKCS#11 token, as an RFC 7512
// "pkcs11:" URI with the module in its query:
//
//	pkcs11:token=wsrenew;object=tenant-2026;id=%01%a2?module-path=/usr/lib/softhsm/libsofthsm2.so
//
// The path attributes token (the token label) or serial select the token,
// object (CKA_LABEL) and id (CKA_ID, percent-encoded bytes) the key; type,
// if present, must be "private". The query attribute module-path names the
// PKCS#11 module, as an absolute path, and is required. Other attributes
// are refused, not ignored. The user PIN is the store's password
// ([PasswordSource]).
//
// Opening a store whose [Options.Tokens] is set loads the module each
// token entry names into the process, so whoever can write the store's
// manifest chooses code that runs in it: keep the store directory
// writable by its owner only (as [Dir] creates it).
//
// [RFC 7512]: https://www.rfc-editor.org/rfc/rfc7512
type TokenURI struct {
	// ModulePath is the file of the PKCS#11 module (module-path).
	ModulePath string
	// Token is the token label; Serial its serial number. Exactly one is
	// set.
	Token  string
	Serial string
	// Object is the key's label (CKA_LABEL) and ID its CKA_ID; at least
	// one is set to find a key, and [GenerateTokenCredential] fills in a
	// random ID when it is empty.
	Object string
	ID     []byte
}

// ParseTokenURI parses a "pkcs11:" URI (RFC 7512). It returns a
// [*Error] with [ErrInvalidTokenURI] for anything else: another
// scheme, an unknown or repeated attribute, a bad percent-encoding, no
// module-path, no or two token selectors, no object or id.
func ParseTokenURI(s string) (*TokenURI, error) {
	fail := func(reason string) (*TokenURI, error) {
		return nil, &Error{Reason: reason, Err: ErrInvalidTokenURI}
	}
	if len(s) > maxTokenURIBytes {
		return fail("longer than 2048 bytes")
	}
	rest, ok := strings.CutPrefix(s, locationPKCS11)
	if !ok {
		return fail("not a pkcs11: URI")
	}
	path, query, _ := strings.Cut(rest, "?")
	u := &TokenURI{}
	seen := map[string]bool{}
	attr := func(kv string) (string, string, error) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return "", "", fmt.Errorf("attribute %q without value", k)
		}
		if seen[k] {
			return "", "", fmt.Errorf("attribute %q repeated", k)
		}
		seen[k] = true
		dv, err := url.PathUnescape(v)
		if err != nil {
			return "", "", fmt.Errorf("attribute %q: bad percent-encoding", k)
		}
		return k, dv, nil
	}
	for kv := range strings.SplitSeq(path, ";") {
		if kv == "" {
			continue
		}
		k, v, err := attr(kv)
		if err != nil {
			return fail(err.Error())
		}
		switch k {
		case "token":
			u.Token = v
		case "serial":
			u.Serial = v
		case "object":
			u.Object = v
		case "id":
			u.ID = []byte(v)
		case "type":
			if v != "private" {
				return fail("type " + quoteName(v) + " (want private)")
			}
		default:
			return fail("unsupported path attribute " + quoteName(k))
		}
	}
	for kv := range strings.SplitSeq(query, "&") {
		if kv == "" {
			continue
		}
		k, v, err := attr(kv)
		if err != nil {
			return fail(err.Error())
		}
		switch k {
		case "module-path":
			u.ModulePath = v
		default:
			return fail("unsupported query attribute " + quoteName(k))
		}
	}
	if err := u.check(); err != nil {
		return nil, err
	}
	return u, nil
}

// check verifies the rules ParseTokenURI states, except that an empty
// key selector is allowed for generation.
func (u *TokenURI) check() error {
	fail := func(reason string) error { return &Error{Reason: reason, Err: ErrInvalidTokenURI} }
	switch {
	case u == nil:
		return fail("no URI")
	case u.ModulePath == "":
		return fail("no module-path")
	case !filepath.IsAbs(u.ModulePath):
		// A relative name would be searched for by the dynamic loader.
		return fail("module-path is not an absolute path")
	case (u.Token == "") == (u.Serial == ""):
		return fail("exactly one of token and serial must be given")
	case u.Object == "" && len(u.ID) == 0:
		return fail("no object or id")
	}
	return nil
}

// String returns the URI in a canonical form: path attributes token,
// serial, object, id, then module-path; id fully percent-encoded.
func (u *TokenURI) String() string {
	if u == nil {
		return ""
	}
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+escapeAttr(v))
		}
	}
	add("token", u.Token)
	add("serial", u.Serial)
	add("object", u.Object)
	if len(u.ID) > 0 {
		var b strings.Builder
		for _, c := range u.ID {
			fmt.Fprintf(&b, "%%%02x", c)
		}
		parts = append(parts, "id="+b.String())
	}
	return locationPKCS11 + strings.Join(parts, ";") + "?module-path=" + escapeAttr(u.ModulePath)
}

// escapeAttr percent-encodes what RFC 7512 does not allow unescaped in an
// attribute value.
func escapeAttr(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~:[]@!$'()*+,/", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

func (u *TokenURI) clone() *TokenURI {
	c := *u
	c.ID = slices.Clone(u.ID)
	return &c
}

// tokenOfLocation returns the token URI of a "pkcs11:" location.
func tokenOfLocation(loc string) (*TokenURI, bool) {
	if !strings.HasPrefix(loc, locationPKCS11) {
		return nil, false
	}
	u, err := ParseTokenURI(loc)
	if err != nil || u.String() != loc {
		return nil, false // locations are written canonical
	}
	return u, true
}

// validLocation reports whether loc is a location the manifest may hold.
func validLocation(loc string) bool {
	if _, ok := blobOfLocation(loc); ok {
		return true
	}
	_, ok := tokenOfLocation(loc)
	return ok
}
