package xmlenc

import (
	"errors"
	"testing"

	"github.com/beevik/etree"
)

func parse(t *testing.T, s string) *etree.Element {
	t.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromString(s); err != nil {
		t.Fatal(err)
	}
	return d.Root()
}

const ns = `xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:xenc11="http://www.w3.org/2009/xmlenc11#"`

func TestParseEncryptedKey(t *testing.T) {
	t.Parallel()
	ek, err := ParseEncryptedKey(parse(t, `<xenc:EncryptedKey `+ns+` Id="k" Recipient="r">
  <xenc:EncryptionMethod Algorithm=" `+RSAOAEP+` "><xenc11:MGF Algorithm="`+mgf1SHA256+`"/><ds:DigestMethod Algorithm="`+digestSHA256+`"/><xenc:OAEPparams>bGFiZWw=</xenc:OAEPparams></xenc:EncryptionMethod>
  <xenc:CipherData><xenc:CipherValue>
    AAEC
    <!-- a comment -->AwQF
  </xenc:CipherValue></xenc:CipherData>
  <xenc:ReferenceList><xenc:DataReference URI="#a"/><xenc:DataReference URI="#b"/></xenc:ReferenceList>
  <xenc:CarriedKeyName> name </xenc:CarriedKeyName>
</xenc:EncryptedKey>`), Limits{})
	if err != nil {
		t.Fatalf("ParseEncryptedKey error = %v", err)
	}
	if ek.ID != "k" || ek.Recipient != "r" || ek.CarriedKeyName != "name" || ek.Method.Algorithm != RSAOAEP ||
		ek.Method.MGF != mgf1SHA256 || ek.Method.Digest != digestSHA256 || string(ek.Method.OAEPParams) != "label" ||
		string(ek.CipherValue) != "\x00\x01\x02\x03\x04\x05" || len(ek.DataReferences) != 2 {
		t.Fatalf("ParseEncryptedKey = %+v", ek)
	}
}

func TestParseEncryptedKey_errors(t *testing.T) {
	t.Parallel()
	method := `<xenc:EncryptionMethod Algorithm="` + RSAOAEPMGF1P + `"/>`
	cipher := `<xenc:CipherData><xenc:CipherValue>AAAA</xenc:CipherValue></xenc:CipherData>`
	for name, body := range map[string]string{
		"no method":         cipher,
		"no cipher":         method,
		"no algorithm":      `<xenc:EncryptionMethod/>` + cipher,
		"bad base64":        method + `<xenc:CipherData><xenc:CipherValue>A!</xenc:CipherValue></xenc:CipherData>`,
		"cipher reference":  method + `<xenc:CipherData><xenc:CipherReference URI="x"/></xenc:CipherData>`,
		"key reference":     method + cipher + `<xenc:ReferenceList><xenc:KeyReference URI="#x"/></xenc:ReferenceList>`,
		"empty list":        method + cipher + `<xenc:ReferenceList/>`,
		"unknown child":     method + cipher + `<ds:Foo/>`,
		"unknown in method": `<xenc:EncryptionMethod Algorithm="x"><ds:Foo/></xenc:EncryptionMethod>` + cipher,
		"element in value":  method + `<xenc:CipherData><xenc:CipherValue><ds:x/></xenc:CipherValue></xenc:CipherData>`,
	} {
		if _, err := ParseEncryptedKey(parse(t, `<xenc:EncryptedKey `+ns+`>`+body+`</xenc:EncryptedKey>`), Limits{}); !errors.Is(err, ErrModel) {
			t.Errorf("ParseEncryptedKey(%s) error = %v, want %v", name, err, ErrModel)
		}
	}
	var ce *CountError
	big := `<xenc:EncryptionMethod Algorithm="x"><xenc:OAEPparams>` + "AAAAAAAA" + `</xenc:OAEPparams></xenc:EncryptionMethod>` + cipher
	if _, err := ParseEncryptedKey(parse(t, `<xenc:EncryptedKey `+ns+`>`+big+`</xenc:EncryptedKey>`), Limits{MaxOAEPParams: 4}); !errors.As(err, &ce) {
		t.Errorf("ParseEncryptedKey(big OAEPparams) error = %v, want *CountError", err)
	}
	refs := `<xenc:ReferenceList><xenc:DataReference URI="#a"/><xenc:DataReference URI="#b"/></xenc:ReferenceList>`
	if _, err := ParseEncryptedKey(parse(t, `<xenc:EncryptedKey `+ns+`>`+method+cipher+refs+`</xenc:EncryptedKey>`), Limits{MaxReferences: 1}); !errors.As(err, &ce) {
		t.Errorf("ParseEncryptedKey(many references) error = %v, want *CountError", err)
	}
}

func TestParseEncryptedData(t *testing.T) {
	t.Parallel()
	ed, err := ParseEncryptedData(parse(t, `<xenc:EncryptedData `+ns+` Id="d" Type="`+TypeContent+`"><xenc:EncryptionMethod Algorithm="`+AES128GCM+`"/><ds:KeyInfo/><xenc:CipherData><xenc:CipherValue>AAAA</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>`), Limits{})
	if err != nil || ed.ID != "d" || ed.Type != TypeContent || ed.Method.Algorithm != AES128GCM || ed.KeyInfo == nil || ed.CipherValue == nil {
		t.Fatalf("ParseEncryptedData = %+v, %v", ed, err)
	}
	if _, err := ParseEncryptedData(parse(t, `<xenc:EncryptedData `+ns+`><xenc:CipherData><xenc:CipherValue>AAAA</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>`), Limits{}); !errors.Is(err, ErrModel) {
		t.Errorf("ParseEncryptedData(no method) error = %v, want %v", err, ErrModel)
	}
}
