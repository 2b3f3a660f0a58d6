package wssec

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Distinguished names arrive in messages as strings (X509IssuerName,
// X509SubjectName) written by the sender's library: Java's RFC 2253 form,
// xmlsec's own, sometimes RFC 1779 with spaces or ';'. They are compared
// with the certificate's DER names after both are reduced to one canonical
// form: attribute types as OIDs, values trimmed, inner white space folded,
// case folded, multi-valued RDNs sorted. The string form lists RDNs most
// specific first while DER lists them most general first, so lookups try
// both orders.

var dnAttributeOIDs = map[string]string{
	"CN":                     "2.5.4.3",
	"SN":                     "2.5.4.4",
	"SURNAME":                "2.5.4.4",
	"SERIALNUMBER":           "2.5.4.5",
	"C":                      "2.5.4.6",
	"L":                      "2.5.4.7",
	"ST":                     "2.5.4.8",
	"S":                      "2.5.4.8",
	"STREET":                 "2.5.4.9",
	"O":                      "2.5.4.10",
	"OU":                     "2.5.4.11",
	"T":                      "2.5.4.12",
	"TITLE":                  "2.5.4.12",
	"POSTALCODE":             "2.5.4.17",
	"GIVENNAME":              "2.5.4.42",
	"G":                      "2.5.4.42",
	"INITIALS":               "2.5.4.43",
	"GENERATIONQUALIFIER":    "2.5.4.44",
	"DNQ":                    "2.5.4.46",
	"DNQUALIFIER":            "2.5.4.46",
	"PSEUDONYM":              "2.5.4.65",
	"ORGANIZATIONIDENTIFIER": "2.5.4.97",
	"DC":                     "0.9.2342.19200300.100.1.25",
	"UID":                    "0.9.2342.19200300.100.1.1",
	"E":                      "1.2.840.113549.1.9.1",
	"EMAIL":                  "1.2.840.113549.1.9.1",
	"EMAILADDRESS":           "1.2.840.113549.1.9.1",
}

var errDN = errors.New("wssec: malformed distinguished name")

// maxDNLength bounds the work spent on one name from a message.
const maxDNLength = 4096

type dnAttr struct{ oid, value string }

// parseDN parses a string distinguished name (RFC 4514, with the RFC 1779
// leniencies: ';' separators, quoted values, spaces around separators) into
// RDNs in written order.
func parseDN(s string) ([][]dnAttr, error) {
	if len(s) > maxDNLength {
		return nil, errDN
	}
	var (
		rdns [][]dnAttr
		rdn  []dnAttr
		i    int
	)
	for {
		for i < len(s) && isDNSpace(s[i]) {
			i++
		}
		if i == len(s) {
			if len(rdns) == 0 && len(rdn) == 0 {
				return nil, errDN
			}
			return nil, errDN // trailing separator
		}
		eq := strings.IndexByte(s[i:], '=')
		if eq <= 0 {
			return nil, errDN
		}
		typ := strings.TrimSpace(s[i : i+eq])
		oid, err := dnOID(typ)
		if err != nil {
			return nil, err
		}
		i += eq + 1
		val, n, err := parseDNValue(s[i:])
		if err != nil {
			return nil, err
		}
		i += n
		rdn = append(rdn, dnAttr{oid: oid, value: val})
		if i == len(s) {
			rdns = append(rdns, rdn)
			return rdns, nil
		}
		switch s[i] {
		case '+':
		case ',', ';':
			rdns = append(rdns, rdn)
			rdn = nil
		default:
			return nil, errDN
		}
		i++
	}
}

func isDNSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func dnOID(typ string) (string, error) {
	if typ == "" {
		return "", errDN
	}
	u := strings.ToUpper(typ)
	if oid, ok := dnAttributeOIDs[u]; ok {
		return oid, nil
	}
	u = strings.TrimPrefix(u, "OID.")
	for _, c := range u {
		if (c < '0' || c > '9') && c != '.' {
			return "", errDN
		}
	}
	return u, nil
}

// parseDNValue reads one attribute value up to an unescaped separator and
// returns it with the number of bytes consumed.
func parseDNValue(s string) (string, int, error) {
	i := skipDNSpace(s, 0)
	if i < len(s) && s[i] == '#' {
		return parseDNHexValue(s, i)
	}
	if i < len(s) && s[i] == '"' {
		return parseDNQuotedValue(s, i)
	}
	return parseDNPlainValue(s, i)
}

// skipDNSpace returns the index of the first byte of s from i on that is
// not a DN space.
func skipDNSpace(s string, i int) int {
	for i < len(s) && isDNSpace(s[i]) {
		i++
	}
	return i
}

// parseDNHexValue reads a "#" hex-encoded BER value starting at s[i]: a
// string type becomes its text, anything else stays in lower-case hex.
func parseDNHexValue(s string, i int) (string, int, error) {
	j := i + 1
	for j < len(s) && strings.IndexByte("0123456789abcdefABCDEF", s[j]) >= 0 {
		j++
	}
	der, err := hex.DecodeString(s[i+1 : j])
	if err != nil || len(der) == 0 {
		return "", 0, errDN
	}
	var raw asn1.RawValue
	v := "#" + strings.ToLower(s[i+1:j])
	if rest, err := asn1.Unmarshal(der, &raw); err == nil && len(rest) == 0 {
		var str string
		if _, err := asn1.Unmarshal(der, &str); err == nil {
			v = str
		}
	}
	return v, skipDNSpace(s, j), nil
}

// parseDNQuotedValue reads a quoted value starting at the quote s[i].
func parseDNQuotedValue(s string, i int) (string, int, error) {
	var b strings.Builder
	j := i + 1
	for ; j < len(s) && s[j] != '"'; j++ {
		if s[j] == '\\' && j+1 < len(s) {
			j++
		}
		b.WriteByte(s[j])
	}
	if j == len(s) {
		return "", 0, errDN
	}
	return b.String(), skipDNSpace(s, j+1), nil
}

// parseDNPlainValue reads an unquoted value from s[i] up to an unescaped
// separator, resolving backslash escapes of a character or a hex pair.
func parseDNPlainValue(s string, i int) (string, int, error) {
	var b []byte
	j := i
	for ; j < len(s); j++ {
		c := s[j]
		if c == ',' || c == ';' || c == '+' {
			break
		}
		if c != '\\' {
			b = append(b, c)
			continue
		}
		if j+1 == len(s) {
			return "", 0, errDN
		}
		if j+2 < len(s) && isHex(s[j+1]) && isHex(s[j+2]) {
			x, _ := hex.DecodeString(s[j+1 : j+3])
			b = append(b, x[0])
			j += 2
			continue
		}
		j++
		b = append(b, s[j])
	}
	return string(b), j, nil
}

func isHex(c byte) bool {
	return strings.IndexByte("0123456789abcdefABCDEF", c) >= 0
}

// normalizeDNValue folds what string matching rules of X.520 ignore.
func normalizeDNValue(v string) string {
	return strings.ToLower(strings.Join(strings.Fields(v), " "))
}

// canonicalDN renders RDNs in the given order in the canonical form.
func canonicalDN(rdns [][]dnAttr) string {
	var b strings.Builder
	for i, rdn := range rdns {
		if i > 0 {
			b.WriteByte(',')
		}
		parts := make([]string, len(rdn))
		for j, a := range rdn {
			parts[j] = a.oid + "=" + normalizeDNValue(a.value)
		}
		slices.Sort(parts)
		b.WriteString(strings.Join(parts, "+"))
	}
	return b.String()
}

// canonicalDNStrings returns the canonical forms of a string DN in written
// and in reversed order; the second is "" when they are equal.
func canonicalDNStrings(s string) (string, string, error) {
	rdns, err := parseDN(s)
	if err != nil {
		return "", "", err
	}
	fwd := canonicalDN(rdns)
	rev := slices.Clone(rdns)
	slices.Reverse(rev)
	r := canonicalDN(rev)
	if r == fwd {
		r = ""
	}
	return fwd, r, nil
}

// canonicalRawDN returns the canonical form of a DER-encoded name in DER
// order (most general first).
func canonicalRawDN(der []byte) (string, error) {
	var seq pkix.RDNSequence
	rest, err := asn1.Unmarshal(der, &seq)
	if err != nil || len(rest) != 0 {
		return "", errDN
	}
	rdns := make([][]dnAttr, len(seq))
	for i, set := range seq {
		for _, atv := range set {
			rdns[i] = append(rdns[i], dnAttr{oid: atv.Type.String(), value: fmt.Sprint(atv.Value)})
		}
	}
	return canonicalDN(rdns), nil
}
