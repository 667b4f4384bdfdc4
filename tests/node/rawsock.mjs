// A raw TCP / UNIX-socket client for tests that need exact bytes on the wire (PROXY protocol
// headers, half-sent input, idle connections).
//
//   node rawsock.mjs [--local ADDR] [--hold MS] [--timeout MS] TARGET PART...
//
// TARGET is HOST:PORT or a UNIX socket path. Each PART is sent in order:
//   hex:0d0a...      bytes in hex
//   text:GET /...    text, with \r \n \t \\ \0 escapes
//   sleep:MS         a pause between writes
// After the last part the client keeps the connection open (without writing) until the peer
// closes it or --timeout MS (default 10000) passes; with --hold MS it closes after that long.
// It prints one JSON line: {connected, bytes, closed_by_peer, reset, elapsed_ms, text}, where
// elapsed_ms counts from the end of sending to the peer's close, and text is what was received.
import net from 'node:net';

const args = process.argv.slice(2);
let local, hold, timeout = 10000;
while (args.length && args[0].startsWith('--')) {
    const opt = args.shift();
    if (opt === '--local') local = args.shift();
    else if (opt === '--hold') hold = Number(args.shift());
    else if (opt === '--timeout') timeout = Number(args.shift());
    else throw new Error(`unknown option ${opt}`);
}
const target = args.shift();
const parts = args;

function unescape(s) {
    return s.replace(/\\(.)/g, (_, c) => ({ r: '\r', n: '\n', t: '\t', '0': '\0', '\\': '\\' })[c] ?? c);
}

const opts = target.startsWith('/')
    ? { path: target }
    : { host: target.slice(0, target.lastIndexOf(':')), port: Number(target.slice(target.lastIndexOf(':') + 1)), localAddress: local };

const result = { connected: false, bytes: 0, closed_by_peer: false, reset: false, elapsed_ms: null, text: '' };
const chunks = [];
let sentAt = Date.now();
let done = false;

const sock = net.connect(opts);
const finish = () => {
    if (done) return;
    done = true;
    const buf = Buffer.concat(chunks);
    result.bytes = buf.length;
    result.text = buf.toString('latin1').slice(0, 4000);
    console.log(JSON.stringify(result));
    sock.destroy();
    process.exit(0);
};

sock.on('data', (d) => chunks.push(d));
sock.on('end', () => { result.closed_by_peer = true; result.elapsed_ms = Date.now() - sentAt; finish(); });
sock.on('close', () => { if (!done) { result.closed_by_peer = true; result.elapsed_ms ??= Date.now() - sentAt; finish(); } });
sock.on('error', (e) => {
    if (e.code === 'ECONNRESET' || e.code === 'EPIPE') { result.reset = true; result.closed_by_peer = true; result.elapsed_ms = Date.now() - sentAt; finish(); }
    else { result.error = e.code || e.message; finish(); }
});

sock.on('connect', async () => {
    result.connected = true;
    for (const p of parts) {
        if (p.startsWith('hex:')) sock.write(Buffer.from(p.slice(4), 'hex'));
        else if (p.startsWith('text:')) sock.write(Buffer.from(unescape(p.slice(5)), 'latin1'));
        else if (p.startsWith('sleep:')) await new Promise((r) => setTimeout(r, Number(p.slice(6))));
        else throw new Error(`bad part ${p}`);
        if (done) return;
    }
    sentAt = Date.now();
    if (hold !== undefined) setTimeout(finish, hold);
    setTimeout(() => { result.timed_out = true; finish(); }, timeout);
});
