// t/interop/themis.js: the commands of t/interop/themis_tool.c, done by wasm-themis 0.15.0.
// Hex arguments and output; "-" = no context. Exit 1 with "ThemisError <code>" on stderr when
// Themis refuses, 2 on usage errors. NODE_PATH must point at the wasm-themis install.
globalThis.fetch = undefined; // the Emscripten loader would try fetch() on Node >= 18
const themis = require('wasm-themis');

const hex = (b) => Buffer.from(b).toString('hex');
const arg = (h) => (h === '-' ? undefined : Buffer.from(h, 'hex'));

function run(cmd, a) {
  const ctx = a.length > 1 ? arg(a[1]) : undefined;
  switch (cmd) {
    case 'keygen': {
      const kp = new themis.KeyPair();
      return hex(kp.privateKey) + ' ' + hex(kp.publicKey);
    }
    case 'seal-enc':
      return hex(themis.SecureCellSeal.withKey(arg(a[0])).encrypt(arg(a[2]), ctx));
    case 'seal-dec':
      return hex(themis.SecureCellSeal.withKey(arg(a[0])).decrypt(arg(a[2]), ctx));
    case 'token-enc': {
      const r = themis.SecureCellTokenProtect.withKey(arg(a[0])).encrypt(arg(a[2]), ctx);
      return hex(r.token) + ' ' + hex(r.data);
    }
    case 'token-dec':
      return hex(themis.SecureCellTokenProtect.withKey(arg(a[0])).decrypt(arg(a[2]), arg(a[3]), ctx));
    case 'imprint':
      return hex(themis.SecureCellContextImprint.withKey(arg(a[0])).encrypt(arg(a[2]), ctx));
    case 'pass-enc':
      return hex(themis.SecureCellSeal.withPassphrase(arg(a[0]).toString('utf8')).encrypt(arg(a[2]), ctx));
    case 'pass-dec':
      return hex(themis.SecureCellSeal.withPassphrase(arg(a[0]).toString('utf8')).decrypt(arg(a[2]), ctx));
    case 'sm-enc':
    case 'sm-dec': {
      const kp = new themis.KeyPair(new themis.PrivateKey(arg(a[0])), new themis.PublicKey(arg(a[1])));
      const sm = new themis.SecureMessage(kp);
      return hex(cmd === 'sm-enc' ? sm.encrypt(arg(a[2])) : sm.decrypt(arg(a[2])));
    }
    case 'sign':
      return hex(new themis.SecureMessageSign(new themis.PrivateKey(arg(a[0]))).sign(arg(a[1])));
    case 'verify':
      return hex(new themis.SecureMessageVerify(new themis.PublicKey(arg(a[0]))).verify(arg(a[1])));
    case 'check-priv':
      new themis.PrivateKey(arg(a[0]));
      return 'ok';
    case 'check-pub':
      new themis.PublicKey(arg(a[0]));
      return 'ok';
    default:
      process.stderr.write('themis.js: unknown command ' + cmd + '\n');
      process.exit(2);
  }
}

themis.initialized.then(() => {
  try {
    process.stdout.write(run(process.argv[2], process.argv.slice(3)) + '\n');
  } catch (e) {
    process.stderr.write('ThemisError ' + (e.errorCode !== undefined ? e.errorCode : e.message) + '\n');
    process.exit(1);
  }
});
