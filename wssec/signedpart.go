package wssec

import (
	"encoding/xml"
	"slices"
	"strings"

	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/internal/soap"
)

// PartLocation says where a signed element sits in the envelope that was
// verified. It is decided by identity in that tree, never by name.
type PartLocation int

// Locations of a signed part.
const (
	// LocationOther is any place not named below, such as an element
	// nested in a header block, or a Body-named element that is not the
	// envelope's Body.
	LocationOther PartLocation = iota
	// LocationBody is the envelope's own Body element.
	LocationBody
	// LocationInBody is an element inside the envelope's Body.
	LocationInBody
	// LocationTimestamp is the wsu:Timestamp of the processed Security
	// header.
	LocationTimestamp
	// LocationSecurityHeader is another child of the processed Security
	// header, such as a BinarySecurityToken.
	LocationSecurityHeader
	// LocationHeaderBlock is a header block: a child of the envelope's
	// Header.
	LocationHeaderBlock
)

// String returns the location's name.
func (l PartLocation) String() string {
	switch l {
	case LocationBody:
		return "Body"
	case LocationInBody:
		return "in Body"
	case LocationTimestamp:
		return "Security header Timestamp"
	case LocationSecurityHeader:
		return "in Security header"
	case LocationHeaderBlock:
		return "header block"
	}
	return "other"
}

// SignedPart is an element a verified signature covers.
type SignedPart struct {
	// Name is the element's namespace URI and local name.
	Name xml.Name
	// ID is the Id the signature referenced it by.
	ID string
	// Location is where the element sits in the envelope that was
	// verified. Only LocationBody is the envelope's Body: an element that
	// is merely named Body, elsewhere, is LocationOther.
	Location PartLocation
	// Path lists the local names from the Envelope down to the element,
	// separated by "/", for diagnostics.
	Path string
}

// partOf names an element a signature covered and says where it sits in
// env, the tree that was verified, by identity.
func partOf(env *soap.Envelope, security, el *etree.Element, id string) SignedPart {
	sp := SignedPart{Name: xml.Name{Space: env.Names.Of(el), Local: el.Tag}, ID: id}
	switch parent := el.Parent(); {
	case el == env.Body:
		sp.Location = LocationBody
	case soap.Within(el, env.Body):
		sp.Location = LocationInBody
	case security != nil && parent == security && env.Names.Is(el, soap.NSWSU, "Timestamp"):
		sp.Location = LocationTimestamp
	case security != nil && parent == security:
		sp.Location = LocationSecurityHeader
	case env.Header != nil && parent == env.Header:
		sp.Location = LocationHeaderBlock
	}
	var names []string
	for e := el; e != nil && e.Parent() != nil; e = e.Parent() { // not the document
		names = append(names, e.Tag)
	}
	slices.Reverse(names)
	sp.Path = strings.Join(names, "/")
	return sp
}
