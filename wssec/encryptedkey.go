package wssec

import (
	"crypto"
	"crypto/sha1"
	"encoding/base64"
	"fmt"

	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/internal/soap"
	"github.com/wsrenew/wsrenew/internal/x509id"
	"github.com/wsrenew/wsrenew/internal/xmlenc"
)

// KeyIdentifier selects how an encrypted message names the recipient's
// key, as the WS-Security X.509 Token Profile defines.
type KeyIdentifier int

// Key identifier types.
const (
	// IdentifyByIssuerSerial writes ds:X509IssuerSerial inside a
	// SecurityTokenReference (the WSS4J default).
	IdentifyByIssuerSerial KeyIdentifier = iota
	// IdentifyByDirectReference adds the certificate as a
	// BinarySecurityToken to the Security header and references it.
	IdentifyByDirectReference
	// IdentifyByX509Certificate writes the certificate as a KeyIdentifier
	// of ValueType X509v3.
	IdentifyByX509Certificate
	// IdentifyBySKI writes the X509SubjectKeyIdentifier KeyIdentifier.
	IdentifyBySKI
	// IdentifyByThumbprintSHA1 writes the ThumbprintSHA1 KeyIdentifier.
	IdentifyByThumbprintSHA1
)

// encryptedKey wraps cek for the recipient and names the recipient's key.
func (w *encryption) encryptedKey(cek []byte, refs []string) (*etree.Element, error) {
	wrapped, err := xmlenc.EncryptKey(w.e.rand(), w.pub, w.kt, w.oaep, cek)
	if err != nil {
		return nil, fmt.Errorf("wssec: key transport: %w", err)
	}
	id, err := w.newID("EK-")
	if err != nil {
		return nil, err
	}
	ek := etree.NewElement("xenc:EncryptedKey")
	ek.CreateAttr("xmlns:xenc", soap.NSXENC)
	ek.CreateAttr("Id", id)
	em := ek.CreateElement("xenc:EncryptionMethod")
	em.CreateAttr("Algorithm", w.kt)
	if w.kt != xmlenc.RSA15 {
		dm := em.CreateElement("ds:DigestMethod")
		dm.CreateAttr("xmlns:ds", soap.NSDS)
		dm.CreateAttr("Algorithm", xmlenc.DigestURI(w.oaep.Digest))
		if w.kt == xmlenc.RSAOAEP && w.oaep.MGF != crypto.SHA1 {
			mgf := em.CreateElement("xenc11:MGF")
			mgf.CreateAttr("xmlns:xenc11", soap.NSXENC11)
			mgf.CreateAttr("Algorithm", xmlenc.MGFURI(w.oaep.MGF))
		}
	}
	ki := ek.CreateElement("ds:KeyInfo")
	ki.CreateAttr("xmlns:ds", soap.NSDS)
	if err := w.keyIdentifier(ki); err != nil {
		return nil, err
	}
	ek.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText(base64.StdEncoding.EncodeToString(wrapped))
	if len(refs) > 0 {
		rl := ek.CreateElement("xenc:ReferenceList")
		for _, r := range refs {
			rl.CreateElement("xenc:DataReference").CreateAttr("URI", "#"+r)
		}
	}
	return ek, nil
}

func (w *encryption) keyIdentifier(ki *etree.Element) error {
	cert := w.e.Certificate
	str := ki.CreateElement("wsse:SecurityTokenReference")
	str.CreateAttr("xmlns:wsse", soap.NSWSSE)
	keyID := func(valueType string, value []byte) {
		k := str.CreateElement("wsse:KeyIdentifier")
		k.CreateAttr("EncodingType", encodingBase64)
		k.CreateAttr("ValueType", valueType)
		k.SetText(base64.StdEncoding.EncodeToString(value))
	}
	switch w.e.KeyIdentifier {
	case IdentifyByIssuerSerial:
		is := str.CreateElement("ds:X509Data").CreateElement("ds:X509IssuerSerial")
		is.CreateElement("ds:X509IssuerName").SetText(cert.Issuer.String())
		is.CreateElement("ds:X509SerialNumber").SetText(cert.SerialNumber.String())
	case IdentifyByDirectReference:
		if w.bstID == "" {
			id, err := w.newID("X509-")
			if err != nil {
				return err
			}
			bst := etree.NewElement("wsse:BinarySecurityToken")
			bst.CreateAttr("xmlns:wsse", soap.NSWSSE)
			bst.CreateAttr("xmlns:wsu", soap.NSWSU)
			bst.CreateAttr("EncodingType", encodingBase64)
			bst.CreateAttr("ValueType", valueTypeX509v3)
			bst.CreateAttr("wsu:Id", id)
			bst.SetText(base64.StdEncoding.EncodeToString(cert.Raw))
			w.securityHeader().InsertChildAt(0, bst)
			w.bstID = id
			w.bstAdded = true
		}
		ref := str.CreateElement("wsse:Reference")
		ref.CreateAttr("URI", "#"+w.bstID)
		ref.CreateAttr("ValueType", valueTypeX509v3)
	case IdentifyByX509Certificate:
		keyID(valueTypeX509v3, cert.Raw)
	case IdentifyBySKI:
		ski := x509id.SubjectKeyID(cert)
		if ski == nil {
			return fmt.Errorf("%w: the certificate has no subject key identifier", ErrInvalidPolicy)
		}
		keyID(valueTypeSKI, ski)
	case IdentifyByThumbprintSHA1:
		tp := sha1.Sum(cert.Raw)
		keyID(valueTypeThumbprint, tp[:])
	default:
		return fmt.Errorf("%w: unknown KeyIdentifier %d", ErrInvalidPolicy, w.e.KeyIdentifier)
	}
	return nil
}
