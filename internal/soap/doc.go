// Package soap gives SOAP meaning to a tree that internal/xmlscan read:
// namespace resolution by URI, the envelope's structure (SOAP 1.1 and
// 1.2, Header, Body, WS-Security headers) and the index of Id attributes
// that references resolve against.
//
// # Namespaces
//
// Names are matched by namespace URI, never by prefix, and the URIs are
// resolved once: [xmlscan.ParseTree] records, while it builds the tree,
// the URI of every element's name and the declarations in scope at every
// element, and the [Envelope] carries that table as its [Names]. Every
// lookup ([Names.Of], [Names.Is], [Names.Attr], [Names.AttrNamespace],
// [Names.InScope], [IndexIDs]) answers from the table.
//
// Invariant: for an element of the tree as read, the table's answer is
// the one a search of the element's ancestors for the nearest
// declaration gives. FuzzNamespaces (internal/xmlscan) and FuzzNames
// (here) check it for every element and attribute of random documents.
// The search itself remains only for what the table does not know: an
// element added after parsing (the encryptor's new headers and
// EncryptedData), or a tree not read by ParseTree (the zero [Names]).
// Code that moves a parsed element under other declarations, or declares
// prefixes on a parsed element, must not look it up through the table
// afterwards; none does (the encryptor declares only on elements it
// creates).
package soap
