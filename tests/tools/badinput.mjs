// badinput: malformed HTTP/1.1 requests against every route of a masd service, for
// tests/integration/reliability.sh. Node's standard library only (raw sockets: nothing here may
// be "fixed up" by an HTTP client).
//
//   node badinput.mjs CONFIG.json >results.jsonl
//   node badinput.mjs --summary results.jsonl DIR      (see below)
//
// CONFIG: {"targets": [{"service": "masd-oauth", "host": "127.0.0.1", "port": 12345,
//            "routes": [{"resource": "compat", "path": "/_matrix/client/{version}/login",
//                        "methods": "GET, HEAD, POST, OPTIONS"}, ...],
//            "auth": {"/oauth2/introspect": "Bearer secret", ...}}],   // used by the deep cases
//          "slow_ms": 20000}                                           // slowloris give-up time
//
// One JSON line per case: {service, route, path, category, name, verdict ("ok"|"fail"),
// why, status, ctype, body, closed, ms, h2o (an h2o-level answer: its plain 400/413), request}.
//
// What a case expects (its "expect"):
//   route   the request is well-formed HTTP, wrong for the route: a 4xx in the route's error
//           format: Matrix JSON (errcode M_*) under /_matrix, OAuth JSON (error) under /oauth2,
//           any body elsewhere
//   framing the request is broken below HTTP semantics: a 4xx (h2o's own plain text allowed) or
//           the connection closed
//   no5xx   odd but not necessarily wrong: any answer below 500, or the connection closed
//   too-large  a body over the service's limit (h2o's 1 MiB; masd-oauth's 64 KiB, masd-human's 16 KiB: BODY_LIMIT):
//           413 (h2o's plain text: a known gap) or closed; a case whose body is over the limit
//           of its service expects this whatever it was written for
//   slow    a trickle: closed (or a 4xx) by a deadline, within slow_ms
// Every case fails on a 5xx, on no answer within its time, or when a follow-up GET /health on a
// connection the server kept open does not get exactly one 200 (request desynchronisation).
import fs from 'node:fs';
import net from 'node:net';

// node badinput.mjs --summary RESULTS.jsonl DIR: for the calling script, one line per service,
// route and category ("service\troute\tcategory\tcases\tfailed\tDIR/group-N.txt", the file
// spelling out the failed cases), then lines "note\t<text>" about what h2o answered itself.
if (process.argv[2] === '--summary') {
    const [file, dir] = process.argv.slice(3);
    const rs = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const groups = new Map();
    for (const r of rs) {
        const k = `${r.service}\t${r.route}\t${r.category}`;
        if (!groups.has(k)) groups.set(k, []);
        groups.get(k).push(r);
    }
    let i = 0;
    for (const [k, g] of groups) {
        const bad = g.filter((r) => r.verdict !== 'ok');
        const f = `${dir}/group-${i++}.txt`;
        fs.writeFileSync(f, bad.map((r) => `${r.name}: ${r.why}\n  request: ${r.request}\n  response: ${r.status} ${r.ctype} ` +
            JSON.stringify(r.body) + (r.followUp ? ' follow-up ' + JSON.stringify(r.followUp) : '')).join('\n') + '\n');
        console.log(`${k}\t${g.length}\t${bad.length}\t${f}`);
    }
    const count = (list, key) => {
        const by = {};
        for (const r of list) by[key(r)] = (by[key(r)] || 0) + 1;
        return Object.entries(by).map(([k, v]) => `${v}x ${k}`).join(', ');
    };
    const big = rs.filter((r) => r.expect === 'too-large');
    console.log(`note\tknown gap: bodies over the service's limit (1 MiB; masd-oauth 64 KiB; masd-human 16 KiB) are answered by h2o itself, not in the route's format: ` +
        count(big, (r) => (r.status === null ? 'closed' : r.status + (r.h2o ? ' (h2o plain text)' : ' (route format)'))));
    const h = rs.filter((r) => r.h2o && r.expect !== 'too-large');
    const kinds = [...new Set(h.map((r) => r.name))];
    console.log(`note\th2o's own plain 4xx for HTTP it cannot parse or will not take (no route ran): ${h.length} answers, ` +
        `${kinds.length} kinds: ${kinds.join('; ')}`);
    const dup = rs.filter((r) => r.name === 'two different Content-Length');
    console.log(`note\ttwo different Content-Length headers (h2o 2.2.5 would take the first; masd refuses, RFC 9112 §6.3): ` +
        `${count(dup, (r) => (r.status === null ? 'closed' : String(r.status)))}`);
    const slow = {};
    for (const r of rs.filter((x) => x.category === 'slowloris')) (slow[r.name] = slow[r.name] || []).push(r.ms);
    console.log('note\tslowloris: ' + Object.entries(slow).map(([k, v]) => `${k}: closed after ${Math.min(...v)}-${Math.max(...v)} ms`).join('; '));
    process.exit(0);
}

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const SLOW_MS = cfg.slow_ms || 20000;
const CASE_MS = cfg.case_ms || 5000;
const MIB = 1024 * 1024;
// The bodies h2o reads per service (max_request_body in services/*/main.c; 1 MiB otherwise).
const BODY_LIMIT = { 'masd-oauth': 64 * 1024, 'masd-human': 80 * 1024 };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function family(path) {
    if (path.startsWith('/_matrix/')) return 'matrix';
    if (path.startsWith('/oauth2/')) return 'oauth';
    return 'plain';
}

function concretePath(route) {
    let p = route.path.replace('{version}', 'v3');
    if (p.endsWith('/')) p += 'app.js';
    return p;
}

// Parses one response at the start of buf. Returns {status, headers, body, length} or null
// (incomplete), or {error} when the bytes are not HTTP. eof: the peer closed.
function parseResponse(buf, eof, method) {
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return eof && buf.length ? { error: 'truncated head' } : null;
    const head = buf.subarray(0, end).toString('latin1');
    const lines = head.split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
    if (!m) return { error: 'not HTTP: ' + JSON.stringify(lines[0].slice(0, 80)) };
    const status = Number(m[1]);
    const headers = {};
    for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    const start = end + 4;
    if (method === 'HEAD' || status === 204 || status === 304 || status < 200)
        return { status, headers, body: Buffer.alloc(0), length: start };
    if (/chunked/i.test(headers['transfer-encoding'] || '')) {
        let p = start;
        const parts = [];
        for (;;) {
            const e = buf.indexOf('\r\n', p);
            if (e < 0) return null;
            const n = parseInt(buf.subarray(p, e).toString('latin1'), 16);
            if (Number.isNaN(n)) return { error: 'bad chunk' };
            if (n === 0) {
                const t = buf.indexOf('\r\n\r\n', e);
                if (t < 0) return null;
                return { status, headers, body: Buffer.concat(parts), length: t + 4 };
            }
            if (buf.length < e + 2 + n + 2) return null;
            parts.push(buf.subarray(e + 2, e + 2 + n));
            p = e + 2 + n + 2;
        }
    }
    if (headers['content-length'] !== undefined) {
        const n = Number(headers['content-length']);
        if (buf.length < start + n) return eof ? { error: 'truncated body' } : null;
        return { status, headers, body: buf.subarray(start, start + n), length: start + n };
    }
    if (!eof) return null;
    return { status, headers, body: buf.subarray(start), length: buf.length, closeDelimited: true };
}

// Sends a case and collects the answer. steps: [{data: Buffer|string, delay: ms before it}],
// halfClose: shut the write side after the last step, stopOnAnswer: stop sending once any byte
// has come back (big bodies). Resolves {res, closed, ms, error, followUp}.
function exchange(t, c) {
    return new Promise((resolve) => {
        const t0 = Date.now();
        const sock = net.connect({ host: t.host, port: t.port });
        let buf = Buffer.alloc(0);
        let done = false;
        let closed = false;
        let res = null;
        let phase = 'main'; // then 'follow'
        let followStart = 0;
        let timer;
        const limit = c.expect === 'slow' ? SLOW_MS : CASE_MS;
        const finish = (extra) => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            sock.destroy();
            resolve({ res, closed, ms: Date.now() - t0, ...extra });
        };
        timer = setTimeout(() => finish({ error: phase === 'main' ? 'no answer in time' : 'follow-up: no answer in time' }), limit);
        const check = (eof) => {
            if (phase === 'main') {
                const r = parseResponse(buf, eof, c.method);
                if (!r) { if (eof) finish({}); return; }
                if (r.error) { finish({ error: r.error, raw: buf.subarray(0, 300).toString('latin1') }); return; }
                res = r;
                const keep = !eof && !r.closeDelimited && !/close/i.test(r.headers.connection || '');
                if (!keep || c.halfClose || c.noFollowUp) { finish({}); return; }
                // The server keeps the connection: what it reads next must be exactly our
                // follow-up request, answered once.
                phase = 'follow';
                buf = buf.subarray(r.length);
                followStart = Date.now();
                sock.write('GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n');
                check(false);
                return;
            }
            const r = parseResponse(buf, eof, 'GET');
            if (!r) { if (eof) finish({ followUp: { closed: true } }); return; }
            if (r.error) { finish({ followUp: { error: r.error } }); return; }
            const extra = buf.length > r.length ? buf.subarray(r.length, r.length + 200).toString('latin1') : '';
            finish({ followUp: { status: r.status, body: r.body.toString('latin1').slice(0, 100), extra, ms: Date.now() - followStart } });
        };
        sock.on('data', (d) => { buf = Buffer.concat([buf, d]); check(false); });
        sock.on('end', () => { closed = true; check(true); });
        sock.on('error', (e) => {
            closed = true;
            if (phase === 'main' && !res) {
                // A reset: whatever arrived before it still counts.
                const r = parseResponse(buf, true, c.method);
                if (r && !r.error) res = r;
                finish({ reset: e.code });
            } else {
                finish({ followUp: { closed: true, reset: e.code } });
            }
        });
        sock.on('close', () => { closed = true; if (!done) check(true); });
        sock.on('connect', async () => {
            for (const s of c.steps) {
                if (done) return;
                if (s.delay) await sleep(s.delay);
                if (done || sock.destroyed) return;
                if (c.stopOnAnswer && buf.length) break;
                const data = typeof s.data === 'string' ? Buffer.from(s.data, 'latin1') : s.data;
                for (let off = 0; off < data.length; off += 65536) {
                    if (done || sock.destroyed || (c.stopOnAnswer && buf.length)) break;
                    if (!sock.write(data.subarray(off, off + 65536)))
                        await new Promise((r) => { sock.once('drain', r); sock.once('close', r); });
                }
            }
            if (c.halfClose && !done && !sock.destroyed) sock.end();
        });
    });
}

function judge(c, fam, out) {
    const { res, error, followUp } = out;
    if (error) return `${error}${out.raw ? ' ' + JSON.stringify(out.raw) : ''}`;
    if (followUp) {
        if (followUp.error) return `follow-up GET /health: ${followUp.error}`;
        if (!followUp.closed && (followUp.status !== 200 || followUp.extra))
            return `desynchronised: follow-up GET /health got ${followUp.status} ${JSON.stringify(followUp.body)}` +
                (followUp.extra ? ` then ${JSON.stringify(followUp.extra)}` : '');
    }
    if (!res) return c.expect === 'route' ? `closed without an answer${out.reset ? ' (' + out.reset + ')' : ''}` : null;
    const s = res.status;
    if (s >= 500) return `${s}: a server error`;
    if (c.expect === 'no5xx') return null;
    if (s < 400) return `${s}: expected a 4xx`;
    if (c.expect === 'too-large') return s === 413 ? null : `${s}: expected 413`;
    if (c.expect === 'framing' || c.expect === 'slow') return null;
    // expect === 'route': the route's own error format
    const ct = res.headers['content-type'] || '';
    const text = res.body.toString('utf8');
    if (fam === 'matrix' || fam === 'oauth') {
        if (c.method === 'HEAD') return null;
        if (!/^application\/json/.test(ct)) return `${s} with Content-Type ${JSON.stringify(ct)}, expected JSON`;
        let d;
        try { d = JSON.parse(text); } catch { return `${s} with a body that is not JSON: ${JSON.stringify(text.slice(0, 120))}`; }
        if (fam === 'matrix' && !(typeof d.errcode === 'string' && d.errcode.startsWith('M_') && typeof d.error === 'string'))
            return `${s}: not a Matrix error: ${text.slice(0, 160)}`;
        if (fam === 'oauth' && typeof d.error !== 'string') return `${s}: not an OAuth error: ${text.slice(0, 160)}`;
    }
    return null;
}

// A h2o-level answer (before any route ran): its plain-text 400/413 ("Bad Request", "Request
// Entity Too Large", "line too long", ...), not the route's format.
function isH2o(res, fam) {
    if (!res || res.status < 400) return false;
    if (fam !== 'plain') return !/^application\/json/.test(res.headers['content-type'] || '');
    return /^(Bad Request|line too long|request entity is too large|broken content-length header|broken chunked-encoding|unknown transfer-encoding)/i
        .test(res.body.toString('latin1'));
}

const enc = (s) => Buffer.from(s, 'latin1');
const req = (method, path, headers, body) => {
    const b = body === undefined ? null : Buffer.isBuffer(body) ? body : Buffer.from(body, 'latin1');
    let h = `${method} ${path} HTTP/1.1\r\nHost: localhost\r\n`;
    for (const x of headers) h += x + '\r\n';
    if (b !== null && !headers.some((x) => /^(content-length|transfer-encoding)\s*:/i.test(x))) h += `Content-Length: ${b.length}\r\n`;
    h += '\r\n';
    return b === null ? enc(h) : Buffer.concat([enc(h), b]);
};
const b64 = (s) => Buffer.from(s, 'latin1').toString('base64');

// The cases of one route.
function cases(route, auth, limit) {
    const path = concretePath(route);
    const allowed = route.methods.split(',').map((m) => m.trim());
    const post = allowed.includes('POST');
    const M = post ? 'POST' : 'GET';
    const fam = family(path);
    const json = fam === 'matrix';
    const form = fam === 'oauth' && post;
    const authH = auth[route.path] ? [`Authorization: ${auth[route.path]}`] : [];
    const CT = json ? 'Content-Type: application/json' : form ? 'Content-Type: application/x-www-form-urlencoded' : null;
    const good = json ? '{}' : form ? 'token=mat_x&token_type_hint=access_token' : '';
    const out = [];
    // A single-write request whose body is over the service's limit: h2o refuses it first.
    const overLimit = (data) => {
        if (!Buffer.isBuffer(data)) return false;
        const end = data.indexOf('\r\n\r\n');
        return end >= 0 && data.length - end - 4 > limit;
    };
    const add = (category, name, expect, steps, extra = {}) =>
        out.push({ category, name, expect: (expect === 'route' || expect === 'no5xx') && overLimit(steps) ? 'too-large' : expect,
            method: extra.method || M, steps: Array.isArray(steps) ? steps : [{ data: steps }], ...extra });
    const r = (headers, body, method = M, p = path) => req(method, p, headers, body);
    const withBody = (body, ct = CT) => r([...authH, ...(ct ? [ct] : [])], body);

    // --- methods
    for (const m of ['DELETE', 'PUT', 'PATCH', 'TRACE', 'FOO', 'get', 'PROPFIND', 'GET', 'POST', 'HEAD', 'OPTIONS'])
        if (!allowed.includes(m)) add('methods', `method ${m}`, 'route', r([], m === 'POST' || m === 'PUT' ? '{}' : undefined, m), { method: m });
    add('methods', 'method of 4 KiB', 'framing', r([], undefined, 'M'.repeat(4096)), { method: 'M' });
    add('methods', 'CONNECT with an authority', 'framing', enc('CONNECT localhost:443 HTTP/1.1\r\nHost: localhost:443\r\n\r\n'), { method: 'CONNECT' });
    add('methods', 'no method', 'framing', enc(` ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`));
    add('methods', 'HTTP/0.9 request line', 'framing', enc(`GET ${path}\r\n\r\n`), { noFollowUp: true });
    add('methods', 'HTTP/9.9', 'framing', enc(`${M} ${path} HTTP/9.9\r\nHost: localhost\r\n\r\n`));
    add('methods', 'binary junk', 'framing', Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x01, 0, 0, 0xfb, 3, 3, 0, 0, 0, 0, 0x0d, 0x0a, 0x0d, 0x0a]));
    add('methods', 'HTTP/2 preface on HTTP/1.1', 'framing', enc('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));

    // --- headers
    add('headers', 'header line without a colon', 'framing', r([...authH, 'NoColonHere'], post ? good : undefined));
    add('headers', 'space before the colon', 'no5xx', r([...authH, 'Content-Type : text/plain'], post ? good : undefined));
    add('headers', 'NUL in a header value', 'framing', r([...authH, 'X-Test: a\x00b'], post ? good : undefined));
    add('headers', 'control character in a header name', 'framing', r([...authH, 'X-\x01Test: a'], post ? good : undefined));
    add('headers', 'obs-fold continuation line', 'no5xx', r([...authH, 'X-Folded: a', ' b'], post ? good : undefined));
    // Framing h2o 2.2.5 accepts but a proxy may read another way: masd refuses it
    // (common/http1_head.c): a 4xx, the connection closed.
    add('headers', 'bare LF line endings', 'framing', enc(`${M} ${path} HTTP/1.1\nHost: localhost\n${post ? 'Content-Length: 0\n' : ''}\n`));
    add('headers', 'two different Content-Length', 'framing', r([...authH, ...(CT ? [CT] : []), 'Content-Length: 2', 'Content-Length: 12'], '{}'));
    add('headers', 'Content-Length not a number', 'framing', r([...authH, 'Content-Length: abc'], '{}'));
    add('headers', 'Content-Length negative', 'framing', r([...authH, 'Content-Length: -5'], '{}'));
    add('headers', 'Content-Length of 2^64', 'framing', r([...authH, 'Content-Length: 18446744073709551617'], '{}'));
    const chunk = good || 'x';
    add('headers', 'chunked and Content-Length', 'framing', r([...authH, ...(CT ? [CT] : []), 'Content-Length: 3', 'Transfer-Encoding: chunked'], `${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`));
    add('headers', 'Transfer-Encoding gzip', 'framing', r([...authH, 'Transfer-Encoding: gzip'], '{}'), { halfClose: true });
    add('headers', 'invalid chunk size', 'framing', r([...authH, 'Transfer-Encoding: chunked'], 'zz\r\n{}\r\n0\r\n\r\n'));
    add('headers', 'chunk size overflowing 64 bits', 'framing', r([...authH, 'Transfer-Encoding: chunked'], 'fffffffffffffffffff\r\n{}\r\n0\r\n\r\n'));
    add('headers', 'no Host header', 'no5xx', enc(`${M} ${path} HTTP/1.1\r\n${post ? 'Content-Length: 0\r\n' : ''}\r\n`));
    add('headers', 'Host with junk', 'no5xx', enc(`${M} ${path} HTTP/1.1\r\nHost: a b\xff@\r\n${post ? 'Content-Length: 0\r\n' : ''}\r\n`));
    // h2o takes request heads up to H2O_MAX_REQLEN (8192 + 4096 * 100 bytes in 2.2.5).
    add('headers', 'one header of 100 KiB', 'no5xx', r(['X-Big: ' + 'a'.repeat(100 * 1024), ...authH, ...(CT ? [CT] : [])], post ? good : undefined), { stopOnAnswer: true });
    add('headers', 'one header of 512 KiB', 'framing', r(['X-Big: ' + 'a'.repeat(512 * 1024)], post ? good : undefined), { stopOnAnswer: true });
    add('headers', '500 headers', 'framing', r(Array.from({ length: 500 }, (_, i) => `X-H${i}: v`), post ? good : undefined));
    add('headers', 'an Authorization of 7 KiB', 'no5xx', r(['Authorization: Bearer ' + 'a'.repeat(7000), ...(CT ? [CT] : [])], post ? good : undefined));
    add('headers', 'Accept-Encoding of 4 KiB', 'no5xx', r(['Accept-Encoding: ' + 'gzip;q=0.5, '.repeat(340)], post ? good : undefined));
    add('headers', 'Range junk', 'no5xx', r(['Range: bytes=9-1,-0,abc'], post ? good : undefined));
    add('headers', 'If-None-Match junk', 'no5xx', r(['If-None-Match: "\xff\xfe', 'If-Modified-Since: yesterday'], post ? good : undefined));
    add('headers', 'X-Forwarded-For junk', 'no5xx', r(['X-Forwarded-For: ::ffff:999.1.1.1, ,, [::1]:80, \xff', ...authH, ...(CT ? [CT] : [])], post ? good : undefined));
    add('headers', 'percent junk in the path', 'no5xx', r([], post ? good : undefined, M, path + '%zz%ff%00/..%2f..'));
    add('headers', 'path of 8 KiB', 'framing', r([], undefined, 'GET', path + '/' + 'a'.repeat(8192)));
    add('headers', 'query with invalid UTF-8', 'no5xx', r([...authH], post ? good : undefined, M, path + '?a=%ff%fe&\xff=\xfe&&&='));
    if (post || fam !== 'plain') {
        for (const [n, v] of [['Authorization: Bearer (nothing)', 'Bearer'], ['Authorization: Bearer and spaces', 'Bearer    '],
            ['Authorization: Basic not base64', 'Basic !!!*'], ['Authorization: Basic without a colon', 'Basic ' + b64('nocolon')],
            ['Authorization: Basic ":"', 'Basic ' + b64(':')], ['Authorization: Basic with invalid UTF-8', 'Basic ' + b64('\xff\xfe:\xc0\xaf')],
            ['Authorization: unknown scheme', 'Digest username="x"'], ['Authorization: Bearer with invalid UTF-8', 'Bearer \xff\xfe\xfd'],
            ['Authorization: Bearer with a tab', 'Bearer a\tb']])
            add('headers', n, post ? 'route' : 'no5xx', r([`Authorization: ${v}`, ...(CT ? [CT] : [])], post ? good : undefined));
        add('headers', 'two Authorization headers', post ? 'route' : 'no5xx', r(['Authorization: Bearer a', 'Authorization: Basic ' + b64('a:b'), ...(CT ? [CT] : [])], post ? good : undefined));
    }

    // --- bodies
    add('bodies', 'truncated body (half-close)', 'framing', [{ data: withBody(good + ' '.repeat(100)).subarray(0, -90) }], { halfClose: true });
    add('bodies', 'truncated chunked body (half-close)', 'framing', r([...authH, ...(CT ? [CT] : []), 'Transfer-Encoding: chunked'], '100\r\n{"a":'), { halfClose: true });
    // The head first: h2o answers a Content-Length over its limit at once, and a body already
    // on its way would turn its close into a reset that can swallow the answer.
    const BIG = Math.round(1.1 * MIB);
    const bigBody = withBody(Buffer.alloc(BIG, 0x20));
    const bigHead = bigBody.indexOf('\r\n\r\n') + 4;
    add('bodies', 'body of 1.1 MiB (Content-Length)', 'too-large', [{ data: bigBody.subarray(0, bigHead) }, { data: bigBody.subarray(bigHead), delay: 100 }], { stopOnAnswer: true, big: true });
    add('bodies', 'body of 1.1 MiB (chunked)', 'too-large',
        [{ data: r([...authH, ...(CT ? [CT] : []), 'Transfer-Encoding: chunked']) }, ...Array.from({ length: 18 }, () => ({ data: Buffer.concat([enc('10000\r\n'), Buffer.alloc(65536, 0x20), enc('\r\n')]) })), { data: '0\r\n\r\n' }],
        { stopOnAnswer: true, big: true });
    add('bodies', 'declared 1.1 MiB, nothing sent', 'too-large', r([...authH, `Content-Length: ${BIG}`]), { big: true, halfClose: true });
    add('bodies', 'body of 900 KiB', post ? 'route' : 'no5xx', withBody(json ? Buffer.concat([enc('{"a":"'), Buffer.alloc(900 * 1024, 0x61), enc('"}')]) : Buffer.alloc(900 * 1024, 0x61)), { stopOnAnswer: true });
    if (post) {
        add('bodies', 'empty body', 'route', withBody(''));
        add('bodies', 'no body, no Content-Length', 'route', r([...authH, ...(CT ? [CT] : [])]));
        if (json) {
            for (const [n, b] of [['invalid JSON', '{"type":'], ['JSON array', '[]'], ['JSON string', '"x"'], ['JSON null', 'null'],
                ['duplicate keys', '{"a":1,"a":2}'], ['trailing garbage', '{} {}'], ['NaN', '{"a":NaN}'], ['huge number', '{"a":1e999999}'],
                ['nested 10000 deep', '{"a":'.repeat(10000) + '1' + '}'.repeat(10000)], ['array nested 20000 deep', '['.repeat(20000) + ']'.repeat(20000)],
                ['wrong types', '{"type":1,"identifier":[],"password":{},"refresh_token":[],"device_id":5,"initial_device_display_name":{}}'],
                ['10000 keys', '{' + Array.from({ length: 10000 }, (_, i) => `"k${i}":${i}`).join(',') + '}'],
                ['login with identifier junk', '{"type":"m.login.password","identifier":{"type":"m.id.user","user":{}},"password":"x"}'],
                ['password of 60 KiB', `{"type":"m.login.password","identifier":{"type":"m.id.user","user":"nobody"},"password":"${'p'.repeat(60000)}"}`],
                ['user of 60 KiB', `{"type":"m.login.password","identifier":{"type":"m.id.user","user":"${'u'.repeat(60000)}"},"password":"x"}`],
                ['device_id of 60 KiB', `{"type":"m.login.password","identifier":{"type":"m.id.user","user":"nobody"},"password":"x","device_id":"${'D'.repeat(60000)}"}`],
                ['phone identifier without fields', '{"type":"m.login.password","identifier":{"type":"m.id.phone"},"password":"x"}'],
                ['m.login.token without token', '{"type":"m.login.token"}']])
                add('bodies', n, 'route', withBody(b));
        } else {
            // RFC 7662 §2.2 / RFC 7009 §2.2: a token that is malformed, unknown or odd is
            // {"active":false} (introspect) or 200 (revoke), not an error: those cases only
            // must not fail. A form that is not one, or lacks the token, is 400 invalid_request.
            for (const [n, b, e] of [['form without token', 'token_type_hint=access_token', 'route'], ['empty token', 'token=', 'no5xx'],
                ['token twice', 'token=a&token=b', 'no5xx'], ['lone percent', 'token=%', 'route'], ['bad percent', 'token=%zz', 'route'],
                ['10000 parameters', Array.from({ length: 10000 }, (_, i) => `p${i}=${i}`).join('&'), 'route'], ['token of 60 KiB', 'token=' + 'a'.repeat(60000), 'no5xx'],
                ['client_id junk', 'token=mat_x&client_id=%00%ff&client_secret=' + 'x'.repeat(3000), 'route'],
                ['client_assertion junk', 'token=mat_x&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=a.b.c', 'no5xx'],
                ['client_assertion with bad JSON', 'token=mat_x&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=' + b64('{"alg":').replace(/=+$/, '') + '.' + b64('{').replace(/=+$/, '') + '.AAAA', 'no5xx'],
                ['no name', '=x&&&=&token', 'no5xx'], ['semicolons', 'token=a;b;c', 'no5xx']])
                add('bodies', n, e, withBody(b));
            for (const [n, b] of [['assertion alone, junk', 'token=mat_x&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=a.b.c'],
                ['assertion alone, bad JSON', 'token=mat_x&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=' + b64('{"alg":').replace(/=+$/, '') + '.' + b64('{').replace(/=+$/, '') + '.AAAA'],
                ['assertion alone, alg none', 'token=mat_x&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=' + b64('{"alg":"none"}').replace(/=+$/, '') + '.' + b64('{"sub":"x","iss":"x"}').replace(/=+$/, '') + '.'],
                ['client_id alone, unknown', 'token=mat_x&client_id=%FF%FE'], ['client_secret_post, unknown client', 'token=mat_x&client_id=nobody&client_secret=x']])
                add('bodies', n, 'route', r([...(CT ? [CT] : [])], b));
        }
    } else {
        add('bodies', 'GET with a body', 'no5xx', r(['Content-Type: application/json'], '{"a":1}', 'GET'));
    }

    // --- content types
    if (post) {
        const body = json ? '{"type":"m.login.password","identifier":{"type":"m.id.user","user":"nobody"},"password":"x"}'
            : 'token=mat_x&token_type_hint=access_token';
        for (const ct of [null, 'text/plain', json ? 'application/x-www-form-urlencoded' : 'application/json', 'multipart/form-data; boundary=x',
            'application/json; charset=utf-16', 'application/jsonx', 'application/x-www-form-urlencodedx', '*/*', ';;;', '\xff\xfe', 'application/json' + ' '.repeat(3000)])
            add('content-types', `Content-Type ${ct === null ? '(none)' : JSON.stringify(ct.length > 40 ? ct.slice(0, 40) + '…' : ct)}`,
                'route', withBody(body, ct === null ? null : `Content-Type: ${ct}`));
    } else {
        add('content-types', 'GET with Content-Type junk', 'no5xx', r(['Content-Type: \xff;;;']));
    }

    // --- invalid UTF-8
    if (post && json) {
        for (const [n, b] of [['raw 0xff in a string', '{"type":"m.login.password","identifier":{"type":"m.id.user","user":"\xff\xfe"},"password":"x"}'],
            ['overlong encoding', '{"type":"m.login.password","identifier":{"type":"m.id.user","user":"\xc0\xaf"},"password":"\xc0\x80"}'],
            ['lone surrogate escape', '{"type":"m.login.password","identifier":{"type":"m.id.user","user":"\\ud800"},"password":"\\udfff"}'],
            ['escaped NUL', '{"type":"m.login.password","identifier":{"type":"m.id.user","user":"a\\u0000b"},"password":"x\\u0000","device_id":"D\\u0000"}'],
            ['invalid UTF-8 in a key', '{"\xff":1,"type":"m.login.password"}'],
            ['truncated sequence', '{"refresh_token":"\xe2\x82"}'],
            ['UTF-16 BOM body', '\xff\xfe{\x00}\x00'],
            ['device_id with invalid UTF-8', '{"type":"m.login.password","identifier":{"type":"m.id.user","user":"nobody"},"password":"x","device_id":"\xed\xa0\x80","initial_device_display_name":"\xf8\x88\x80\x80\x80"}'],
            ['refresh_token with invalid UTF-8', '{"refresh_token":"mcr_\xff\xff"}']])
            add('utf8', n, 'route', withBody(b));
    } else if (post) {
        // Invalid UTF-8 in the token itself is a malformed token: inactive (no5xx); elsewhere 400.
        for (const [n, b, e] of [['percent-encoded 0xff in the token', 'token=%FF%FE&token_type_hint=access_token', 'no5xx'], ['raw 0xff', 'token=\xff\xfe&token_type_hint=\xc0', 'route'],
            ['overlong encoding', 'token=%C0%AF&token_type_hint=%C0%AF', 'route'], ['escaped NUL', 'token=mat_%00x&token_type_hint=access%00_token', 'route'],
            ['surrogate in UTF-8 in the token', 'token=%ED%A0%80', 'no5xx'], ['invalid UTF-8 in a name', '%FF=1&token=mat_x', 'no5xx'],
            ['hint with invalid UTF-8', 'token=mat_x&token_type_hint=%FF', 'route']])
            add('utf8', n, e, withBody(b));
        add('utf8', 'client_id with invalid UTF-8 (no other credentials)', 'route', r([...(CT ? [CT] : [])], 'token=mat_x&client_id=%FF%FE&client_secret=%C0'));
        add('utf8', 'Basic credentials with invalid UTF-8', 'route', r(['Authorization: Basic ' + b64('%FF%FE:\xff'), ...(CT ? [CT] : [])], good));
    } else {
        add('utf8', 'path with invalid UTF-8', 'no5xx', r([], undefined, 'GET', path + '\xff\xfe'));
        add('utf8', 'query with overlong encoding', 'no5xx', r([], undefined, 'GET', path + '?resource=acct:%C0%AF@x&rel=%FF'));
    }

    // --- slowloris: one byte every 500 ms
    const slowHead = r([...authH, ...(CT ? [CT] : []), 'X-Slow: 1'], post ? good : undefined);
    add('slowloris', 'request head trickled a byte every 500 ms', 'slow',
        Array.from(slowHead.subarray(0, 200), (b, i) => ({ data: Buffer.from([b]), delay: i ? 500 : 0 })), { noFollowUp: true });
    if (post) {
        const head = r([...authH, ...(CT ? [CT] : []), 'Content-Length: 200']);
        add('slowloris', 'body trickled a byte every 500 ms', 'slow',
            [{ data: head }, ...Array.from({ length: 150 }, () => ({ data: 'a', delay: 500 }))], { noFollowUp: true });
    }
    add('slowloris', 'connection opened, nothing sent', 'slow', [{ data: Buffer.alloc(0) }], { noFollowUp: true });
    return out;
}

async function runPool(items, n, fn) {
    let i = 0;
    await Promise.all(Array.from({ length: n }, async () => { while (i < items.length) { const x = items[i++]; await fn(x); } }));
}

const print = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const printable = (buf) => {
    const s = buf.subarray(0, 240).toString('latin1').replace(/[^\x20-\x7e]/g, (ch) => ch === '\r' ? '\\r' : ch === '\n' ? '\\n' : '\\x' + ch.charCodeAt(0).toString(16).padStart(2, '0'));
    return buf.length > 240 ? `${s}… (${buf.length} bytes)` : s;
};

const all = [];
for (const t of cfg.targets)
    for (const route of t.routes)
        for (const c of cases(route, t.auth || {}, BODY_LIMIT[t.service] || MIB)) all.push({ t, route, c });

const one = async ({ t, route, c }) => {
    const path = concretePath(route);
    const fam = family(path);
    const out = await exchange(t, c);
    const why = judge(c, fam, out);
    const request = Buffer.concat(c.steps.map((s) => (typeof s.data === 'string' ? enc(s.data) : s.data)));
    print({
        service: t.service, route: route.path, path, category: c.category, name: c.name, expect: c.expect,
        verdict: why ? 'fail' : 'ok', why, status: out.res ? out.res.status : null,
        ctype: out.res ? out.res.headers['content-type'] || null : null,
        body: out.res ? out.res.body.toString('latin1').slice(0, 200) : null, closed: out.closed, reset: out.reset || null,
        ms: out.ms, h2o: isH2o(out.res, fam), followUp: out.followUp || null, request: printable(request),
    });
};

// Slow cases run side by side with everything else; the others a few at a time.
const slow = all.filter((x) => x.c.expect === 'slow');
const fast = all.filter((x) => x.c.expect !== 'slow');
await Promise.all([runPool(slow, slow.length || 1, one), runPool(fast.filter((x) => !x.c.big), 8, one).then(() => runPool(fast.filter((x) => x.c.big), 2, one))]);
