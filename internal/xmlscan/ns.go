package xmlscan

// Namespace URIs the scanner itself needs: the ones of the xml and xmlns
// prefixes, and the one whose Id attribute (wsu:Id) names an element.
const (
	NSXML   = "http://www.w3.org/XML/1998/namespace"
	NSWSU   = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
	nsXMLNS = "http://www.w3.org/2000/xmlns/"
)

// IsID reports whether the attribute with namespace URI ns ("" for an
// unprefixed attribute) and local name local gives its element an Id
// that same-document references ("#id") point to: the unqualified Id of
// XML Encryption and XML Signature elements, wsu:Id of WS-Security, and
// xml:id. This is the one rule for the whole module: the scanner reports
// these values to [FragmentCheck.ID], and internal/soap indexes them.
func IsID(ns, local string) bool {
	switch local {
	case "Id":
		return ns == "" || ns == NSWSU
	case "id":
		return ns == NSXML
	}
	return false
}
