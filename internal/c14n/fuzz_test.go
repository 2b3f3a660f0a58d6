package c14n

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// FuzzCanonicalize compares the canonical form of any element of any
// document etree reads with goxmldsig's, in every method. Where goxmldsig
// refuses (more than 1,000 elements) or knows no inheritance of xml:
// attributes (Canonical XML of an element whose ancestors carry them),
// only the absence of panics and of undocumented errors is checked. So
// is a subtree with an empty declaration in it or in scope: xmlns:p="" is not XML 1.0
// (the parsers of this module refuse it), and for xmlns="" goxmldsig
// writes one where the output has no default namespace to undo, which
// Exclusive XML Canonicalization 1.0 (section 3, rule 3.1) does not;
// TestCanonicalize covers those cases. goxmldsig also ignores the
// "#default" token of a PrefixList (section 3 of the same spec), so a
// list holding it is not compared either.
func FuzzCanonicalize(f *testing.F) {
	seeds := []string{
		`<n0:a xmlns:n0="urn:0" xmlns:n1="urn:1" xmlns="urn:d"><n1:b><c n0:x="1" b="2" a="3"/></n1:b></n0:a>`,
		`<a xmlns="urn:d"><b><c xmlns=""><d xmlns=""/></c></b></a>`,
		`<p:a xmlns:p="urn:1"><p:b xmlns:p="urn:2"><p:c xmlns:p="urn:1"/></p:b></p:a>`,
		"<a b=\"&lt;&amp;&quot;&#9;&#10;&#13;'&gt;\">&lt;&amp;&gt;&#13;\"'<!-- c --><![CDATA[ x ]]></a>",
		`<a xmlns:q="urn:q" xml:lang="en"><b><c xmlns:q="urn:q2" q:x="1"/><d xmlns:q="urn:q"/></b></a>`,
	}
	for i, s := range seeds {
		f.Add([]byte(s), uint8(i), uint8(i), "q #default")
	}
	f.Fuzz(func(t *testing.T, data []byte, pick, method uint8, prefixes string) {
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(data); err != nil || doc.Root() == nil {
			return
		}
		var els []*etree.Element
		var walk func(*etree.Element)
		walk = func(e *etree.Element) {
			els = append(els, e)
			for _, c := range e.ChildElements() {
				walk(c)
			}
		}
		walk(doc.Root())
		el := els[int(pick)%len(els)]
		opt := []Options{
			{Method: Method{Exclusive: true}},
			{Method: Method{Exclusive: true, Comments: true}},
			{Method: Method{Exclusive: true}, InclusivePrefixes: prefixes},
			{},
			{Method: Method{Comments: true}},
			{Method: Method{V11: true}},
		}[int(method)%6]
		var got bytes.Buffer
		_, err := Canonicalize(&got, el, opt)
		want, refErr := reference(el, opt)
		if err != nil {
			if !isDocumented(err) {
				t.Fatalf("Canonicalize: undocumented error %v", err)
			}
			return
		}
		if refErr != nil || (!opt.Exclusive && ancestorsHaveXMLAttrs(el)) || hasEmptyDeclaration(el) || ancestorHasEmptyDeclaration(el) ||
			(opt.Exclusive && slices.Contains(strings.Fields(opt.InclusivePrefixes), "#default")) {
			return
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("Canonicalize(%+v) of %q\n got %q\nwant %q (goxmldsig)", opt, el.Tag, got.Bytes(), want)
		}
	})
}

func isDocumented(err error) bool {
	for _, e := range []error{ErrUnboundPrefix, ErrUnsupported, ErrTooLarge} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func ancestorsHaveXMLAttrs(el *etree.Element) bool {
	for p := el.Parent(); p != nil; p = p.Parent() {
		for _, a := range p.Attr {
			if a.Space == "xml" {
				return true
			}
		}
	}
	return false
}

func hasEmptyDeclaration(el *etree.Element) bool {
	for _, a := range el.Attr {
		if _, ok := nsDecl(&a); ok && a.Value == "" {
			return true
		}
	}
	for _, c := range el.ChildElements() {
		if hasEmptyDeclaration(c) {
			return true
		}
	}
	return false
}

func ancestorHasEmptyDeclaration(el *etree.Element) bool {
	for p := el.Parent(); p != nil; p = p.Parent() {
		for _, a := range p.Attr {
			if _, ok := nsDecl(&a); ok && a.Value == "" {
				return true
			}
		}
	}
	return false
}
