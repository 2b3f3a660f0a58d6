// Package xmlscan is the module's XML reader: a strict tokenizer with
// limits that either builds an etree tree ([Parse]) or only checks
// element content in a namespace context ([ScanFragment]), and the
// skeleton that cuts large text runs out of a message before it is read
// ([CutText]).
//
// The reader refuses document type declarations (so no entity can be
// declared or expanded), processing instructions other than the XML
// declaration, unbound namespace prefixes, duplicate attributes, and input
// beyond its depth, element and attribute limits. It never fetches anything.
// It also refuses what other parsers, encoding/xml and etree among them,
// would read otherwise than it does, so that the tree it checks is the one
// a client reads: character references beyond U+10FFFF, an XML declaration
// other than version, encoding and standalone each once and in order, and
// (unless [Limits.AllowAttrBreaks]) a literal tab, line feed or carriage
// return in an attribute value. Its checks are linear in the input: each
// attribute's namespace is resolved once, duplicates are found by sorting.
package xmlscan
