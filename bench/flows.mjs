// Complete authorization-code flows with a scripted client (no browser), for bench/token.sh:
// one browser session (signed in once, its cookies reused by every flow), then CONCURRENCY loops
// each doing, for DURATION seconds, what a browser and an OIDC-native Matrix client do:
//   1. GET  /authorize?…  (masd-human)  → 303 /consent/{grant}
//   2. GET  /consent/{grant}             → 200, the page with its CSRF token
//   3. POST /consent/{grant} (csrf)      → 303 to the redirect URI with ?code=
//   4. POST /oauth2/token (masd-oauth)   → 200, authorization_code with PKCE S256 (public client)
// Every answer is checked (status, Location, the code, the access token). Prints one JSON line:
// flows, flows_per_s, errors, and p50/p99 in ms of each step and of the whole flow.
//
//   node bench/flows.mjs HUMAN_URL OAUTH_URL CLIENT_ID REDIRECT_URI SCOPE USER PASSWORD CONCURRENCY DURATION_S
import http from 'node:http';
import crypto from 'node:crypto';

const [humanUrl, oauthUrl, clientId, redirectUri, scope, user, password, concurrency, duration] =
    process.argv.slice(2);
if (!duration) {
    console.error('usage: flows.mjs HUMAN_URL OAUTH_URL CLIENT_ID REDIRECT_URI SCOPE USER PASSWORD CONCURRENCY DURATION_S');
    process.exit(2);
}
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(concurrency) * 2 });
const jar = new Map();

function request(base, method, path, { body, headers = {} } = {}) {
    const u = new URL(path, base);
    const h = { ...headers };
    if (jar.size) h.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    if (body !== undefined) {
        h['content-type'] = 'application/x-www-form-urlencoded';
        h['content-length'] = Buffer.byteLength(body);
    }
    return new Promise((resolve, reject) => {
        const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers: h, agent },
            (res) => {
                const chunks = [];
                res.on('data', (c) => chunks.push(c));
                res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
                res.on('error', reject);
            });
        req.on('error', reject);
        if (body !== undefined) req.write(body);
        req.end();
    });
}
const form = (o) => new URLSearchParams(o).toString();
const csrfOf = (html) => (/name="csrf" value="([^"]*)"/.exec(html) || [])[1];
function keepCookies(res) { // the browser session's cookies (only the first sign-in sets them)
    for (const c of res.headers['set-cookie'] || []) {
        const [kv] = c.split(';');
        const i = kv.indexOf('=');
        jar.set(kv.slice(0, i), kv.slice(i + 1));
    }
}
function expect(cond, what, res) {
    if (!cond) throw new Error(`${what}: ${res.status} ${res.headers.location || ''} ${res.body.slice(0, 200)}`);
}

// Sign in once.
let res = await request(humanUrl, 'GET', '/login');
keepCookies(res);
res = await request(humanUrl, 'POST', '/login', { body: form({ csrf: csrfOf(res.body), username: user, password }) });
keepCookies(res);
expect(res.status === 303, 'sign-in', res);

const steps = ['authorize', 'consent_get', 'consent_post', 'token', 'flow'];
const times = Object.fromEntries(steps.map((s) => [s, []]));
let flows = 0, errors = 0, firstError = null;
const now = () => Number(process.hrtime.bigint()) / 1e6;

async function flow() {
    const verifier = crypto.randomBytes(32).toString('base64url');
    const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
    const state = crypto.randomBytes(8).toString('hex');
    const t0 = now();
    let res = await request(humanUrl, 'GET', '/authorize?' + form({
        response_type: 'code', client_id: clientId, redirect_uri: redirectUri, scope, state,
        code_challenge: challenge, code_challenge_method: 'S256',
    }));
    const t1 = now();
    const consent = res.headers.location || '';
    expect(res.status === 303 && /\/consent\//.test(consent), 'authorize', res);
    const path = new URL(consent, humanUrl).pathname;
    res = await request(humanUrl, 'GET', path);
    const t2 = now();
    const csrf = csrfOf(res.body);
    expect(res.status === 200 && csrf, 'consent page', res);
    res = await request(humanUrl, 'POST', path, { body: form({ csrf }) });
    const t3 = now();
    const back = new URL(res.headers.location || 'x:', 'http://x');
    const code = back.searchParams.get('code');
    expect(res.status === 303 && code && back.searchParams.get('state') === state, 'consent', res);
    res = await request(oauthUrl, 'POST', '/oauth2/token', {
        body: form({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: clientId, code_verifier: verifier }),
    });
    const t4 = now();
    expect(res.status === 200 && JSON.parse(res.body).access_token, 'token', res);
    return [t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0];
}

const end = Date.now() + Number(duration) * 1000;
const t0 = now();
await Promise.all(Array.from({ length: Number(concurrency) }, async () => {
    while (Date.now() < end) {
        try {
            const d = await flow();
            d.forEach((v, i) => times[steps[i]].push(v));
            flows++;
        } catch (e) {
            errors++;
            firstError ??= String(e.message || e);
        }
    }
}));
const elapsed = (now() - t0) / 1000;
const pct = (a, p) => {
    if (!a.length) return 0;
    a.sort((x, y) => x - y);
    return +a[Math.min(a.length - 1, Math.floor(a.length * p))].toFixed(2);
};
const out = { flows, flows_per_s: +(flows / elapsed).toFixed(1), errors, first_error: firstError };
for (const s of steps) out[s] = { p50: pct(times[s], 0.5), p99: pct(times[s], 0.99) };
console.log(JSON.stringify(out));
agent.destroy();
