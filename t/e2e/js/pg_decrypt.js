// t/e2e/js/pg_decrypt.js: node-postgres through acra server: simple and extended queries
// (text format), binary result format through a raw pg Query with binary: true, and a
// prepared statement reused; clientA's values decrypted, clientB's unchanged.
// usage: node pg_decrypt.js PORT USER PASSWORD DB   (PA_S, PA_B, B_HEX from the env)
'use strict';
const { Client } = require('pg');

const [port, user, password, database] = process.argv.slice(2);
const PA_S = Buffer.from(process.env.PA_S);
const PA_B = Buffer.from(process.env.PA_B);
const B_HEX = process.env.B_HEX;

function expect(got, want, what) {
  if (!Buffer.isBuffer(got) || !got.equals(want)) {
    console.error(`not ok - ${what}: got ${got && got.toString('hex').slice(0, 80)}`);
    process.exit(1);
  }
  console.log(`ok - ${what}`);
}

(async () => {
  const c = new Client({ host: '127.0.0.1', port: +port, user, password, database, ssl: false });
  await c.connect();
  let r = await c.query('SELECT b FROM enc WHERE id = 1');
  expect(r.rows[0].b, PA_S, 'node-postgres simple query: AcraStruct decrypted');
  r = await c.query('SELECT b FROM enc WHERE id = $1', [2]);
  expect(r.rows[0].b, PA_B, 'node-postgres extended query: AcraBlock decrypted');
  r = await c.query({ text: 'SELECT b FROM enc WHERE id = $1', values: [1], binary: true });
  // pg-types has no binary bytea parser: the raw bytes come back as a latin1 string
  const bin = r.rows[0].b;
  expect(Buffer.isBuffer(bin) ? bin : Buffer.from(bin, 'latin1'), PA_S,
    'node-postgres binary result format: AcraStruct decrypted');
  r = await c.query('SELECT b FROM enc WHERE id = $1', [3]);
  expect(r.rows[0].b, Buffer.from(B_HEX, 'hex'), "node-postgres: clientB's value unchanged");
  for (let i = 0; i < 200; i++) {
    r = await c.query({ name: 'sel', text: 'SELECT b FROM enc WHERE id = $1', values: [1 + (i % 2)] });
    const want = i % 2 === 0 ? PA_S : PA_B;
    if (!r.rows[0].b.equals(want)) {
      console.error(`not ok - named prepared statement run ${i}`);
      process.exit(1);
    }
  }
  console.log('ok - node-postgres named prepared statement reused 200 times');
  await c.end();
})().catch((e) => {
  console.error('not ok - node-postgres: ' + e);
  process.exit(1);
});
