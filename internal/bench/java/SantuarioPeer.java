import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Key;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

import javax.crypto.Cipher;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;

import org.apache.xml.security.encryption.XMLCipher;
import org.apache.xml.security.signature.XMLSignature;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

/**
 * Decrypts the messages of internal/bench/gen with Apache Santuario's
 * XMLCipher in one JVM and prints one JSON object per line, as
 * internal/bench/measure does.
 *
 * <pre>
 * java SantuarioPeer time DIR [WARMUP N LARGE_WARMUP LARGE_N]
 * java SantuarioPeer rss DIR NAME [SMALL]
 * </pre>
 *
 * time: each message is parsed and decrypted once and checked against
 * DIR/manifest.tsv, then decrypted WARMUP times untimed (JIT warm-up) and N
 * times timed (messages of 1 MB and more: LARGE_WARMUP and LARGE_N). One
 * iteration is DOM parsing of the message bytes plus XMLCipher decryption of
 * its EncryptedData with the private key as KEK, which resolves the
 * EncryptedKey inside the EncryptedData's KeyInfo. The median is reported.
 * On the first small message each decryption is followed by the own RSA
 * operation alone, the JCE RSA-OAEP decryption of the EncryptedKey that
 * XMLCipher performs, and the median of the differences is reported as the
 * XML overhead.
 *
 * rss: decrypts SMALL once, reads VmHWM from /proc/self/status as the
 * baseline, then reads and decrypts NAME once and reads VmHWM again.
 *
 * <pre>
 * java SantuarioPeer signed-time DIR [WARMUP N LARGE_WARMUP LARGE_N]
 * java SantuarioPeer signed-rss DIR NAME [SMALL]
 * </pre>
 *
 * The same for the signed messages of DIR/signed.tsv: one iteration parses
 * the message, marks the wsu:Id of the Body and the Timestamp as ID
 * attributes, verifies the ds:Signature with
 * XMLSignature.checkSignatureValue (SignedInfo and every Reference) with
 * the signer's public key, and decrypts the EncryptedData with XMLCipher
 * before verifying (sign-then-encrypt) or after (encrypt-then-sign), with
 * the AES key that XMLCipher unwraps from the Security header's
 * EncryptedKey. On
 * every small message each iteration is paired with the RSA operations
 * alone: the JCE SHA256withRSA verification of the canonical SignedInfo,
 * and the RSA-OAEP decryption of the EncryptedKey if there is one.
 */
public final class SantuarioPeer {
    private static final String XENC = "http://www.w3.org/2001/04/xmlenc#";
    private static final String SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/";
    private static final int LARGE = 1 << 20;

    private static final String DS = "http://www.w3.org/2000/09/xmldsig#";
    private static final String WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";

    private final DocumentBuilder builder;
    private final PrivateKey key;
    private final PublicKey signerKey;

    private SantuarioPeer(Path dir) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setNamespaceAware(true);
        f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        builder = f.newDocumentBuilder();
        String pem = Files.readString(dir.resolve("key.pem"), StandardCharsets.US_ASCII);
        String b64 = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        key = KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(b64)));
        Path signer = dir.resolve("signer.pem");
        if (Files.exists(signer)) {
            try (var in = Files.newInputStream(signer)) {
                signerKey = CertificateFactory.getInstance("X.509").generateCertificate(in).getPublicKey();
            }
        } else {
            signerKey = null;
        }
    }

    private record Entry(String name, int payload, int elements, int chars) {}

    private static Map<String, Entry> manifest(Path dir) throws Exception {
        return manifest(dir, "manifest.tsv");
    }

    private static Map<String, Entry> manifest(Path dir, String file) throws Exception {
        Map<String, Entry> m = new LinkedHashMap<>();
        for (String line : Files.readAllLines(dir.resolve(file))) {
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] f = line.split("\t");
            m.put(f[0], new Entry(f[0], Integer.parseInt(f[1]), Integer.parseInt(f[2]), Integer.parseInt(f[3])));
        }
        return m;
    }

    private Document decrypt(byte[] data) throws Exception {
        builder.reset();
        Document doc = builder.parse(new ByteArrayInputStream(data));
        Element ed = (Element) doc.getElementsByTagNameNS(XENC, "EncryptedData").item(0);
        if (ed == null) {
            throw new IllegalStateException("no EncryptedData");
        }
        XMLCipher cipher = XMLCipher.getInstance();
        cipher.init(XMLCipher.DECRYPT_MODE, null);
        cipher.setKEK(key);
        return cipher.doFinal(doc, ed);
    }

    /**
     * Verifies a signed message of signed.tsv, decrypting it before or
     * after as its name says, and returns the document.
     */
    private Document verify(String name, byte[] data) throws Exception {
        builder.reset();
        Document doc = builder.parse(new ByteArrayInputStream(data));
        if (name.startsWith("sign-then-encrypt-")) {
            decryptIn(doc);
        }
        for (String tag : new String[] {"Timestamp", "Body"}) {
            String ns = tag.equals("Body") ? SOAP11 : WSU;
            Element el = (Element) doc.getElementsByTagNameNS(ns, tag).item(0);
            if (el == null) {
                throw new IllegalStateException(name + ": no " + tag);
            }
            el.setIdAttributeNS(WSU, "Id", true);
        }
        Element sigEl = (Element) doc.getElementsByTagNameNS(DS, "Signature").item(0);
        if (sigEl == null) {
            throw new IllegalStateException(name + ": no Signature");
        }
        XMLSignature sig = new XMLSignature(sigEl, "", true);
        if (!sig.checkSignatureValue(signerKey)) {
            throw new IllegalStateException(name + ": Santuario rejects the signature");
        }
        if (name.startsWith("encrypt-then-sign-")) {
            decryptIn(doc);
        }
        return doc;
    }

    /**
     * Decrypts the EncryptedData of doc with the key of the Security
     * header's EncryptedKey, as WS-Security lays them out: XMLCipher
     * unwraps the EncryptedKey with the private key, then decrypts the
     * EncryptedData with the AES key it yields.
     */
    private void decryptIn(Document doc) throws Exception {
        Element ek = (Element) doc.getElementsByTagNameNS(XENC, "EncryptedKey").item(0);
        Element ed = (Element) doc.getElementsByTagNameNS(XENC, "EncryptedData").item(0);
        if (ek == null || ed == null) {
            throw new IllegalStateException("no EncryptedKey or EncryptedData");
        }
        XMLCipher cipher = XMLCipher.getInstance();
        cipher.init(XMLCipher.DECRYPT_MODE, null);
        String alg = cipher.loadEncryptedData(doc, ed).getEncryptionMethod().getAlgorithm();
        XMLCipher unwrap = XMLCipher.getInstance();
        unwrap.init(XMLCipher.UNWRAP_MODE, key);
        Key cek = unwrap.decryptKey(unwrap.loadEncryptedKey(doc, ek), alg);
        XMLCipher data = XMLCipher.getInstance();
        data.init(XMLCipher.DECRYPT_MODE, cek);
        data.doFinal(doc, ed);
    }

    /**
     * Returns the RSA operations of a signed message alone: the JCE
     * SHA256withRSA verification of its canonical SignedInfo, and the
     * RSA-OAEP decryption of its EncryptedKey if it is encrypted.
     */
    private Callable<Object> signedRSAOps(Path dir, String name, byte[] data) throws Exception {
        byte[] si = Files.readAllBytes(dir.resolve(name + ".signedinfo"));
        byte[] value = Files.readAllBytes(dir.resolve(name + ".sigvalue"));
        Callable<byte[]> oaep = name.startsWith("signed-") ? null : rsaOp(data);
        Callable<Object> op = () -> {
            Signature v = Signature.getInstance("SHA256withRSA");
            v.initVerify(signerKey);
            v.update(si);
            if (!v.verify(value)) {
                throw new IllegalStateException(name + ": the JCE rejects the signature value");
            }
            return oaep == null ? null : oaep.call();
        };
        op.call();
        return op;
    }

    private void timeSigned(Path dir, int warmup, int n, int largeWarmup, int largeN) throws Exception {
        for (Entry e : manifest(dir, "signed.tsv").values()) {
            byte[] data = Files.readAllBytes(dir.resolve(e.name() + ".xml"));
            check(e, verify(e.name(), data));
            boolean large = e.payload() >= LARGE;
            int w = large ? largeWarmup : warmup;
            int k = large ? largeN : n;
            if (!large) {
                double[] p = paired(w, k, () -> verify(e.name(), data), signedRSAOps(dir, e.name(), data));
                emit("verify", e.name(), "median_us", p[0], "n", k);
                emit("verify-rsa", e.name(), "median_us", p[1], "n", k);
                emit("verify-overhead", e.name(), "median_us", p[2], "n", k);
            } else {
                emit("verify", e.name(), "median_us", median(w, k, () -> verify(e.name(), data)), "n", k);
            }
        }
    }

    private void peakRSSSigned(Path dir, String name, String small) throws Exception {
        Map<String, Entry> m = manifest(dir, "signed.tsv");
        Entry e = m.get(name);
        if (e == null || !m.containsKey(small)) {
            throw new IllegalArgumentException(name + " or " + small + " is not in signed.tsv");
        }
        verify(small, Files.readAllBytes(dir.resolve(small + ".xml")));
        long base = vmHWM();
        Document doc = verify(name, Files.readAllBytes(dir.resolve(name + ".xml")));
        long peak = vmHWM();
        check(e, doc);
        emit("rss", name, "baseline_kb", base, "peak_kb", peak);
    }

    private static void check(Entry e, Document doc) {
        Node body = doc.getElementsByTagNameNS(SOAP11, "Body").item(0);
        int[] counts = new int[2];
        count(body, counts);
        if (counts[0] != e.elements() || counts[1] != e.chars()) {
            throw new IllegalStateException(String.format(
                    "%s: decrypted Body has %d elements and %d characters, want %d and %d",
                    e.name(), counts[0], counts[1], e.elements(), e.chars()));
        }
    }

    private static void count(Node n, int[] counts) {
        for (Node c = n.getFirstChild(); c != null; c = c.getNextSibling()) {
            switch (c.getNodeType()) {
                case Node.ELEMENT_NODE -> {
                    counts[0]++;
                    count(c, counts);
                }
                case Node.TEXT_NODE, Node.CDATA_SECTION_NODE -> {
                    String s = c.getNodeValue();
                    counts[1] += s.codePointCount(0, s.length());
                }
                default -> {
                }
            }
        }
    }

    private static double median(int warmup, int n, Callable<?> f) throws Exception {
        for (int i = 0; i < warmup; i++) {
            f.call();
        }
        double[] ts = new double[n];
        for (int i = 0; i < n; i++) {
            long start = System.nanoTime();
            f.call();
            ts[i] = (System.nanoTime() - start) / 1e3;
        }
        return middle(ts);
    }

    private static void emit(String what, String file, Object... kv) {
        StringBuilder b = new StringBuilder("{\"impl\": \"santuario\", \"what\": \"").append(what).append('"');
        if (file != null) {
            b.append(", \"file\": \"").append(file).append('"');
        }
        for (int i = 0; i < kv.length; i += 2) {
            b.append(", \"").append(kv[i]).append("\": ").append(kv[i + 1]);
        }
        System.out.println(b.append('}'));
    }

    /** Returns the JCE RSA-OAEP decryption of the message's EncryptedKey, as XMLCipher performs it. */
    private Callable<byte[]> rsaOp(byte[] data) throws Exception {
        builder.reset();
        Document doc = builder.parse(new ByteArrayInputStream(data));
        Element ek = (Element) doc.getElementsByTagNameNS(XENC, "EncryptedKey").item(0);
        Element cv = (Element) ek.getElementsByTagNameNS(XENC, "CipherValue").item(0);
        byte[] ct = Base64.getMimeDecoder().decode(cv.getTextContent());
        OAEPParameterSpec spec = new OAEPParameterSpec("SHA-1", "MGF1", MGF1ParameterSpec.SHA1, PSource.PSpecified.DEFAULT);
        return () -> {
            Cipher c = Cipher.getInstance("RSA/ECB/OAEPPadding");
            c.init(Cipher.DECRYPT_MODE, key, spec);
            return c.doFinal(ct);
        };
    }

    /**
     * Runs a and b alternately, warmup times untimed and n times timed, and
     * returns the medians of a's durations, of b's, and of a - b per pair.
     */
    private static double[] paired(int warmup, int n, Callable<?> a, Callable<?> b) throws Exception {
        for (int i = 0; i < warmup; i++) {
            a.call();
            b.call();
        }
        double[] ta = new double[n], tb = new double[n], td = new double[n];
        for (int i = 0; i < n; i++) {
            long start = System.nanoTime();
            a.call();
            long mid = System.nanoTime();
            b.call();
            long end = System.nanoTime();
            ta[i] = (mid - start) / 1e3;
            tb[i] = (end - mid) / 1e3;
            td[i] = ta[i] - tb[i];
        }
        return new double[] {middle(ta), middle(tb), middle(td)};
    }

    private static double middle(double[] v) {
        Arrays.sort(v);
        int n = v.length;
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }

    private void timeAll(Path dir, int warmup, int n, int largeWarmup, int largeN) throws Exception {
        boolean rsaDone = false;
        for (Entry e : manifest(dir).values()) {
            byte[] data = Files.readAllBytes(dir.resolve(e.name() + ".xml"));
            check(e, decrypt(data));
            boolean large = e.payload() >= LARGE;
            int w = large ? largeWarmup : warmup;
            int k = large ? largeN : n;
            if (!rsaDone && !large) {
                // On the first small message, alternate whole decryptions
                // with the RSA operation alone, so that both see the same
                // machine and their difference, the XML overhead, is not
                // swamped by changes in load between two separate loops.
                double[] p = paired(w, k, () -> decrypt(data), rsaOp(data));
                emit("decrypt", e.name(), "median_us", p[0], "n", k);
                emit("rsa", null, "median_us", p[1], "n", k);
                emit("overhead", e.name(), "median_us", p[2], "n", k);
                rsaDone = true;
            } else {
                emit("decrypt", e.name(), "median_us", median(w, k, () -> decrypt(data)), "n", k);
            }
        }
    }

    private static long vmHWM() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) {
                return Long.parseLong(line.substring(6).trim().split("\\s+")[0]);
            }
        }
        throw new IllegalStateException("no VmHWM in /proc/self/status");
    }

    private void peakRSS(Path dir, String name, String small) throws Exception {
        Map<String, Entry> m = manifest(dir);
        Entry e = m.get(name);
        if (e == null || !m.containsKey(small)) {
            throw new IllegalArgumentException(name + " or " + small + " is not in the manifest");
        }
        decrypt(Files.readAllBytes(dir.resolve(small + ".xml")));
        long base = vmHWM();
        Document doc = decrypt(Files.readAllBytes(dir.resolve(name + ".xml")));
        long peak = vmHWM();
        check(e, doc);
        emit("rss", name, "baseline_kb", base, "peak_kb", peak);
    }

    public static void main(String[] args) throws Exception {
        org.apache.xml.security.Init.init();
        if (args.length >= 2 && args[0].equals("time")) {
            int[] c = {2000, 500, 2, 5};
            for (int i = 2; i < args.length && i < 6; i++) {
                c[i - 2] = Integer.parseInt(args[i]);
            }
            Path dir = Path.of(args[1]);
            new SantuarioPeer(dir).timeAll(dir, c[0], c[1], c[2], c[3]);
        } else if (args.length >= 2 && args[0].equals("signed-time")) {
            int[] c = {2000, 500, 2, 5};
            for (int i = 2; i < args.length && i < 6; i++) {
                c[i - 2] = Integer.parseInt(args[i]);
            }
            Path dir = Path.of(args[1]);
            new SantuarioPeer(dir).timeSigned(dir, c[0], c[1], c[2], c[3]);
        } else if (args.length >= 3 && args[0].equals("signed-rss")) {
            Path dir = Path.of(args[1]);
            new SantuarioPeer(dir).peakRSSSigned(dir, args[2], args.length > 3 ? args[3] : "sign-then-encrypt-records-1KB");
        } else if (args.length >= 3 && args[0].equals("rss")) {
            Path dir = Path.of(args[1]);
            new SantuarioPeer(dir).peakRSS(dir, args[2], args.length > 3 ? args[3] : "records-1KB-AES256GCM");
        } else {
            System.err.println("usage: SantuarioPeer [signed-]time DIR [WARMUP N LARGE_WARMUP LARGE_N] | [signed-]rss DIR NAME [SMALL]");
            System.exit(2);
        }
    }
}
