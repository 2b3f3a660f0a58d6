package xmlscan

// Namespace URIs the scanner itself needs: the one the xml prefix is
// bound to, and the one whose Id attribute (wsu:Id) names an element.
const (
	NSXML = "http://www.w3.org/XML/1998/namespace"
	NSWSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
)
