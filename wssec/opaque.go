package wssec

import (
	"errors"

	"github.com/wsrenew/wsrenew/internal/soap"
	"github.com/wsrenew/wsrenew/internal/xmlscan"
)

// errNeedTree says that a message read without its Body's content in
// the tree needs that content after all: it is read again in full.
var errNeedTree = errors.New("wssec: the Body's content is needed in the tree")

// bodyOpaque names the envelope's Body for xmlscan.ParseTree. Its
// content is checked by the scanner but left out of the tree, which is
// sound only for content nothing reads in the tree: no encrypted data,
// Security header, envelope structure or Fault (the tree decides about
// these), and no Id (which a signature could reference, and which must
// be unique across the message). Content holding any of these stops
// the scan; op.ID is then nil, and the message is read again in full.
// Digests covering the Body are computed from the message's bytes.
func bodyOpaque() *xmlscan.Opaque {
	op := &xmlscan.Opaque{
		Is: func(depth int, ns string, local []byte) bool {
			return depth == 2 && (ns == soap.NSSOAP11 || ns == soap.NSSOAP12) && string(local) == "Body"
		},
	}
	op.Forbidden = func(ns string, local []byte) bool {
		if forbidden(ns, local) || ((ns == soap.NSSOAP11 || ns == soap.NSSOAP12) && string(local) == "Fault") {
			op.ID = nil
			return true
		}
		return false
	}
	op.ID = func(string) error {
		op.ID = nil
		return errNeedTree
	}
	return op
}
