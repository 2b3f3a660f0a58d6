// Package xmlscan is the module's XML reader: a strict tokenizer with
// limits that either builds an etree tree ([Parse]) or only checks
// element content in a namespace context ([ScanFragment]), and the
// skeleton that cuts large text runs out of a message before it is read
// ([CutText]). It also holds the one rule for which attributes are Ids
// ([IsID]).
//
// # Accepted XML
//
// XML 1.0 (fifth edition) documents and element content, with Namespaces
// in XML 1.0, in UTF-8, restricted to what a SOAP message needs and to
// what every downstream parser reads the same way:
//
//   - An optional UTF-8 byte order mark and an XML declaration of
//     version 1.0 with, in this order and each at most once, encoding
//     UTF-8 and standalone; then one root element, with only white space
//     and comments around it ([Parse]). Content ([ScanFragment]) has no
//     declaration and any number of top-level elements and text.
//   - Elements, attributes, character data, the five predefined entity
//     references and character references to XML characters, CDATA
//     sections and comments. Line ends are normalized (2.11); attribute
//     values are normalized as without a DTD (3.3.3).
//   - Refused: document type declarations (hence no entity is declared or
//     expanded, and nothing is fetched), processing instructions, invalid
//     UTF-8 or characters outside XML's Char production, character
//     references beyond U+10FFFF, names that encoding/xml would read
//     otherwise, unbound prefixes, undeclared default-namespace
//     declarations (xmlns:p=""), the xml prefix bound elsewhere or
//     another prefix bound to its namespace, any declaration of the xmlns
//     namespace, two attributes with the same namespace URI and local
//     name, and, unless [Limits.AllowAttrBreaks], a literal tab, line feed
//     or carriage return in an attribute value (XML reads it as a space,
//     encoding/xml and etree as it stands, so a signed value could be
//     read two ways).
//   - Limits ([Limits]) on depth, elements, attributes per element,
//     namespace declarations in scope, attribute value and name sizes.
//     The checks are linear in the input: each attribute's namespace is
//     resolved once, duplicates are found by sorting.
//
// Namespace URIs are resolved once, while the tree is built: the scanner
// keeps the declarations in scope anyway, to refuse unbound prefixes and
// duplicate attributes, and [ParseTree] records them in the tree's
// [Names]: the URI of every element's name, and for every element the
// innermost declaration in scope, linked to the ones outside it, through
// which an attribute's prefix resolves. Invariant: for every element
// ParseTree built, the table gives the URI that the nearest declaration
// among the element and its ancestors gives; an element added later is
// unknown to it, never answered wrongly. Proved by FuzzNamespaces
// (uris_test.go), which compares the table with that search for every
// element, every prefix its attributes use and the declarations in
// scope.
//
// FuzzParse (parse_test.go) compares every tree Parse accepts with one
// built by encoding/xml from the same bytes; FuzzScanFragment
// (scan_test.go) compares ScanFragment's acceptance and element count
// with encoding/xml.
//
// # Shortcuts and what keeps them honest
//
// Three shortcuts make large input fast. Each has an invariant, and a
// fuzz target that compares it with the plain path on the same input.
//
//   - Tag memo (memo.go). Once a fragment has more than 64 start tags
//     (8 where a [Scratch] holds the table, which then costs no
//     allocation), the scan remembers accepted start tags in a small
//     table. A start
//     tag that equals a remembered one except for its attribute values,
//     in the same namespace scope (a generation counter changes whenever
//     a declaration comes into or goes out of scope), is accepted after
//     checking only its values as a full read would. Invariant: every
//     other check on a start tag depends only on the bytes around the
//     values and on the scope; tags that declare namespaces or may carry
//     an Id are never remembered. Proved by FuzzScanFragment, which
//     scans with the memo from the first tag on and without it, and
//     requires the same result, error and Id callbacks.
//   - Split halves (split.go). A fragment of 1 MiB or more is scanned as
//     two halves on two goroutines when GOMAXPROCS allows. The second
//     half starts inside elements it does not know: it records what only
//     the first half can decide (end tags of outer elements, names its
//     own declarations do not bind, depth and declarations relative to
//     the split, element names for Forbidden, Id values), and the join
//     checks all of that and only then reports the Ids in document
//     order. Invariant: a split that decides gives the result, error and
//     Id callbacks of a whole scan, and one that cannot decide calls no
//     callback and leaves it to a whole scan. Proved by FuzzScanSplit
//     (split_test.go), which splits at every '<' and compares with the
//     whole scan.
//   - Skeleton (skeleton.go). [CutText] replaces long text runs of named
//     elements (base64 CipherValues) with unforgeable markers, so that
//     the tokenizer and the tree see kilobytes instead of megabytes; the
//     caller checks the runs it uses with [CheckText]. Invariant: with
//     every cut run valid character data, the skeleton parses exactly
//     when the message does, into the same tree once markers are read
//     back as their runs. Proved by FuzzCutText (skeleton_test.go). The
//     end of a long run after a named start tag is found, with the check
//     for '&', in one pass of cache-sized chunks, and from 1 MiB on in two
//     halves at once; TestTextEnd compares that search with its
//     definition.
//
// Small documents take a shortcut of representation, not of checking: a
// document of up to 64 KiB is copied into one string before its tree is
// built, and the tree's names, and the values and text that hold no
// reference and no carriage return (nor, in attribute values, any other
// white space to normalize), are substrings of it rather than copies one
// by one. Invariant: each string is the one the copy would have been.
// Proved by TestParse_srcStrings (parse_test.go), which compares small
// trees with those of the same documents made too large for the copy,
// and by FuzzParse.
//
// A [Scratch] lends a scan memory kept from one scan to the next (its
// stacks, the tag memo, a tree's first slabs and Names table); it
// changes where things are stored, never what is read. Checked by
// FuzzParse and FuzzScanFragment, which read every input also with one
// Scratch reused from input to input, and by TestScratch
// (scratch_test.go), which also checks that it keeps nothing of a scan.
//
// The parallel halves of the decryption path, decoding base64 and
// decrypting CBC and GCM in two halves at once, live in internal/xmlenc,
// with their invariant and fuzz target in its package documentation.
package xmlscan
