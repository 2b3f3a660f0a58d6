// Package soap parses SOAP envelopes for the wssec package: a strict XML
// reader with limits that builds an etree tree, namespace resolution by URI,
// the envelope's structure (SOAP 1.1 and 1.2, Header, Body, WS-Security
// headers) and the index of Id attributes that references resolve against.
//
// The reader refuses document type declarations (so no entity can be
// declared or expanded), processing instructions other than the XML
// declaration, unbound namespace prefixes, duplicate attributes, and input
// beyond its depth, element and attribute limits. It never fetches anything.
package soap
