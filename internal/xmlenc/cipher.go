package xmlenc

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"errors"
)

func newBlock(c Cipher, key []byte) (cipher.Block, error) {
	if len(key) != c.KeySize {
		return nil, ErrData
	}
	if c.TripleDES {
		return des.NewTripleDESCipher(key)
	}
	return aes.NewCipher(key)
}

// DecryptData decrypts a CipherValue (IV ‖ ciphertext, with the GCM tag at
// the end for GCM) with the algorithm alg. It may overwrite ciphertext: the
// plaintext it returns shares its memory, which spares a copy of large
// payloads.
//
// CBC padding is checked as XML Encryption 1.1, 5.2 defines it: only the
// last byte, the pad length, is examined; the other pad bytes are arbitrary
// (ISO 10126), so they are not checked.
func DecryptData(alg string, key, ciphertext []byte) ([]byte, error) {
	return decryptData(alg, key, ciphertext, parallelMin)
}

// decryptData is DecryptData, decrypting in two halves at once from
// twoWayMin bytes on.
func decryptData(alg string, key, ciphertext []byte, twoWayMin int) ([]byte, error) {
	c, ok := LookupCipher(alg)
	if !ok {
		return nil, &UnsupportedError{URI: alg}
	}
	block, err := newBlock(c, key)
	if err != nil {
		return nil, ErrData
	}
	if c.GCM {
		if len(ciphertext) < c.IVSize+c.TagSize {
			return nil, ErrData
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, ErrData
		}
		iv, body := ciphertext[:c.IVSize], ciphertext[c.IVSize:]
		if twoWay(len(body), twoWayMin) && c.IVSize == gcmIVSize && c.TagSize == 16 {
			block2, err := newBlock(c, key)
			if err != nil {
				return nil, ErrData
			}
			pt, ok := openGCMHalves(block, block2, iv, body)
			if !ok {
				return nil, ErrData
			}
			return pt, nil
		}
		pt, err := aead.Open(body[:0], iv, body, nil)
		if err != nil {
			return nil, ErrData
		}
		return pt, nil
	}
	if len(ciphertext) < c.IVSize+c.BlockSize || (len(ciphertext)-c.IVSize)%c.BlockSize != 0 {
		return nil, ErrData
	}
	iv, body := ciphertext[:c.IVSize], ciphertext[c.IVSize:]
	if twoWay(len(body), twoWayMin) {
		// Each goroutine gets its own key schedule.
		block2, err := newBlock(c, key)
		if err != nil {
			return nil, ErrData
		}
		decryptCBCHalves(block, block2, iv, body)
	} else {
		cipher.NewCBCDecrypter(block, iv).CryptBlocks(body, body)
	}
	pad := int(body[len(body)-1])
	if pad < 1 || pad > c.BlockSize {
		return nil, ErrData
	}
	return body[:len(body)-pad], nil
}

// EncryptData encrypts plaintext with key and iv and returns the
// CipherValue octets: iv ‖ ciphertext, plus the tag for GCM. CBC padding
// fills every pad byte with the pad length, which XML Encryption allows and
// strict PKCS#7 decryptors also accept.
func EncryptData(alg string, key, iv, plaintext []byte) ([]byte, error) {
	c, ok := LookupCipher(alg)
	if !ok {
		return nil, &UnsupportedError{URI: alg}
	}
	if len(iv) != c.IVSize {
		return nil, errors.New("xmlenc: wrong IV size")
	}
	block, err := newBlock(c, key)
	if err != nil {
		return nil, errors.New("xmlenc: wrong key size")
	}
	out := make([]byte, c.IVSize, c.IVSize+len(plaintext)+c.BlockSize+c.TagSize)
	copy(out, iv)
	if c.GCM {
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		return aead.Seal(out, iv, plaintext, nil), nil
	}
	pad := c.BlockSize - len(plaintext)%c.BlockSize
	out = append(out, plaintext...)
	for range pad {
		out = append(out, byte(pad))
	}
	body := out[c.IVSize:]
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(body, body)
	return out, nil
}
