package xmlenc

import (
	"encoding/base64"
	"encoding/binary"
)

// pairTable maps two base64 characters, read as a little-endian uint16,
// to the 12 bits they encode, or to a value with the top bit set where
// either is not in the standard alphabet. It is 128 KiB, built for each
// large decode (a fraction of a percent of its work) so that no package
// state is shared.
type pairTable [1 << 16]uint16

const stdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// fastDecodeMin is the text length from which base64 is decoded with a
// pairTable; below it building the table costs more than it saves.
const fastDecodeMin = 256 << 10

func newPairTable() *pairTable {
	var one [256]uint16
	for i := range one {
		one[i] = 0xffff
	}
	for i := range len(stdAlphabet) {
		one[stdAlphabet[i]] = uint16(i)
	}
	t := new(pairTable)
	for i := range t {
		first, second := one[i&0xff], one[i>>8]
		if first|second == 0xffff {
			t[i] = 0xffff
			continue
		}
		t[i] = first<<6 | second
	}
	return t
}

// decode is base64.StdEncoding.Decode: it decodes whole groups of eight
// alphabet characters with t, two characters per lookup, and leaves the
// rest from the first group holding anything else (a line break,
// padding, an invalid byte) to the standard decoder. Both decode groups
// of four characters independently, so the result and whether there is
// an error are those of the standard decoder on the whole text; the
// error's offset counts from where the standard decoder took over.
func (t *pairTable) decode(dst, src []byte) (int, error) {
	si, di := 0, 0
	for len(src)-si >= 8 && len(dst)-di >= 8 {
		x := binary.LittleEndian.Uint64(src[si : si+8])
		a, b, c, d := t[uint16(x)], t[uint16(x>>16)], t[uint16(x>>32)], t[uint16(x>>48)]
		if (a|b|c|d)&0x8000 != 0 {
			break
		}
		// Eight bytes are written, six decoded; the next group or the
		// standard decoder overwrites the other two, which lie within dst.
		binary.BigEndian.PutUint64(dst[di:di+8], uint64(a)<<52|uint64(b)<<40|uint64(c)<<28|uint64(d)<<16)
		si += 8
		di += 6
	}
	n, err := base64.StdEncoding.Decode(dst[di:], src[si:])
	return di + n, err
}
