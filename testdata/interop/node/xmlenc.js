#!/usr/bin/env node
// Drives the npm package xml-encryption to produce and consume encrypted SOAP
// messages for wsrenew's interoperability vectors and live tests.
//
// xml-encryption encrypts a string and returns one xenc:EncryptedData with the
// xenc:EncryptedKey inside its ds:KeyInfo (key named by ds:X509Certificate);
// it knows nothing of SOAP. This script does what a Node SOAP service using it
// does: it cuts the Body's payload out of the envelope text, encrypts it, and
// puts the EncryptedData where the payload was. No wsse:Security header is
// written.
//
// Usage:
//   node xmlenc.js batch FILE|-     one JSON job per line; prints "ok N" or
//                                   "FAIL N: reason" per line, exits 1 if any failed
//   node xmlenc.js job '<json>'     one job
//
// Jobs:
//   {"op":"encrypt","in":FILE,"out":FILE,"cert":PEM,
//    "kt":"rsa-oaep-mgf1p"|"rsa-oaep"|"rsa-1_5", "digest":"sha1"|"sha256"|"sha512",
//    "mgf":"sha1"|"sha224"|"sha256"|"sha384"|"sha512" (rsa-oaep only),
//    "label": base64 OAEP label, written as xenc:OAEPparams,
//    "data":"aes128-cbc"|"aes256-cbc"|"aes128-gcm"|"aes256-gcm"|"tripledes-cbc",
//    "part":"element"|"content"}
//     "element" encrypts the Body's child element (Type Element, as the
//     library writes it); "content" encrypts the Body's whole content, white
//     space included, and sets Type to Content, since the library always writes
//     Type Element.
//   {"op":"decrypt","in":FILE,"out":FILE,"keys":[PEM,...]}
//     Decrypts every EncryptedData in document order, trying the keys in
//     order, and replaces each EncryptedData with its plaintext.
'use strict';

const fs = require('fs');
const xmlenc = require('xml-encryption');

const XENC = 'http://www.w3.org/2001/04/xmlenc#';
const XENC11 = 'http://www.w3.org/2009/xmlenc11#';

const keyTransports = {
  'rsa-oaep-mgf1p': XENC + 'rsa-oaep-mgf1p',
  'rsa-oaep': XENC11 + 'rsa-oaep',
  'rsa-1_5': XENC + 'rsa-1_5',
};

const dataEncryptions = {
  'aes128-cbc': XENC + 'aes128-cbc',
  'aes256-cbc': XENC + 'aes256-cbc',
  'aes128-gcm': XENC11 + 'aes128-gcm',
  'aes256-gcm': XENC11 + 'aes256-gcm',
  'tripledes-cbc': XENC + 'tripledes-cbc',
};

function lookup(table, name, what) {
  if (table[name]) return table[name];
  // Any other URI goes to the library as it is, so that it can refuse it.
  if (name.includes('#')) return name;
  throw new Error('unknown ' + what + ' ' + name);
}

// bodyRange returns the offsets of the SOAP Body's content in the envelope text.
function bodyRange(xml) {
  const env = /<(?:([A-Za-z_][\w.-]*):)?Envelope[\s>]/.exec(xml);
  if (!env) throw new Error('no SOAP Envelope');
  const p = env[1] ? env[1] + ':' : '';
  const open = new RegExp('<' + p + 'Body(?:\\s[^>]*)?>').exec(xml);
  if (!open) throw new Error('no SOAP Body');
  const start = open.index + open[0].length;
  const end = xml.indexOf('</' + p + 'Body>', start);
  if (end < 0) throw new Error('no end of SOAP Body');
  return [start, end];
}

function encryptJob(job) {
  const xml = fs.readFileSync(job.in, 'utf8');
  const [start, end] = bodyRange(xml);
  let from = start;
  let to = end;
  const part = job.part || 'element';
  if (part === 'element') {
    while (/\s/.test(xml[from])) from++;
    while (/\s/.test(xml[to - 1])) to--;
  } else if (part !== 'content') {
    throw new Error('part must be element or content');
  }
  const cert = fs.readFileSync(job.cert);
  const options = {
    rsa_pub: cert,
    pem: cert,
    encryptionAlgorithm: lookup(dataEncryptions, job.data || 'aes256-gcm', 'data encryption'),
    keyEncryptionAlgorithm: lookup(keyTransports, job.kt || 'rsa-oaep-mgf1p', 'key transport'),
    // CBC, 3DES and RSA-1_5 are refused unless this is set; the vectors
    // include them on purpose.
    disallowEncryptionWithInsecureAlgorithm: false,
    warnInsecureAlgorithm: false,
  };
  if (job.digest) options.keyEncryptionDigest = job.digest;
  if (job.mgf) options.keyEncryptionMgf = job.mgf;
  if (job.label) options.keyEncryptionOaepParams = job.label;
  return new Promise((resolve, reject) => {
    xmlenc.encrypt(xml.slice(from, to), options, (err, encrypted) => {
      if (err) return reject(err);
      let ed = encrypted.trim();
      if (part === 'content') {
        const el = 'Type="' + XENC + 'Element"';
        if (!ed.includes(el)) return reject(new Error('EncryptedData without Type Element'));
        ed = ed.replace(el, 'Type="' + XENC + 'Content"');
      }
      fs.writeFileSync(job.out, xml.slice(0, from) + ed + xml.slice(to));
      resolve();
    });
  });
}

function decryptOnce(xml, key) {
  return new Promise((resolve, reject) => {
    xmlenc.decrypt(xml, {
      key: key,
      disallowDecryptionWithInsecureAlgorithm: false,
      warnInsecureAlgorithm: false,
    }, (err, plain) => (err ? reject(err) : resolve(plain)));
  });
}

// encryptedDataRange finds the first EncryptedData element of the text.
function encryptedDataRange(xml) {
  const open = /<(?:([A-Za-z_][\w.-]*):)?EncryptedData[\s>]/.exec(xml);
  if (!open) return null;
  const p = open[1] ? open[1] + ':' : '';
  const close = '</' + p + 'EncryptedData>';
  const end = xml.indexOf(close, open.index);
  if (end < 0) throw new Error('unterminated EncryptedData');
  return [open.index, end + close.length];
}

async function decryptJob(job) {
  let xml = fs.readFileSync(job.in, 'utf8');
  const keys = (job.keys || []).map((k) => fs.readFileSync(k));
  if (keys.length === 0) throw new Error('no keys');
  let count = 0;
  for (let r = encryptedDataRange(xml); r; r = encryptedDataRange(xml)) {
    if (++count > 16) throw new Error('too many EncryptedData elements');
    // xml-encryption reads the first EncryptedData of the document it is
    // given, so hand it the one element on its own.
    const ed = xml.slice(r[0], r[1]);
    let plain = null;
    const errors = [];
    for (const key of keys) {
      try {
        plain = await decryptOnce(withNamespaces(xml, ed), key);
        break;
      } catch (e) {
        errors.push(e.message);
      }
    }
    if (plain === null) throw new Error('no key decrypts: ' + errors.join('; '));
    xml = xml.slice(0, r[0]) + plain + xml.slice(r[1]);
  }
  if (count === 0) throw new Error('no EncryptedData in message');
  fs.writeFileSync(job.out, xml);
}

// withNamespaces returns the EncryptedData as a document of its own, with the
// namespace declarations of the envelope's root element copied onto it so
// that prefixes it inherits stay bound.
function withNamespaces(xml, ed) {
  const root = /<[^?!][^>]*>/.exec(xml);
  const decls = root ? root[0].match(/\sxmlns(?::[\w.-]+)?="[^"]*"/g) || [] : [];
  const tag = /^<[^\s>/]+/.exec(ed)[0];
  const own = ed.slice(0, ed.indexOf('>'));
  const extra = decls.filter((d) => !own.includes(d.trim().split('=')[0] + '='));
  return tag + extra.join('') + ed.slice(tag.length);
}

async function runJob(job) {
  switch (job.op) {
    case 'encrypt':
      return encryptJob(job);
    case 'decrypt':
      return decryptJob(job);
    default:
      throw new Error('unknown op ' + job.op);
  }
}

async function main(argv) {
  if (argv[0] === 'job' && argv.length === 2) {
    await runJob(JSON.parse(argv[1]));
    return 0;
  }
  if (argv[0] !== 'batch' || argv.length !== 2) {
    process.stderr.write('usage: node xmlenc.js batch FILE|- | job JSON\n');
    return 2;
  }
  const text = fs.readFileSync(argv[1] === '-' ? 0 : argv[1], 'utf8');
  const lines = text.split('\n');
  let failed = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '' || line.startsWith('#')) continue;
    try {
      await runJob(JSON.parse(line));
      process.stdout.write('ok ' + (i + 1) + '\n');
    } catch (e) {
      failed++;
      process.stdout.write('FAIL ' + (i + 1) + ': ' + String(e && e.message || e).replace(/\n/g, ' ') + '\n');
    }
  }
  return failed === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write('xmlenc.js: ' + (err && err.message || err) + '\n'); process.exitCode = 1; },
);
