// t/interop/acra_client.js: the real Themis (wasm-themis 0.15.0) Secure Session acting as
// an Acra 0.82 AcraConnector toward `acra server`: client id frame, handshake, then MySQL
// traffic carrying TOTAL bytes in queries of varied sizes to a MySQL "database" that returns
// each query's bytes as a result value; the answers are read as a stream (frames may be
// split or merged differently) and compared.
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
	// The "database" behind acra server speaks MySQL (acra server parses what it relays):
	// greeting, handshake response, OK; then every chunk of the stream goes as a COM_QUERY
	// and comes back as the value of a one-row result.
	let inbuf = Buffer.alloc(0);
	const recvPacket = async () => {
		for (;;) {
			if (inbuf.length >= 4) {
				const n = inbuf.readUIntLE(0, 3);
				if (inbuf.length >= 4 + n) {
					const pkt = inbuf.subarray(4, 4 + n);
					inbuf = inbuf.subarray(4 + n);
					return pkt;
				}
			}
			const f = await next();
			if (f === null) throw new Error('closed');
			inbuf = Buffer.concat([inbuf, Buffer.from(session.unwrap(f))]);
		}
	};
	const packet = (seq, payload) => {
		const h = Buffer.alloc(4);
		h.writeUIntLE(payload.length, 0, 3);
		h[3] = seq;
		return Buffer.concat([h, payload]);
	};
	const greeting = await recvPacket();
	if (greeting[0] !== 10) { console.log('no MySQL greeting'); process.exit(1); }
	const hs = Buffer.alloc(32 + 2 + 1);
	hs.writeUInt32LE(0x00000200 | 0x00008000, 0); /* PROTOCOL_41 | SECURE_CONNECTION */
	hs.writeUInt32LE(1 << 24, 4);
	hs[8] = 33;
	hs.write('u', 32); /* user "u", NUL, empty auth data */
	sock.write(frame(session.wrap(packet(1, hs))));
	const okp = await recvPacket();
	if (okp[0] !== 0) { console.log('handshake not accepted'); process.exit(1); }
	const want = Buffer.alloc(Number(total));
	for (let i = 0; i < want.length; i++) want[i] = (i * 7 + 5) & 0xff;
	const sizes = [1, 5, 999, 8192, 65537, 100000, 3];
	const parts = [];
	let got = 0, queries = 0;
	for (let off = 0, k = 0; off < want.length; k++) {
		const n = Math.min(sizes[k % sizes.length], want.length - off);
		sock.write(frame(session.wrap(packet(0, Buffer.concat([Buffer.from([3]),
			want.subarray(off, off + n)])))));
		off += n;
		queries++;
		await recvPacket(); /* column count */
		await recvPacket(); /* column definition */
		await recvPacket(); /* EOF */
		const row = await recvPacket();
		let len, at;
		if (row[0] < 0xfb) { len = row[0]; at = 1; }
		else if (row[0] === 0xfc) { len = row.readUInt16LE(1); at = 3; }
		else { len = row.readUIntLE(1, 3); at = 4; }
		parts.push(Buffer.from(row.subarray(at, at + len)));
		got += len;
		await recvPacket(); /* EOF */
	}
	const back = Buffer.concat(parts);
	if (!back.equals(want)) { console.log('stream differs: got ' + back.length + ' bytes'); process.exit(1); }
	console.log('ok ' + back.length + ' bytes in ' + queries + ' queries');
	sock.end();
	process.exit(0);
})().catch(e => { console.error(e); process.exit(1); });
