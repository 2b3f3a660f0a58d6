// WssInterop drives Apache WSS4J 1.6 (with Apache Santuario) to produce and
// consume WS-Security encrypted and signed SOAP messages for wsrenew's
// interoperability vectors and live tests. It uses only the public WSS4J API,
// as a SOAP stack built on WSS4J would.
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
//   java WssInterop sign --in FILE --out FILE --key PEM --cert PEM [options]
//       Adds a wsu:Timestamp, then runs the actions of --order with
//       WSSecSignature and WSSecEncrypt, each building into one
//       WSSecHeader (mustUnderstand), as WSS4J's handler does for the
//       action lists "Timestamp Signature", "Timestamp Signature Encrypt"
//       and "Timestamp Encrypt Signature".
//       --order     sign | sign-encrypt | encrypt-sign      (default sign)
//       --keyid     issuerserial | bst | x509 | ski | thumbprint (default bst)
//       --sigalg    rsa-sha1 | rsa-sha256 | rsa-sha512 | ecdsa-sha256 | <URI>
//                   | default (WSS4J's choice)                (default rsa-sha256)
//       --sigdigest sha1 | sha256 | sha512 | <URI> | default  (default sha256)
//       --ttl       seconds from Created to Expires          (default 300)
//       --no-timestamp  add no Timestamp
//       --sign      Body | Timestamp | EncryptedData | {namespace}local
//                   (parts to sign, by element name; repeatable; default
//                   Body and, if present, Timestamp)
//       --enc-cert  PEM  (sign-encrypt, encrypt-sign: encrypt the Body
//                   content for this certificate)
//       --kt, --digest, --data  as for encrypt (default oaep-mgf1p, none,
//                   aes256-gcm)
//       --enc-keyid key identifier of the EncryptedKey (default issuerserial)
//       --encrypt-signature  (sign-encrypt) also encrypt the ds:Signature
//                   element, as WS-SecurityPolicy EncryptSignature does
//
//   java WssInterop verify --in FILE --out FILE --trust PEM [--trust PEM ...] [--key PEM --cert PEM ...]
//       Runs WSSecurityEngine over the message with the --trust
//       certificates as the signature trust store (nothing else is trusted)
//       and the key pairs for decryption, and writes a summary of the
//       results, one line per result: "timestamp <created> <expires>",
//       "signature <subject> <method> <signed element QNames>",
//       "encryption <decrypted element QNames>". Exits non-zero if
//       processing fails.
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
import java.util.Set;

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
import org.apache.ws.security.WSDataRef;
import org.apache.ws.security.WSEncryptionPart;
import org.apache.ws.security.WSPasswordCallback;
import org.apache.ws.security.WSSConfig;
import org.apache.ws.security.WSSecurityEngine;
import org.apache.ws.security.WSSecurityEngineResult;
import org.apache.ws.security.components.crypto.Merlin;
import org.apache.ws.security.message.WSSecEncrypt;
import org.apache.ws.security.message.WSSecHeader;
import org.apache.ws.security.message.WSSecSignature;
import org.apache.ws.security.message.WSSecTimestamp;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

public final class WssInterop {
    private static final char[] STORE_PASSWORD = "interop".toCharArray();

    public static void main(String[] args) {
        if (args.length == 0) {
            System.err.println("usage: WssInterop encrypt|decrypt|sign|verify|batch ...");
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
        case "sign":
            sign(a);
            break;
        case "verify":
            verify(a);
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

    private static void sign(Args a) throws Exception {
        Document doc = parse(readAll(a.one("--in")));
        X509Certificate cert = readCertificate(a.one("--cert"));
        PrivateKey key = readPrivateKey(a.one("--key"), cert.getPublicKey().getAlgorithm());
        KeyStore ks = KeyStore.getInstance("JKS");
        ks.load(null, null);
        ks.setKeyEntry("signer", key, STORE_PASSWORD, new Certificate[] {cert});
        Merlin crypto = new Merlin();
        crypto.setKeyStore(ks);

        WSSecHeader secHeader = new WSSecHeader();
        secHeader.setMustUnderstand(true);
        secHeader.insertSecurityHeader(doc);

        boolean timestamp = !a.has("--no-timestamp");
        if (timestamp) {
            WSSecTimestamp ts = new WSSecTimestamp();
            ts.setTimeToLive(Integer.parseInt(a.opt("--ttl", "300")));
            ts.build(doc, secHeader);
        }

        WSSecSignature sig = new WSSecSignature();
        sig.setUserInfo("signer", new String(STORE_PASSWORD));
        sig.setKeyIdentifierType(keyIdentifier(a.opt("--keyid", "bst")));
        // "default" leaves WSS4J's own choice: the signature method follows
        // the key type, the digest is its built-in default.
        String sigalg = a.opt("--sigalg", "rsa-sha256");
        if (!sigalg.equals("default")) {
            sig.setSignatureAlgorithm(signatureURI(sigalg));
        }
        String sigdigest = a.opt("--sigdigest", "sha256");
        if (!sigdigest.equals("default")) {
            sig.setDigestAlgo(digestURI(sigdigest));
        }
        List<WSEncryptionPart> sigParts = new ArrayList<>();
        List<String> names = a.all("--sign");
        if (names.isEmpty()) {
            names = new ArrayList<>();
            names.add("Body");
            if (timestamp) {
                names.add("Timestamp");
            }
        }
        Element body = body(doc);
        for (String n : names) {
            switch (n) {
            case "Body":
                sigParts.add(new WSEncryptionPart("Body", body.getNamespaceURI(), ""));
                break;
            case "Timestamp":
                sigParts.add(new WSEncryptionPart("Timestamp", WSConstants.WSU_NS, ""));
                break;
            case "EncryptedData":
                sigParts.add(new WSEncryptionPart("EncryptedData", WSConstants.ENC_NS, ""));
                break;
            default:
                int close = n.indexOf('}');
                if (!n.startsWith("{") || close < 0) {
                    throw new IllegalArgumentException("--sign wants Body, Timestamp, EncryptedData or {namespace}local, got " + n);
                }
                sigParts.add(new WSEncryptionPart(n.substring(close + 1), n.substring(1, close), ""));
            }
        }
        sig.setParts(sigParts);

        String order = a.opt("--order", "sign");
        switch (order) {
        case "sign":
            sig.build(doc, crypto, secHeader);
            break;
        case "sign-encrypt":
            sig.build(doc, crypto, secHeader);
            encryptBody(a, doc, secHeader);
            break;
        case "encrypt-sign":
            encryptBody(a, doc, secHeader);
            sig.build(doc, crypto, secHeader);
            break;
        default:
            throw new IllegalArgumentException("--order wants sign, sign-encrypt or encrypt-sign");
        }
        write(serialize(doc), a.opt("--out", "-"));
    }

    private static void encryptBody(Args a, Document doc, WSSecHeader secHeader) throws Exception {
        X509Certificate cert = readCertificate(a.one("--enc-cert"));
        KeyStore ks = KeyStore.getInstance("JKS");
        ks.load(null, null);
        ks.setCertificateEntry("recipient", cert);
        Merlin crypto = new Merlin();
        crypto.setKeyStore(ks);

        WSSecEncrypt enc = new WSSecEncrypt();
        enc.setUseThisCert(cert);
        enc.setKeyIdentifierType(keyIdentifier(a.opt("--enc-keyid", "issuerserial")));
        enc.setKeyEncAlgo(keyTransport(a.opt("--kt", "oaep-mgf1p")));
        String digest = a.opt("--digest", null);
        if (digest != null) {
            enc.setDigestAlgorithm(digestURI(digest));
        }
        enc.setSymmetricEncAlgorithm(dataEncryption(a.opt("--data", "aes256-gcm")));
        List<WSEncryptionPart> parts = new ArrayList<>();
        parts.add(new WSEncryptionPart("Body", body(doc).getNamespaceURI(), "Content"));
        if (a.has("--encrypt-signature")) {
            // WS-SecurityPolicy EncryptSignature: the ds:Signature itself,
            // as an Element, under the same key.
            parts.add(new WSEncryptionPart(WSConstants.SIG_LN, WSConstants.SIG_NS, "Element"));
        }
        enc.setParts(parts);
        enc.build(doc, crypto, secHeader);
    }

    private static void verify(Args a) throws Exception {
        KeyStore trust = KeyStore.getInstance("JKS");
        trust.load(null, null);
        List<String> trusted = a.all("--trust");
        for (int i = 0; i < trusted.size(); i++) {
            trust.setCertificateEntry("trusted" + i, readCertificate(trusted.get(i)));
        }
        Merlin sigCrypto = new Merlin();
        sigCrypto.setKeyStore(trust);
        sigCrypto.setTrustStore(trust);

        List<String> keys = a.all("--key");
        List<String> certs = a.all("--cert");
        if (keys.size() != certs.size()) {
            throw new IllegalArgumentException("verify wants pairs of --key PEM --cert PEM");
        }
        KeyStore ks = KeyStore.getInstance("JKS");
        ks.load(null, null);
        for (int i = 0; i < keys.size(); i++) {
            X509Certificate cert = readCertificate(certs.get(i));
            PrivateKey key = readPrivateKey(keys.get(i), cert.getPublicKey().getAlgorithm());
            ks.setKeyEntry("key" + i, key, STORE_PASSWORD, new Certificate[] {cert});
        }
        Merlin decCrypto = new Merlin();
        decCrypto.setKeyStore(ks);
        CallbackHandler passwords = (Callback[] callbacks) -> {
            for (Callback c : callbacks) {
                if (c instanceof WSPasswordCallback) {
                    ((WSPasswordCallback) c).setPassword(new String(STORE_PASSWORD));
                }
            }
        };

        Document doc = parse(readAll(a.one("--in")));
        WSSecurityEngine engine = new WSSecurityEngine();
        List<WSSecurityEngineResult> results = engine.processSecurityHeader(doc, null, passwords, sigCrypto, decCrypto);
        if (results == null || results.isEmpty()) {
            throw new IllegalStateException("no wsse:Security header was processed");
        }
        StringBuilder out = new StringBuilder();
        for (WSSecurityEngineResult r : results) {
            int action = (Integer) r.get(WSSecurityEngineResult.TAG_ACTION);
            if (action == WSConstants.TS) {
                org.apache.ws.security.message.token.Timestamp ts =
                    (org.apache.ws.security.message.token.Timestamp) r.get(WSSecurityEngineResult.TAG_TIMESTAMP);
                out.append("timestamp ").append(ts.getCreated().toInstant()).append(' ')
                    .append(ts.getExpires() == null ? "-" : ts.getExpires().toInstant().toString()).append('\n');
            } else if (action == WSConstants.SIGN) {
                X509Certificate c = (X509Certificate) r.get(WSSecurityEngineResult.TAG_X509_CERTIFICATE);
                out.append("signature ").append(c == null ? "-" : c.getSubjectX500Principal().getName().replace(' ', '_'))
                    .append(' ').append(r.get(WSSecurityEngineResult.TAG_SIGNATURE_METHOD))
                    .append(' ').append(dataRefs(r)).append('\n');
            } else if (action == WSConstants.ENCR) {
                out.append("encryption ").append(dataRefs(r)).append('\n');
            }
        }
        write(out.toString().getBytes(StandardCharsets.UTF_8), a.opt("--out", "-"));
    }

    @SuppressWarnings("unchecked")
    private static String dataRefs(WSSecurityEngineResult r) {
        List<WSDataRef> refs = (List<WSDataRef>) r.get(WSSecurityEngineResult.TAG_DATA_REF_URIS);
        StringBuilder b = new StringBuilder();
        if (refs != null) {
            for (WSDataRef ref : refs) {
                if (b.length() > 0) {
                    b.append(',');
                }
                b.append(ref.getName());
            }
        }
        return b.length() == 0 ? "-" : b.toString();
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

    private static String signatureURI(String name) {
        switch (name) {
        case "rsa-sha1":
            return "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
        case "rsa-sha256":
            return "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
        case "rsa-sha512":
            return "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512";
        case "ecdsa-sha256":
            return "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
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
        return readPrivateKey(path, "RSA");
    }

    private static PrivateKey readPrivateKey(String path, String algorithm) throws Exception {
        String pem = new String(Files.readAllBytes(Paths.get(path)), StandardCharsets.US_ASCII);
        String begin = "-----BEGIN PRIVATE KEY-----";
        int from = pem.indexOf(begin);
        int to = pem.indexOf("-----END PRIVATE KEY-----");
        if (from < 0 || to < 0) {
            throw new IllegalArgumentException(path + ": not a PKCS#8 PEM private key");
        }
        byte[] der = Base64.getMimeDecoder().decode(pem.substring(from + begin.length(), to));
        return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
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
        private static final Set<String> SWITCHES = Set.of("--embed", "--no-timestamp", "--encrypt-signature");

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
                if (SWITCHES.contains(k)) {
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
