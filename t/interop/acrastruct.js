// t/interop/acrastruct.js: AcraStruct and AcraBlock written from the layout in
// spec/acra-formats.md §1.1 and §3.1 over wasm-themis 0.15.0 (KeyPair, SecureMessage,
// SecureCellSeal), taking the commands of t/interop/acrastruct_tool.c. Hex arguments and
// output, "-" = no context. Exit 1 when decryption or validation fails, 2 on usage errors.
globalThis.fetch = undefined; // the Emscripten loader would try fetch() on Node >= 18
const crypto = require('crypto');
const themis = require('wasm-themis');

const hex = (b) => Buffer.from(b).toString('hex');
const arg = (h) => (h === '-' ? undefined : Buffer.from(h, 'hex'));
const TAG = Buffer.alloc(8, 0x22);

function le64(n) {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

function asEnc(pub, ctx, pt) {
  const eph = new themis.KeyPair();
  const k = crypto.randomBytes(32);
  const sm = new themis.SecureMessage(new themis.KeyPair(eph.privateKey, new themis.PublicKey(pub)));
  const wrapped = Buffer.from(sm.encrypt(k));
  const data = Buffer.from(themis.SecureCellSeal.withKey(k).encrypt(pt, ctx));
  return Buffer.concat([TAG, Buffer.from(eph.publicKey), wrapped, le64(data.length), data]);
}

function asDec(priv, ctx, as) {
  if (as.length < 145) throw new Error('incorrect length');
  if (!as.subarray(0, 8).equals(TAG)) throw new Error('incorrect TagBegin');
  if (as.readBigUInt64LE(137) !== BigInt(as.length - 145)) throw new Error('incorrect data length');
  const sm = new themis.SecureMessage(
    new themis.KeyPair(new themis.PrivateKey(priv), new themis.PublicKey(as.subarray(8, 53))));
  const k = Buffer.from(sm.decrypt(as.subarray(53, 137)));
  return themis.SecureCellSeal.withKey(k).decrypt(as.subarray(145), ctx);
}

function keyId(kek, ctx) {
  return crypto.createHash('sha256').update(Buffer.concat([kek, ctx || Buffer.alloc(0)])).digest().subarray(0, 2);
}

function abEnc(kek, ctx, pt) {
  const dek = crypto.randomBytes(32);
  const edek = Buffer.from(themis.SecureCellSeal.withKey(kek).encrypt(dek, ctx));
  const edata = Buffer.from(themis.SecureCellSeal.withKey(dek).encrypt(pt, ctx));
  const hdr = Buffer.alloc(18);
  hdr.fill(0x22, 0, 4);
  hdr.writeBigUInt64LE(BigInt(14 + edek.length + edata.length), 4);
  hdr[12] = 0;
  keyId(kek, ctx).copy(hdr, 13);
  hdr[15] = 0;
  hdr.writeUInt16LE(edek.length, 16);
  return Buffer.concat([hdr, edek, edata]);
}

function abDec(kek, ctx, b) {
  if (b.length < 18 || !b.subarray(0, 4).equals(Buffer.alloc(4, 0x22))) throw new Error('not an AcraBlock');
  if (b.readBigUInt64LE(4) !== BigInt(b.length - 4)) throw new Error('bad length');
  if (b[12] !== 0 || b[15] !== 0) throw new Error('unknown backend');
  if (!b.subarray(13, 15).equals(keyId(kek, ctx))) throw new Error('key id mismatch');
  const l = b.readUInt16LE(16);
  const dek = Buffer.from(themis.SecureCellSeal.withKey(kek).decrypt(b.subarray(18, 18 + l), ctx));
  return themis.SecureCellSeal.withKey(dek).decrypt(b.subarray(18 + l), ctx);
}

function wrap(id, inner) {
  const h = Buffer.alloc(12);
  h.fill(0x25, 0, 3);
  h.writeBigUInt64LE(BigInt(12 + inner.length), 3);
  h[11] = id[0];
  return Buffer.concat([h, inner]);
}

function run(cmd, a) {
  switch (cmd) {
    case 'keygen': {
      const kp = new themis.KeyPair();
      return hex(kp.privateKey) + ' ' + hex(kp.publicKey);
    }
    case 'as-enc': return hex(asEnc(arg(a[0]), arg(a[1]), arg(a[2])));
    case 'as-dec': return hex(asDec(arg(a[0]), arg(a[1]), arg(a[2])));
    case 'ab-enc': return hex(abEnc(arg(a[0]), arg(a[1]), arg(a[2])));
    case 'ab-dec': return hex(abDec(arg(a[0]), arg(a[1]), arg(a[2])));
    case 'wrap': return hex(wrap(arg(a[0]), arg(a[1])));
    default:
      process.stderr.write('acrastruct.js: unknown command ' + cmd + '\n');
      process.exit(2);
  }
}

themis.initialized.then(() => {
  try {
    process.stdout.write(run(process.argv[2], process.argv.slice(3)) + '\n');
  } catch (e) {
    process.stderr.write('error ' + (e.errorCode !== undefined ? 'ThemisError ' + e.errorCode : e.message) + '\n');
    process.exit(1);
  }
});
