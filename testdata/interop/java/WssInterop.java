// WssInterop drives Apache WSS4J 1.6 (with Apache Santuario) to produce and
// consume WS-Security encrypted SOAP messages for wsrenew's interoperability
// vectors and live tests. It uses only the public WSS4J API, as a SOAP stack
// built on WSS4J would.
//
// Usage:
//
//   java WssInterop encrypt --in FILE --out FILE --cert PEM [options]
//       --kt        oaep-mgf1p | rsa-oaep | rsa15 | <URI>    (default oaep-mgf1p)
//       --digest    sha1 | sha256 | sha384 | sha512 | <URI>  (OAEP DigestMethod; default none)
//       --data      aes128-cbc | aes192-cbc | aes256-cbc | aes128-gcm |
//                   aes192-gcm | aes256-gcm | 3des | <URI>   (default aes256-cbc)
//       --keyid     issuerserial | bst | x509 | ski | thumbprint (default issuerserial)
//       --part      content | element | none  (Body content, the Body's first
//                   child element, or no Body part; default content)
//       --header    {namespace}local  (encrypt this header block as
//                   wsse11:EncryptedHeader; repeatable)
//       --embed     put the EncryptedKey inside EncryptedData/ds:KeyInfo
//
//   java WssInterop decrypt --in FILE|- --out FILE|- --key PEM --cert PEM [--key PEM --cert PEM ...]
//       Runs WSSecurityEngine over the message with the given private keys
//       and writes the resulting envelope. Exits non-zero if processing fails
//       or if any EncryptedData is left in the message.
//
//   java WssInterop batch FILE|-
//       Runs one command per line (blank lines and lines starting with # are
//       skipped; words are separated by white space), so that one JVM serves
//       many messages. Prints "ok <n>" or "FAIL <n>: <reason>" per line and
//       exits non-zero if any command failed.
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import javax.security.auth.callback.Callback;
import javax.security.auth.callback.CallbackHandler;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.transform.OutputKeys;
import javax.xml.transform.Transformer;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;

import org.apache.ws.security.WSConstants;
import org.apache.ws.security.WSEncryptionPart;
import org.apache.ws.security.WSPasswordCallback;
import org.apache.ws.security.WSSConfig;
import org.apache.ws.security.WSSecurityEngine;
import org.apache.ws.security.WSSecurityEngineResult;
import org.apache.ws.security.components.crypto.Merlin;
import org.apache.ws.security.message.WSSecEncrypt;
import org.apache.ws.security.message.WSSecHeader;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

public final class WssInterop {
    private static final char[] STORE_PASSWORD = "interop".toCharArray();

    public static void main(String[] args) {
        if (args.length == 0) {
            System.err.println("usage: WssInterop encrypt|decrypt|batch ...");
            System.exit(2);
        }
        WSSConfig.init();
        if (args[0].equals("batch")) {
            System.exit(batch(args.length > 1 ? args[1] : "-"));
        }
        try {
            run(args);
        } catch (Exception e) {
            System.err.println("WssInterop: " + describe(e));
            System.exit(1);
        }
    }

    private static int batch(String file) {
        List<String> lines;
        try {
            lines = splitLines(readAll(file));
        } catch (IOException e) {
            System.err.println("WssInterop: " + describe(e));
            return 1;
        }
        int failed = 0;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).trim();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            try {
                run(line.split("\\s+"));
                System.out.println("ok " + (i + 1));
            } catch (Exception e) {
                failed++;
                System.out.println("FAIL " + (i + 1) + ": " + describe(e).replace('\n', ' '));
            }
        }
        System.out.flush();
        return failed == 0 ? 0 : 1;
    }

    private static void run(String[] args) throws Exception {
        Args a = new Args(args);
        switch (a.command) {
        case "encrypt":
            encrypt(a);
            break;
        case "decrypt":
            decrypt(a);
            break;
        default:
            throw new IllegalArgumentException("unknown command " + a.command);
        }
    }

    private static void encrypt(Args a) throws Exception {
        Document doc = parse(readAll(a.one("--in")));
        X509Certificate cert = readCertificate(a.one("--cert"));

        KeyStore ks = KeyStore.getInstance("JKS");
        ks.load(null, null);
        ks.setCertificateEntry("recipient", cert);
        Merlin crypto = new Merlin();
        crypto.setKeyStore(ks);

        WSSecHeader secHeader = new WSSecHeader();
        secHeader.setMustUnderstand(true);
        secHeader.insertSecurityHeader(doc);

        WSSecEncrypt enc = new WSSecEncrypt();
        enc.setUseThisCert(cert);
        enc.setKeyIdentifierType(keyIdentifier(a.opt("--keyid", "issuerserial")));
        enc.setKeyEncAlgo(keyTransport(a.opt("--kt", "oaep-mgf1p")));
        String digest = a.opt("--digest", null);
        if (digest != null) {
            enc.setDigestAlgorithm(digestURI(digest));
        }
        enc.setSymmetricEncAlgorithm(dataEncryption(a.opt("--data", "aes256-cbc")));
        List<WSEncryptionPart> parts = new ArrayList<>();
        for (String h : a.all("--header")) {
            int close = h.indexOf('}');
            if (!h.startsWith("{") || close < 0) {
                throw new IllegalArgumentException("--header wants {namespace}local, got " + h);
            }
            parts.add(new WSEncryptionPart(h.substring(close + 1), h.substring(1, close), "Header"));
        }
        Element body = body(doc);
        switch (a.opt("--part", "content")) {
        case "content":
            parts.add(new WSEncryptionPart("Body", body.getNamespaceURI(), "Content"));
            break;
        case "element":
            Element payload = firstChildElement(body);
            if (payload == null) {
                throw new IllegalArgumentException("Body has no child element");
            }
            parts.add(new WSEncryptionPart(payload.getLocalName(), payload.getNamespaceURI(), "Element"));
            break;
        case "none":
            break;
        default:
            throw new IllegalArgumentException("--part wants content, element or none");
        }
        if (parts.isEmpty()) {
            throw new IllegalArgumentException("nothing to encrypt");
        }
        if (a.has("--embed")) {
            // WSSecEncrypt.build always adds the EncryptedKey to the header;
            // with an embedded key that would leave two EncryptedKey elements
            // with one Id. Assemble the pieces instead: EncryptedData with the
            // EncryptedKey in its KeyInfo, and a ReferenceList (and the
            // BinarySecurityToken, if any) in the Security header.
            enc.setEmbedEncryptedKey(true);
            enc.prepare(doc, crypto);
            Element refs = enc.encryptForRef(null, parts);
            enc.addExternalRefElement(refs, secHeader);
            enc.prependBSTElementToHeader(secHeader);
        } else {
            enc.setParts(parts);
            enc.build(doc, crypto, secHeader);
        }
        write(serialize(doc), a.opt("--out", "-"));
    }

    private static void decrypt(Args a) throws Exception {
        List<String> keys = a.all("--key");
        List<String> certs = a.all("--cert");
        if (keys.isEmpty() || keys.size() != certs.size()) {
            throw new IllegalArgumentException("decrypt wants pairs of --key PEM --cert PEM");
        }
        KeyStore ks = KeyStore.getInstance("JKS");
        ks.load(null, null);
        for (int i = 0; i < keys.size(); i++) {
            PrivateKey key = readPrivateKey(keys.get(i));
            X509Certificate cert = readCertificate(certs.get(i));
            ks.setKeyEntry("key" + i, key, STORE_PASSWORD, new Certificate[] {cert});
        }
        Merlin crypto = new Merlin();
        crypto.setKeyStore(ks);
        CallbackHandler passwords = (Callback[] callbacks) -> {
            for (Callback c : callbacks) {
                if (c instanceof WSPasswordCallback) {
                    ((WSPasswordCallback) c).setPassword(new String(STORE_PASSWORD));
                }
            }
        };

        Document doc = parse(readAll(a.one("--in")));
        WSSecurityEngine engine = new WSSecurityEngine();
        List<WSSecurityEngineResult> results = engine.processSecurityHeader(doc, null, passwords, crypto);
        if (results == null || results.isEmpty()) {
            throw new IllegalStateException("no wsse:Security header was processed");
        }
        NodeList left = doc.getElementsByTagNameNS(WSConstants.ENC_NS, "EncryptedData");
        if (left.getLength() > 0) {
            throw new IllegalStateException(left.getLength() + " EncryptedData element(s) left undecrypted");
        }
        write(serialize(doc), a.opt("--out", "-"));
    }

    private static int keyIdentifier(String name) {
        switch (name) {
        case "issuerserial":
            return WSConstants.ISSUER_SERIAL;
        case "bst":
            return WSConstants.BST_DIRECT_REFERENCE;
        case "x509":
            return WSConstants.X509_KEY_IDENTIFIER;
        case "ski":
            return WSConstants.SKI_KEY_IDENTIFIER;
        case "thumbprint":
            return WSConstants.THUMBPRINT_IDENTIFIER;
        default:
            throw new IllegalArgumentException("unknown key identifier " + name);
        }
    }

    private static String keyTransport(String name) {
        switch (name) {
        case "oaep-mgf1p":
            return WSConstants.KEYTRANSPORT_RSAOEP;
        case "rsa-oaep":
            return "http://www.w3.org/2009/xmlenc11#rsa-oaep";
        case "rsa15":
            return WSConstants.KEYTRANSPORT_RSA15;
        default:
            return name;
        }
    }

    private static String digestURI(String name) {
        switch (name) {
        case "sha1":
            return "http://www.w3.org/2000/09/xmldsig#sha1";
        case "sha256":
            return "http://www.w3.org/2001/04/xmlenc#sha256";
        case "sha384":
            return "http://www.w3.org/2001/04/xmldsig-more#sha384";
        case "sha512":
            return "http://www.w3.org/2001/04/xmlenc#sha512";
        default:
            return name;
        }
    }

    private static String dataEncryption(String name) {
        switch (name) {
        case "aes128-cbc":
            return WSConstants.AES_128;
        case "aes192-cbc":
            return WSConstants.AES_192;
        case "aes256-cbc":
            return WSConstants.AES_256;
        case "aes128-gcm":
            return WSConstants.AES_128_GCM;
        case "aes192-gcm":
            return WSConstants.AES_192_GCM;
        case "aes256-gcm":
            return WSConstants.AES_256_GCM;
        case "3des":
            return WSConstants.TRIPLE_DES;
        default:
            return name;
        }
    }

    private static Element body(Document doc) {
        Element env = doc.getDocumentElement();
        for (Node n = env.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element && "Body".equals(n.getLocalName())
                    && env.getNamespaceURI().equals(n.getNamespaceURI())) {
                return (Element) n;
            }
        }
        throw new IllegalArgumentException("no SOAP Body");
    }

    private static Element firstChildElement(Element parent) {
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element) {
                return (Element) n;
            }
        }
        return null;
    }

    private static Document parse(byte[] xml) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setNamespaceAware(true);
        f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
        f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        DocumentBuilder b = f.newDocumentBuilder();
        return b.parse(new ByteArrayInputStream(xml));
    }

    private static byte[] serialize(Document doc) throws Exception {
        Transformer t = TransformerFactory.newInstance().newTransformer();
        t.setOutputProperty(OutputKeys.ENCODING, "UTF-8");
        t.setOutputProperty(OutputKeys.INDENT, "no");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        t.transform(new DOMSource(doc), new StreamResult(out));
        out.write('\n');
        return out.toByteArray();
    }

    private static X509Certificate readCertificate(String path) throws Exception {
        try (InputStream in = Files.newInputStream(Paths.get(path))) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }

    private static PrivateKey readPrivateKey(String path) throws Exception {
        String pem = new String(Files.readAllBytes(Paths.get(path)), StandardCharsets.US_ASCII);
        String begin = "-----BEGIN PRIVATE KEY-----";
        int from = pem.indexOf(begin);
        int to = pem.indexOf("-----END PRIVATE KEY-----");
        if (from < 0 || to < 0) {
            throw new IllegalArgumentException(path + ": not a PKCS#8 PEM private key");
        }
        byte[] der = Base64.getMimeDecoder().decode(pem.substring(from + begin.length(), to));
        return KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(der));
    }

    private static byte[] readAll(String path) throws IOException {
        if (path.equals("-")) {
            return System.in.readAllBytes();
        }
        return Files.readAllBytes(Paths.get(path));
    }

    private static void write(byte[] data, String path) throws IOException {
        if (path.equals("-")) {
            OutputStream out = System.out;
            out.write(data);
            out.flush();
            return;
        }
        Files.write(Paths.get(path), data);
    }

    private static List<String> splitLines(byte[] data) {
        List<String> lines = new ArrayList<>();
        for (String l : new String(data, StandardCharsets.UTF_8).split("\n", -1)) {
            lines.add(l);
        }
        return lines;
    }

    private static String describe(Throwable e) {
        StringBuilder b = new StringBuilder();
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (b.length() > 0) {
                b.append(": caused by ");
            }
            b.append(c.getClass().getName());
            if (c.getMessage() != null) {
                b.append(": ").append(c.getMessage());
            }
            if (c.getCause() == c) {
                break;
            }
        }
        return b.toString();
    }

    /** Args is a minimal parser for "command --flag value --switch" lists. */
    private static final class Args {
        final String command;
        private final List<String[]> pairs = new ArrayList<>();

        Args(String[] args) {
            if (args.length == 0) {
                throw new IllegalArgumentException("no command");
            }
            command = args[0];
            for (int i = 1; i < args.length; i++) {
                String k = args[i];
                if (!k.startsWith("--")) {
                    throw new IllegalArgumentException("unexpected argument " + k);
                }
                if (k.equals("--embed")) {
                    pairs.add(new String[] {k, ""});
                    continue;
                }
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException(k + " needs a value");
                }
                pairs.add(new String[] {k, args[++i]});
            }
        }

        boolean has(String k) {
            for (String[] p : pairs) {
                if (p[0].equals(k)) {
                    return true;
                }
            }
            return false;
        }

        String opt(String k, String def) {
            String v = def;
            for (String[] p : pairs) {
                if (p[0].equals(k)) {
                    v = p[1];
                }
            }
            return v;
        }

        String one(String k) {
            String v = opt(k, null);
            if (v == null) {
                throw new IllegalArgumentException(k + " is required");
            }
            return v;
        }

        List<String> all(String k) {
            List<String> out = new ArrayList<>();
            for (String[] p : pairs) {
                if (p[0].equals(k)) {
                    out.add(p[1]);
                }
            }
            return out;
        }
    }
}
