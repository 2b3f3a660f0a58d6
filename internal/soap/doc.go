// Package soap gives SOAP meaning to a tree that internal/xmlscan read:
// namespace resolution by URI, the envelope's structure (SOAP 1.1 and
// 1.2, Header, Body, WS-Security headers) and the index of Id attributes
// that references resolve against.
package soap
