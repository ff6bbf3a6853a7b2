// t/interop/ssession_peer.js: the real Themis (wasm-themis 0.15.0) Secure Session as an
// Acra 0.82 peer: LE32 length-prefixed frames, the client id in the first frame.
//
//   node ssession_peer.js keygen DIR                      write key pairs client/server/rogue
//   node ssession_peer.js server DIR CLIENT_ID [OWNKEY]   listen, print "port N", echo data
//   node ssession_peer.js client DIR CLIENT_ID PORT [OWNKEY]  send messages, check echoes
//
// Exit 0 on success, 3 when the handshake fails or the peer closes during it, 1 otherwise.
'use strict';
globalThis.fetch = undefined; // wasm-themis' loader must read the .wasm file from disk
const themis = require('wasm-themis');
const fs = require('fs');
const net = require('net');
const path = require('path');

const [mode, dir, clientId, arg4, arg5] = process.argv.slice(2);

function frame(buf) {
	const h = Buffer.alloc(4);
	h.writeUInt32LE(buf.length, 0);
	return Buffer.concat([h, Buffer.from(buf)]);
}

// Frame reader over a socket: next() resolves with one frame payload, or null on EOF.
function reader(sock) {
	let pending = Buffer.alloc(0), waiter = null, ended = false;
	const tryResolve = () => {
		if (!waiter) return;
		if (pending.length >= 4) {
			const n = pending.readUInt32LE(0);
			if (pending.length >= 4 + n) {
				const f = pending.subarray(4, 4 + n);
				pending = pending.subarray(4 + n);
				const w = waiter; waiter = null; w(f);
				return;
			}
		}
		if (ended) { const w = waiter; waiter = null; w(null); }
	};
	sock.on('data', d => { pending = Buffer.concat([pending, d]); tryResolve(); });
	sock.on('end', () => { ended = true; tryResolve(); });
	sock.on('close', () => { ended = true; tryResolve(); });
	sock.on('error', () => { ended = true; tryResolve(); });
	return { next: () => new Promise(r => { waiter = r; tryResolve(); }) };
}

const load = name => fs.readFileSync(path.join(dir, name));

async function server(ownKey) {
	const srv = net.createServer(async sock => {
		srv.close();
		const rd = reader(sock);
		let code = 1;
		try {
			const hello = await rd.next();
			if (hello === null) throw Object.assign(new Error('no client id'), { refused: true });
			const id = Buffer.from(hello);
			const clientPub = new themis.PublicKey(load('client.pub'));
			const session = new themis.SecureSession(id, new themis.PrivateKey(load(ownKey + '.priv')),
				peer => (Buffer.from(peer).equals(id) ? clientPub : null));
			while (!session.established()) {
				const f = await rd.next();
				if (f === null) throw Object.assign(new Error('closed during the handshake'), { refused: true });
				let reply;
				try { reply = session.negotiateReply(f); } catch (e) {
					throw Object.assign(e, { refused: true });
				}
				if (reply.length > 0) sock.write(frame(reply));
			}
			console.log('established peer=' + id.toString());
			let n = 0;
			for (;;) {
				const f = await rd.next();
				if (f === null) break;
				sock.write(frame(session.wrap(session.unwrap(f))));
				n++;
			}
			console.log('echoed ' + n);
			code = 0;
		} catch (e) {
			console.log('refused: ' + e.message + (e.errorCode !== undefined ? ' (' + e.errorCode + ')' : ''));
			code = e.refused ? 3 : 1;
		}
		sock.destroy();
		process.exit(code);
	});
	srv.listen(0, '127.0.0.1', () => console.log('port ' + srv.address().port));
}

async function client(port, ownKey) {
	const sock = net.connect(port, '127.0.0.1');
	await new Promise((res, rej) => { sock.once('connect', res); sock.once('error', rej); });
	const rd = reader(sock);
	const serverPub = new themis.PublicKey(load('server.pub'));
	const session = new themis.SecureSession(Buffer.from(clientId),
		new themis.PrivateKey(load(ownKey + '.priv')), () => serverPub);
	sock.write(frame(Buffer.from(clientId)));
	sock.write(frame(session.connectionRequest()));
	while (!session.established()) {
		const f = await rd.next();
		if (f === null) { console.log('refused: closed during the handshake'); return 3; }
		let reply;
		try { reply = session.negotiateReply(f); } catch (e) {
			console.log('refused: ' + e.message); return 3;
		}
		if (reply.length > 0) sock.write(frame(reply));
	}
	console.log('established');
	const sizes = [1, 17, 999, 8192, 65537, 3];
	for (let i = 0; i < sizes.length; i++) {
		const msg = Buffer.alloc(sizes[i]);
		for (let j = 0; j < msg.length; j++) msg[j] = (i * 31 + j) & 0xff;
		sock.write(frame(session.wrap(msg)));
		const f = await rd.next();
		if (f === null) { console.log('echo ' + i + ' lost'); return 1; }
		const back = Buffer.from(session.unwrap(f));
		if (!back.equals(msg)) { console.log('echo ' + i + ' differs'); return 1; }
	}
	console.log('ok ' + sizes.length);
	sock.end();
	return 0;
}

(async () => {
	await themis.initialized;
	if (mode === 'keygen') {
		for (const name of ['client', 'server', 'rogue']) {
			const kp = new themis.KeyPair();
			fs.writeFileSync(path.join(dir, name + '.priv'), kp.privateKey, { mode: 0o600 });
			fs.writeFileSync(path.join(dir, name + '.pub'), kp.publicKey);
		}
		return;
	}
	if (mode === 'server') return server(arg4 || 'server');
	if (mode === 'client') process.exit(await client(Number(arg4), arg5 || 'client'));
	console.error('usage: ssession_peer.js keygen DIR | server DIR ID [KEY] | client DIR ID PORT [KEY]');
	process.exit(2);
})().catch(e => { console.error(e); process.exit(1); });
