package keystore

import (
	"fmt"
	"strconv"
	"strings"
)

// maxNameLen bounds aliases and state names.
const maxNameLen = 64

// validName reports whether s may be an alias or a state name: 1 to 64
// ASCII letters, digits, '.', '_' or '-', starting with a letter or digit.
// Names are used in file names, so nothing else is allowed.
func validName(s string) bool {
	if len(s) == 0 || len(s) > maxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case (c == '.' || c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// quoteName quotes a caller's name for an error message, shortened so that
// a hostile value cannot flood logs.
func quoteName(s string) string {
	if len(s) > maxNameLen+8 {
		s = s[:maxNameLen+8] + "..."
	}
	return strconv.Quote(s)
}

func checkAlias(alias string) error {
	if !validName(alias) {
		return fmt.Errorf("%w: alias %s: use 1 to %d ASCII letters, digits, '.', '_' and '-', starting with a letter or digit", ErrInvalidName, quoteName(alias), maxNameLen)
	}
	return nil
}

const (
	// manifestName is the manifest's blob name.
	manifestName = "manifest.json"
	// locationBlob prefixes the location of a key held in a blob of the
	// store's backend. Other schemes, such as "pkcs11:" URIs (RFC 7512),
	// may follow.
	locationBlob = "blob:"
	// keyBlobSuffix ends the name of every blob that holds a key.
	keyBlobSuffix = ".p12"
)

// keyBlobName is the blob that holds alias's key as written in generation
// gen. A new generation gets a new name, so a blob named by a committed
// manifest is never overwritten.
func keyBlobName(alias string, gen uint64) string {
	return alias + "." + strconv.FormatUint(gen, 10) + keyBlobSuffix
}

// blobOfLocation returns the blob name of a "blob:" location.
func blobOfLocation(loc string) (string, bool) {
	name, ok := strings.CutPrefix(loc, locationBlob)
	if !ok || !validBlobName(name) {
		return "", false
	}
	return name, true
}

// validBlobName reports whether name is a key blob name: a valid alias,
// a generation and the suffix.
func validBlobName(name string) bool {
	base, ok := strings.CutSuffix(name, keyBlobSuffix)
	if !ok {
		return false
	}
	i := strings.LastIndexByte(base, '.')
	if i < 0 {
		return false
	}
	if _, err := strconv.ParseUint(base[i+1:], 10, 64); err != nil {
		return false
	}
	return validName(base[:i])
}
