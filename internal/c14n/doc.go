// Package c14n writes the canonical form of an element of an etree tree:
// Exclusive XML Canonicalization 1.0 ([exc-c14n]) with or without
// comments and with an InclusiveNamespaces PrefixList, and Canonical XML
// 1.0 and 1.1 ([c14n10], [c14n11]) of a whole subtree.
//
// It works on the tree as it is, without copying or modifying it: the
// namespaces in scope at the element are read once from its ancestors,
// then the subtree is walked once and its canonical bytes are streamed
// into an [io.Writer], typically a hash. Work and memory are linear in the
// size of the subtree (plus the namespace declarations in scope); there is
// no limit on the number of elements other than [Options.MaxBytes] and the
// limits the tree was parsed with.
//
// [CanonicalizeBytes] writes the same exclusive canonical form straight
// from the bytes of a document the module's parser accepted, without a
// tree: a verifier digests a large element from the very bytes it
// returns, copying what is canonical as written. FuzzCanonicalizeBytes
// holds it to [Canonicalize]'s output.
//
// The input is a node-set that is a whole element subtree (what a
// same-document XML Signature reference "#id" selects, and a SignedInfo);
// XPath-selected subsets are not supported. Character data and attribute
// values are taken as the tree holds them, already unescaped and
// normalized by the parser.
//
// # Security
//
// The canonical form is what a signature covers: two trees that read
// differently must not canonicalize alike. Namespaces are compared by URI,
// an unbound prefix is an error ([ErrUnboundPrefix]) rather than an empty
// namespace, and Canonical XML 1.1's xml:base fix-up, which this package
// does not implement, is refused ([ErrUnsupported]) instead of being
// skipped.
//
// # Concurrency
//
// [Canonicalize] only reads the tree; concurrent calls on one tree are
// safe as long as nothing modifies it.
//
// [exc-c14n]: https://www.w3.org/TR/xml-exc-c14n/
// [c14n10]: https://www.w3.org/TR/2001/REC-xml-c14n-20010315
// [c14n11]: https://www.w3.org/TR/xml-c14n11/
package c14n
