// t/interop/acra_client.js: the real Themis (wasm-themis 0.15.0) Secure Session acting as
// an Acra 0.82 AcraConnector toward `acra server`: client id frame, handshake, then a byte
// stream of TOTAL bytes in messages of varied sizes; the server's answer (an echo
// "database" behind it) is read as a stream (frames may be split or merged differently)
// and compared.
//
//   node acra_client.js DIR CLIENT_ID PORT TOTAL [OWNKEY]
//
// DIR holds OWNKEY.priv (default client) and server.pub. Exit 0 when every byte came back,
// 3 when the handshake fails or the server closes during it, 1 otherwise.
'use strict';
globalThis.fetch = undefined;
const themis = require('wasm-themis');
const fs = require('fs');
const net = require('net');
const path = require('path');

const [dir, clientId, port, total, ownKey] = process.argv.slice(2);
const load = name => fs.readFileSync(path.join(dir, name));

function frame(buf) {
	const h = Buffer.alloc(4);
	h.writeUInt32LE(buf.length, 0);
	return Buffer.concat([h, Buffer.from(buf)]);
}

(async () => {
	await themis.initialized;
	const sock = net.connect(Number(port), '127.0.0.1');
	await new Promise((res, rej) => { sock.once('connect', res); sock.once('error', rej); });
	const session = new themis.SecureSession(Buffer.from(clientId),
		new themis.PrivateKey(load((ownKey || 'client') + '.priv')),
		() => new themis.PublicKey(load('server.pub')));
	let pending = Buffer.alloc(0), ended = false, wake = null;
	sock.on('data', d => { pending = Buffer.concat([pending, d]); if (wake) wake(); });
	const done = () => { ended = true; if (wake) wake(); };
	sock.on('end', done); sock.on('close', done); sock.on('error', done);
	const next = async () => {
		for (;;) {
			if (pending.length >= 4) {
				const n = pending.readUInt32LE(0);
				if (pending.length >= 4 + n) {
					const f = pending.subarray(4, 4 + n);
					pending = pending.subarray(4 + n);
					return f;
				}
			}
			if (ended) return null;
			await new Promise(r => { wake = r; });
			wake = null;
		}
	};
	sock.write(frame(Buffer.from(clientId)));
	sock.write(frame(session.connectionRequest()));
	while (!session.established()) {
		const f = await next();
		if (f === null) { console.log('refused: closed during the handshake'); process.exit(3); }
		let reply;
		try { reply = session.negotiateReply(f); } catch (e) {
			console.log('refused: ' + e.message); process.exit(3);
		}
		if (reply.length > 0) sock.write(frame(reply));
	}
	console.log('established');
	const want = Buffer.alloc(Number(total));
	for (let i = 0; i < want.length; i++) want[i] = (i * 7 + 5) & 0xff;
	const sizes = [1, 5, 999, 8192, 65537, 100000, 3];
	for (let off = 0, k = 0; off < want.length; k++) {
		const n = Math.min(sizes[k % sizes.length], want.length - off);
		sock.write(frame(session.wrap(want.subarray(off, off + n))));
		off += n;
	}
	const parts = [];
	let got = 0;
	while (got < want.length) {
		const f = await next();
		if (f === null) break;
		const pt = Buffer.from(session.unwrap(f));
		parts.push(pt);
		got += pt.length;
	}
	const back = Buffer.concat(parts);
	if (!back.equals(want)) { console.log('stream differs: got ' + back.length + ' bytes'); process.exit(1); }
	console.log('ok ' + back.length + ' bytes in ' + parts.length + ' frames');
	sock.end();
	process.exit(0);
})().catch(e => { console.error(e); process.exit(1); });
