package soap

import (
	"strings"

	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/internal/xmlscan"
)

// Roles that mean "the ultimate receiver", as an absent actor/role does.
const (
	roleUltimateReceiver12 = "http://www.w3.org/2003/05/soap-envelope/role/ultimateReceiver"
)

// Envelope is a parsed SOAP envelope.
type Envelope struct {
	Doc    *etree.Document
	Root   *etree.Element
	NS     string         // NSSOAP11 or NSSOAP12
	Header *etree.Element // nil if the envelope has none
	Body   *etree.Element
	// Names resolves the namespace URIs of the tree's names.
	Names Names
}

// Version returns 11 or 12.
func (e *Envelope) Version() int {
	if e.NS == NSSOAP12 {
		return 12
	}
	return 11
}

// NewEnvelope checks the structure of a parsed document: an Envelope in
// the SOAP 1.1 or 1.2 namespace with an optional Header followed by exactly
// one Body, and nothing else but white space and comments. names is the
// table [xmlscan.ParseTree] filled for doc; nil (a tree built otherwise)
// makes every lookup walk the ancestors' declarations.
func NewEnvelope(doc *etree.Document, names *xmlscan.Names) (*Envelope, error) {
	root := doc.Root()
	env := &Envelope{Doc: doc, Root: root, Names: NewNames(names)}
	n := env.Names
	switch {
	case n.Is(root, NSSOAP11, "Envelope"):
		env.NS = NSSOAP11
	case n.Is(root, NSSOAP12, "Envelope"):
		env.NS = NSSOAP12
	default:
		return nil, syntaxf("root element is not a SOAP 1.1 or 1.2 Envelope")
	}
	for _, t := range root.Child {
		switch c := t.(type) {
		case *etree.CharData:
			if strings.TrimSpace(c.Data) != "" {
				return nil, syntaxf("text in Envelope")
			}
		case *etree.Element:
			switch {
			case n.Is(c, env.NS, "Header") && env.Header == nil && env.Body == nil:
				env.Header = c
			case n.Is(c, env.NS, "Body") && env.Body == nil:
				env.Body = c
			default:
				return nil, syntaxf("unexpected element %s in Envelope", c.FullTag())
			}
		}
	}
	if env.Body == nil {
		return nil, syntaxf("no Body")
	}
	return env, nil
}

// role returns the actor (SOAP 1.1) or role (SOAP 1.2) a header block is
// targeted at, with the ultimate receiver as "".
func (e *Envelope) role(block *etree.Element) string {
	name := "actor"
	if e.NS == NSSOAP12 {
		name = "role"
	}
	r, _ := e.Names.Attr(block, e.NS, name)
	r = strings.TrimSpace(r)
	if r == roleUltimateReceiver12 {
		return ""
	}
	return r
}

// SecurityHeaders returns the wsse:Security header blocks targeted at role
// ("" for the ultimate receiver), in document order.
func (e *Envelope) SecurityHeaders(role string) []*etree.Element {
	if e.Header == nil {
		return nil
	}
	var out []*etree.Element
	for _, t := range e.Header.Child {
		if c, ok := t.(*etree.Element); ok && e.Names.Is(c, NSWSSE, "Security") && e.role(c) == role {
			out = append(out, c)
		}
	}
	return out
}

// Within reports whether el is anc or one of its descendants.
func Within(el, anc *etree.Element) bool {
	for e := el; e != nil; e = e.Parent() {
		if e == anc {
			return true
		}
	}
	return false
}

// Depth returns the nesting depth of el, the root element at 1.
func Depth(el *etree.Element) int {
	n := 0
	for e := el; e != nil && e.Parent() != nil; e = e.Parent() {
		n++
	}
	return n
}
