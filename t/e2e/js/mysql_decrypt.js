// t/e2e/js/mysql_decrypt.js: node mysql2 through acra server --mysql_enable (clientA):
// execute() uses server-side prepared statements and the binary protocol, query() the text
// protocol. Arguments: ACRA_PORT DB_PORT USER DB; MYSQL_PWD, PA_S, PA_B in the environment.
// Prints one line per check; exits 1 at the first mismatch.
'use strict';
const mysql = require('mysql2/promise');

const [aport, dport, user, database] = process.argv.slice(2);
const conn = port => mysql.createConnection({
	host: '127.0.0.1', port: Number(port), user, database, password: process.env.MYSQL_PWD,
	supportBigNumbers: true, bigNumberStrings: true, dateStrings: true,
});
const eq = (got, want, what) => {
	const g = JSON.stringify(got), w = JSON.stringify(want);
	if (g !== w) {
		console.error(`${what}: got ${g.slice(0, 400)}, want ${w.slice(0, 400)}`);
		process.exit(1);
	}
	console.log('ok - ' + what);
};
const str = v => (Buffer.isBuffer(v) ? v.toString('latin1') : v);

(async () => {
	const a = await conn(aport), d = await conn(dport);
	let [rows] = await a.execute('SELECT id, b, t FROM enc WHERE id IN (?, ?) ORDER BY id', [1, 2]);
	eq(rows.map(r => [r.id, str(r.b)]), [[1, process.env.PA_S], [2, process.env.PA_B]],
		'execute(): clientA\'s AcraStruct and AcraBlock decrypted in binary rows');
	[rows] = await a.execute('SELECT b FROM enc WHERE id = ?', [2]);
	eq(str(rows[0].b), process.env.PA_B, 'execute() again on the cached statement');
	const q = 'SELECT id, b FROM enc WHERE id IN (3, 4) ORDER BY id';
	const [via] = await a.execute(q), [direct] = await d.execute(q);
	eq(via.map(r => [r.id, r.b.toString('hex')]), direct.map(r => [r.id, r.b.toString('hex')]),
		'execute(): clientB\'s envelopes unchanged');
	const t = 'SELECT * FROM types ORDER BY id';
	const [tv] = await a.execute(t), [td] = await d.execute(t);
	eq(tv, td, 'execute(): every column type (binary protocol) as direct, NULLs included');
	const [qv] = await a.query(t), [qd] = await d.query(t);
	eq(qv, qd, 'query(): every column type (text protocol) as direct');
	[rows] = await a.query('SELECT b FROM enc WHERE id = 1');
	eq(str(rows[0].b), process.env.PA_S, 'query(): AcraStruct decrypted in a text row');
	const mixed = 'SELECT id, b, ? AS tag, NULL AS n FROM enc WHERE id = ?';
	[rows] = await a.execute(mixed, ['t', 5]);
	eq(rows.map(r => [r.id, str(r.b), r.tag, r.n]), [[5, 'plain value', 't', null]],
		'execute(): plain values, a parameter and NULL pass');
	await a.changeUser({ user, password: process.env.MYSQL_PWD, database });
	[rows] = await a.execute('SELECT b FROM enc WHERE id = ?', [1]);
	eq(str(rows[0].b), process.env.PA_S, 'after COM_CHANGE_USER: execute() decrypts');
	await a.end();
	await d.end();
})().catch(e => { console.error(e); process.exit(1); });
