package main

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// cipherValues returns the decoded CipherValue of the EncryptedKey, the
// data encryption algorithm and the raw CipherValue text of the
// EncryptedData. In the embedded layout the EncryptedKey, inside the
// EncryptedData's KeyInfo, comes first.
func cipherValues(msg []byte) (ek []byte, alg string, cv []byte, err error) {
	const algAttr = `Algorithm="`
	i := bytes.Index(msg, []byte(algAttr))
	if i < 0 {
		return nil, "", nil, errors.New("no EncryptionMethod")
	}
	rest := msg[i+len(algAttr):]
	alg = string(rest[:bytes.IndexByte(rest, '"')])
	var values [][]byte
	for len(values) < 2 {
		i := bytes.Index(rest, []byte("CipherValue>"))
		if i < 0 {
			return nil, "", nil, errors.New("fewer than two CipherValues")
		}
		lt := bytes.LastIndexByte(rest[:i], '<')
		endTag := lt >= 0 && rest[lt+1] == '/'
		rest = rest[i+len("CipherValue>"):]
		if endTag {
			continue
		}
		j := bytes.IndexByte(rest, '<')
		if j < 0 {
			return nil, "", nil, errors.New("unterminated CipherValue")
		}
		values = append(values, rest[:j])
		rest = rest[j:]
	}
	ek = make([]byte, base64.StdEncoding.DecodedLen(len(values[0])))
	n, err := base64.StdEncoding.Decode(ek, values[0])
	if err != nil {
		return nil, "", nil, err
	}
	return ek[:n], alg, values[1], nil
}

// decryptData base64-decodes cv into buf and decrypts it in place with
// cek: the work on the data that every implementation has to do.
func decryptData(alg string, cek, cv, buf []byte) error {
	n, err := base64.StdEncoding.Decode(buf, cv)
	if err != nil {
		return err
	}
	ct := buf[:n]
	block, err := aes.NewCipher(cek)
	if err != nil {
		return err
	}
	switch {
	case strings.HasSuffix(alg, "-gcm"):
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return err
		}
		ns := aead.NonceSize()
		if len(ct) < ns+aead.Overhead() {
			return errors.New("short GCM ciphertext")
		}
		_, err = aead.Open(ct[ns:ns], ct[:ns], ct[ns:], nil)
		return err
	case strings.HasSuffix(alg, "-cbc"):
		bs := block.BlockSize()
		if len(ct) < 2*bs || len(ct)%bs != 0 {
			return errors.New("bad CBC ciphertext length")
		}
		body := ct[bs:]
		cipher.NewCBCDecrypter(block, ct[:bs]).CryptBlocks(body, body)
		if pad := int(body[len(body)-1]); pad == 0 || pad > bs {
			return errors.New("bad CBC padding")
		}
		return nil
	}
	return fmt.Errorf("unknown data encryption %s", alg)
}
