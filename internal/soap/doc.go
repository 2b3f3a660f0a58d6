// Package soap parses SOAP envelopes for the wssec package: a strict XML
// reader with limits that builds an etree tree, namespace resolution by URI,
// the envelope's structure (SOAP 1.1 and 1.2, Header, Body, WS-Security
// headers) and the index of Id attributes that references resolve against.
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
package soap
