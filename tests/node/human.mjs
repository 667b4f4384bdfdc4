// Drives headless Chromium (playwright-core, Debian's /usr/bin/chromium) through masd-human's
// authorization-code flow, as a person in a browser and a real relying party see it:
// openid-client 6 discovers the issuer and builds every authorization URL (PKCE S256, state,
// nonce); a loopback HTTP server of this script is the client's redirect URI and records what
// arrives there (the query, the fragment — which browsers never send: the page it serves posts
// location.hash back —, and form_post bodies); oauth4webapi's validateAuthResponse checks each
// response as a client library would. The grant rows are read from the SQLite database with the
// sqlite3 CLI. Screenshots (375 and 1280 px wide, full page) and the HTML as served of the
// login, consent and error pages go to OUT-DIR.
//
//   node human.mjs CONFIG-JSON
//     {base, client_id, callback_port, db, out, user, password, locked_user, chromium}
//
// Prints one JSON line per step {step, ok, ...}; exit status 1 when any step failed.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import * as client from 'openid-client';
import * as oauth from 'oauth4webapi';
import { chromium } from 'playwright-core';
import { clickToPage } from './nav.mjs';

const cfg = JSON.parse(process.argv[2] || '{}');
if (!cfg.base || !cfg.client_id || !cfg.callback_port || !cfg.db || !cfg.out) {
    console.error('usage: node human.mjs \'{"base":…,"client_id":…,"callback_port":…,"db":…,"out":…}\'');
    process.exit(2);
}
const BASE = cfg.base.replace(/\/$/, '');
const REDIRECT = `http://127.0.0.1:${cfg.callback_port}/callback`;
const SCOPE = 'openid urn:matrix:client:api:* urn:matrix:client:device:ABCDEFGHIJ';
mkdirSync(`${cfg.out}/screenshots`, { recursive: true });
mkdirSync(`${cfg.out}/html`, { recursive: true });

let failed = 0;
function report(step, ok, extra = {}) {
    if (!ok) failed++;
    console.log(JSON.stringify({ step, ok, ...extra }));
}
async function step(name, fn) {
    try {
        const extra = await fn();
        report(name, true, extra || {});
        return true;
    } catch (e) {
        report(name, false, { error: String(e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e) });
        return false;
    }
}
function expect(cond, what) {
    if (!cond) throw new Error('expected ' + what);
}

// ---- the client's redirect URI ------------------------------------------------------------
const records = [];
let waiters = [];
function record(r) {
    records.push(r);
    waiters = waiters.filter((w) => !w(r));
}
// waitRecord(pred, ms): the first record (already arrived or to come) matching pred.
function waitRecord(pred, ms = 10000, since = 0) {
    const found = records.slice(since).find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`nothing matching arrived at the redirect URI in ${ms} ms; got ${JSON.stringify(records.slice(since))}`)), ms);
        waiters.push((r) => {
            if (!pred(r)) return false;
            clearTimeout(t);
            resolve(r);
            return true;
        });
    });
}
const CALLBACK_PAGE = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>callback</title></head><body><p>callback</p>
<script>fetch('/hash', {method: 'POST', body: location.hash});</script></body></html>`;
const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
        const u = new URL(req.url, 'http://127.0.0.1');
        const body = Buffer.concat(chunks).toString();
        if (u.pathname === '/hash') {
            record({ kind: 'hash', hash: body });
            res.end('');
            return;
        }
        record({ kind: 'callback', method: req.method, path: u.pathname, query: u.search, body,
                 contentType: req.headers['content-type'] || '' });
        res.setHeader('content-type', 'text/html; charset=utf-8');
        res.end(CALLBACK_PAGE);
    });
});
await new Promise((resolve) => server.listen(cfg.callback_port, '127.0.0.1', resolve));

// ---- the relying party --------------------------------------------------------------------
let config, as;
const clientMeta = { client_id: cfg.client_id, token_endpoint_auth_method: 'none' };
const ok0 = await step('openid-client discovers the issuer through nginx', async () => {
    config = await client.discovery(new URL(BASE + '/'), cfg.client_id, undefined, client.None());
    as = config.serverMetadata();
    expect(as.authorization_endpoint === BASE + '/authorize', `authorization_endpoint ${BASE}/authorize, got ${as.authorization_endpoint}`);
});
if (!ok0) process.exit(1);

async function authRequest(mode, extra = {}) {
    const verifier = client.randomPKCECodeVerifier();
    const challenge = await client.calculatePKCECodeChallenge(verifier);
    const state = client.randomState();
    const nonce = client.randomNonce();
    const params = { redirect_uri: REDIRECT, scope: SCOPE, code_challenge: challenge, code_challenge_method: 'S256',
                     state, nonce, ...extra };
    if (mode) params.response_mode = mode;
    const url = client.buildAuthorizationUrl(config, params);
    return { url: url.href, state, nonce, challenge, verifier, mode: mode || 'query' };
}

function sql(q) {
    return execFileSync('sqlite3', ['-json', cfg.db, q], { encoding: 'utf8' }).trim();
}
function grantRow(id) {
    const rows = JSON.parse(sql(`SELECT * FROM oauth2_authorization_grants WHERE oauth2_authorization_grant_id = '${id.replace(/[^0-9A-Z]/g, '')}'`) || '[]');
    expect(rows.length === 1, `one grant row ${id}, got ${rows.length}`);
    return rows[0];
}
const sha256hex = (s) => createHash('sha256').update(s).digest('hex');

// The authorization response as the client library checks it; returns the code.
function validate(req, params) {
    const p = oauth.validateAuthResponse(as, clientMeta, params, req.state);
    const code = p.get('code');
    expect(/^[A-Za-z0-9]{32}$/.test(code || ''), `a code of 32 alphanumerics, got ${code}`);
    return code;
}

// The grant is fulfilled by the browser session, and only the code's SHA-256 is stored.
function checkFulfilled(grantId, code, req) {
    const g = grantRow(grantId);
    expect(g.fulfilled_at > 0, `fulfilled_at set, got ${g.fulfilled_at}`);
    expect(g.browser_session_id && /^[0-9A-Z]{26}$/.test(g.browser_session_id), `browser_session_id set, got ${g.browser_session_id}`);
    expect(g.code_hash === sha256hex(code), `code_hash = sha256(code) ${sha256hex(code)}, got ${g.code_hash}`);
    expect(!JSON.stringify(g).includes(code), 'the code itself stored nowhere in the row');
    expect(g.code_challenge === req.challenge && g.code_challenge_method === 'S256', `the S256 challenge stored, got ${g.code_challenge_method} ${g.code_challenge}`);
    expect(g.state === req.state && g.nonce === req.nonce, 'state and nonce stored');
    expect(g.response_mode === req.mode, `response_mode ${req.mode}, got ${g.response_mode}`);
    expect(g.scope.split(' ').sort().join(' ') === SCOPE.split(' ').sort().join(' '), `scope stored, got ${g.scope}`);
    const s = JSON.parse(sql(`SELECT u.username FROM browser_sessions b JOIN users u ON u.user_id = b.user_id WHERE b.browser_session_id = '${g.browser_session_id}'`) || '[]');
    expect(s.length === 1 && s[0].username === cfg.user, `the browser session is ${cfg.user}'s, got ${JSON.stringify(s)}`);
    return g;
}

// ---- the browser --------------------------------------------------------------------------
const browser = await chromium.launch({
    executablePath: cfg.chromium || '/usr/bin/chromium',
    headless: true,
    chromiumSandbox: false,
    args: ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync',
           '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1'],
});
const cspViolations = [];
async function newContext(opts = {}) {
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 }, ...opts });
    // Loopback only.
    await ctx.route(/^(?!https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])[:/])/, (r) => r.abort());
    ctx.on('page', watch);
    return ctx;
}
function watch(page) {
    page.on('console', (m) => {
        if (/Content Security Policy|Refused to/i.test(m.text())) cspViolations.push(`${page.url()}: ${m.text()}`);
    });
}
const loginPath = /\/login\?kind=continue_authorization_grant&id=([0-9A-Z]{26})(&|$)/;
const consentPath = /\/consent\/([0-9A-Z]{26})$/;

async function shots(page, name) {
    for (const width of [375, 1280]) {
        await page.setViewportSize({ width, height: 800 });
        await page.screenshot({ path: `${cfg.out}/screenshots/${name}-${width}.png`, fullPage: true });
    }
    await page.setViewportSize({ width: 1280, height: 800 });
}
// The page's HTML exactly as served (a second GET in the same browser context).
async function saveHtml(ctx, url, name) {
    const r = await ctx.request.get(url, { maxRedirects: 0 });
    writeFileSync(`${cfg.out}/html/${name}.html`, await r.text());
    return r.status();
}
// Fills the login form and submits it; returns the response of the page it led to, once that
// page is loaded (tests/node/nav.mjs).
async function signIn(page, user, password) {
    await page.fill('#username', user);
    await page.fill('#password', password);
    return clickToPage(page, () => page.click('form.fields button[type=submit]'));
}
function grantOf(url, re) {
    const m = url.match(re);
    expect(m, `a URL matching ${re}, got ${url}`);
    return m[1];
}
// After a response reached the client: the browser is done loading the callback page, so the
// next navigation interrupts nothing.
async function settle(page) {
    await page.waitForURL((u) => u.href.startsWith(REDIRECT), { waitUntil: 'load' });
}
async function clickContinue(page) {
    await page.getByRole('button', { name: 'Continue' }).click();
}

const A = await newContext();
const page = await A.newPage();
let q; // the query-mode request
let qGrant, qCode;

await step('query: /authorize without a session goes to the login page of the grant', async () => {
    q = await authRequest('query');
    await page.goto(q.url);
    qGrant = grantOf(page.url(), loginPath);
    expect(await page.locator('#username').count() === 1, 'the login form');
    expect(grantRow(qGrant).fulfilled_at === null, 'the grant pending');
    await shots(page, 'login');
    const st = await saveHtml(A, page.url(), 'login');
    expect(st === 200, `GET /login 200, got ${st}`);
    return { grant: qGrant };
});
await step('query: the right password leads to the consent page of the same grant', async () => {
    await signIn(page, cfg.user, cfg.password);
    const g = grantOf(page.url(), consentPath);
    expect(g === qGrant, `consent for ${qGrant}, got ${g}`);
    const text = await page.locator('main').innerText();
    expect(text.includes(cfg.user) && text.includes('Continue'), 'the user card and Continue');
    await shots(page, 'consent');
    const st = await saveHtml(A, page.url(), 'consent');
    expect(st === 200, `GET /consent 200, got ${st}`);
});
await step('query: Continue delivers code and state in the query, as openid-client/oauth4webapi accept', async () => {
    const since = records.length;
    await clickContinue(page);
    const r = await waitRecord((x) => x.kind === 'callback', 10000, since);
    await settle(page);
    expect(r.method === 'GET' && r.path === '/callback', `GET /callback, got ${r.method} ${r.path}`);
    const params = new URLSearchParams(r.query);
    qCode = validate(q, params);
    expect(params.get('state') === q.state, 'state as sent');
    return { query: r.query.replace(/code=[^&]+/, 'code=…') };
});
await step('query: the redirect carries an empty fragment (#) against fragment carry-over', async () => {
    await page.waitForURL(/\/callback/);
    const u = page.url();
    // Chromium keeps a trailing empty fragment in the URL it shows
    expect(u.endsWith('#'), `the URL to end with '#', got ${u.replace(/code=[^&]+/, 'code=…')}`);
});
await step('query: the grant is fulfilled by the browser session, code stored as its SHA-256 only', async () => {
    const g = checkFulfilled(qGrant, qCode, q);
    return { fulfilled_at: g.fulfilled_at };
});
await step('query: the consent page of a used grant is a 409 page', async () => {
    const r = await A.request.get(`${BASE}/consent/${qGrant}`, { maxRedirects: 0 });
    expect(r.status() === 409, `409, got ${r.status()}`);
    expect((r.headers()['content-type'] || '').startsWith('text/html'), 'HTML');
});

await step('fragment: a second authorization in the same browser skips the login', async () => {
    const f = await authRequest('fragment');
    const since = records.length;
    await page.goto(f.url);
    const g = grantOf(page.url(), consentPath);
    await clickContinue(page);
    const r = await waitRecord((x) => x.kind === 'callback', 10000, since);
    expect(r.method === 'GET' && r.query === '', `GET /callback with no query, got ${r.method} ${r.query}`);
    const h = await waitRecord((x) => x.kind === 'hash', 10000, since);
    await settle(page);
    expect(h.hash.startsWith('#'), `a fragment, got ${h.hash}`);
    const code = validate(f, new URLSearchParams(h.hash.slice(1)));
    checkFulfilled(g, code, f);
    const u = new URL(page.url());
    expect(new URLSearchParams(u.hash.slice(1)).get('code') === code, 'page.url() shows the same fragment');
});

let formPostHeaders = null, formPostHtml = null;
await step('form_post: the code and state arrive in a POSTed form (script submits it)', async () => {
    const fp = await authRequest('form_post');
    await page.goto(fp.url);
    const g = grantOf(page.url(), consentPath);
    const since = records.length;
    // The page submits itself at once, after which Chromium no longer has its body: it is taken
    // on its way in (the route fetches it and hands the same response on to the page).
    let resp = null;
    const consentPost = (u) => u.pathname === `/consent/${g}`;
    await page.route(consentPost, async (route) => {
        if (route.request().method() !== 'POST') return route.continue();
        resp = await route.fetch({ maxRedirects: 0 });
        formPostHeaders = resp.headers();
        formPostHtml = await resp.text();
        await route.fulfill({ response: resp });
    });
    await clickContinue(page);
    const r = await waitRecord((x) => x.kind === 'callback', 10000, since);
    await settle(page);
    await page.unroute(consentPost);
    expect(resp && formPostHtml, 'the form_post page captured');
    writeFileSync(`${cfg.out}/html/form_post.html`, formPostHtml);
    expect(r.method === 'POST' && r.contentType.startsWith('application/x-www-form-urlencoded'), `a form POST, got ${r.method} ${r.contentType}`);
    const code = validate(fp, new URLSearchParams(r.body));
    checkFulfilled(g, code, fp);
    expect(resp.status() === 200, `the form_post page 200, got ${resp.status()}`);
});
await step('form_post: the page\'s CSP carries a script nonce equal to its <script nonce>', async () => {
    expect(formPostHeaders && formPostHtml, 'the form_post page captured');
    const csp = formPostHeaders['content-security-policy'] || '';
    const m = csp.match(/script-src 'nonce-([A-Za-z0-9_+/=-]+)'/);
    expect(m, `script-src 'nonce-…' in the CSP, got ${csp}`);
    const scripts = [...formPostHtml.matchAll(/<script\b([^>]*)>/g)];
    expect(scripts.length === 1, `one <script>, got ${scripts.length}`);
    expect(scripts[0][1].includes(`nonce="${m[1]}"`), `<script nonce="${m[1]}">, got <script${scripts[0][1]}>`);
    expect(m[1].length >= 22, 'a nonce of at least 128 bits');
    expect(/form-action [^;]*http:\/\/127\.0\.0\.1:\d+/.test(csp), `form-action allows the redirect URI, got ${csp}`);
    for (const h of ['x-frame-options', 'referrer-policy', 'x-content-type-options', 'cache-control'])
        expect(formPostHeaders[h], `header ${h}`);
    return { csp };
});

await step('cancel: "Cancel" sends error=access_denied and the state to the client; the grant stays pending', async () => {
    const c = await authRequest('query');
    await page.goto(c.url);
    const g = grantOf(page.url(), consentPath);
    const since = records.length;
    await page.getByRole('link', { name: 'Cancel' }).click();
    const r = await waitRecord((x) => x.kind === 'callback', 10000, since);
    await settle(page);
    const p = new URLSearchParams(r.query);
    expect(p.get('error') === 'access_denied', `error=access_denied, got ${r.query}`);
    expect(p.get('state') === c.state, 'the state');
    expect(!p.has('code'), 'no code');
    try {
        oauth.validateAuthResponse(as, clientMeta, p, c.state);
        throw new Error('validateAuthResponse accepted an error response');
    } catch (e) {
        expect(e instanceof oauth.AuthorizationResponseError && e.error === 'access_denied', `AuthorizationResponseError access_denied, got ${e}`);
    }
    expect(grantRow(g).fulfilled_at === null, 'the grant still pending');
});

await step('cancel (form_post): "Cancel" POSTs error=access_denied and the state', async () => {
    const c = await authRequest('form_post');
    await page.goto(c.url);
    grantOf(page.url(), consentPath);
    const since = records.length;
    await page.getByRole('button', { name: 'Cancel' }).click();
    const r = await waitRecord((x) => x.kind === 'callback', 10000, since);
    await settle(page);
    const p = new URLSearchParams(r.body);
    expect(r.method === 'POST' && p.get('error') === 'access_denied' && p.get('state') === c.state, `POST error=access_denied + state, got ${r.method} ${r.body}`);
});

await step('"Use another account" signs out and shows the login page of the same grant', async () => {
    const u = await authRequest('query');
    await page.goto(u.url);
    const g = grantOf(page.url(), consentPath);
    const session = grantSessionOfContext();
    await clickToPage(page, () => page.getByRole('button', { name: 'Use another account' }).click());
    const g2 = grantOf(page.url(), loginPath);
    expect(g2 === g, `login for ${g}, got ${g2}`);
    expect(await page.locator('#username').count() === 1, 'the login form');
    if (session) {
        const rows = JSON.parse(sql(`SELECT finished_at FROM browser_sessions WHERE browser_session_id = '${session}'`));
        expect(rows[0].finished_at > 0, 'the old browser session finished');
    }
    // and signing in again completes the same grant
    await signIn(page, cfg.user, cfg.password);
    expect(grantOf(page.url(), consentPath) === g, 'back on the consent page');
    const since = records.length;
    await clickContinue(page);
    const r = await waitRecord((x) => x.kind === 'callback', 10000, since);
    await settle(page);
    validate(u, new URLSearchParams(r.query));
});
function grantSessionOfContext() {
    const g = grantRow(qGrant);
    return g.browser_session_id;
}

await step('form_post without JavaScript: the Continue button posts the code', async () => {
    const B = await newContext({ javaScriptEnabled: false });
    const p = await B.newPage();
    const fp = await authRequest('form_post');
    await p.goto(fp.url);
    grantOf(p.url(), loginPath);
    await signIn(p, cfg.user, cfg.password);
    const g = grantOf(p.url(), consentPath);
    const since = records.length;
    const fpPage = await clickToPage(p, () => clickContinue(p));
    expect(fpPage.request().method() === 'POST' && fpPage.status() === 200,
           `the form_post page (200 to the POST), got ${fpPage.status()} to ${fpPage.request().method()}`);
    // without JavaScript the page must not go on by itself: half a second for anything that would
    await p.waitForTimeout(500);
    expect(records.length === since, 'nothing sent before the click');
    expect(new URL(p.url()).pathname === `/consent/${g}`, `still on the form_post page, got ${p.url()}`);
    await shots(p, 'form_post-noscript');
    await clickContinue(p);
    const r = await waitRecord((x) => x.kind === 'callback', 10000, since);
    expect(r.method === 'POST', `POST, got ${r.method}`);
    const code = validate(fp, new URLSearchParams(r.body));
    checkFulfilled(g, code, fp);
    await B.close();
});

if (cfg.locked_user) {
    await step('a locked user sees the locked interstitial after the right password', async () => {
        const C = await newContext();
        const p = await C.newPage();
        const l = await authRequest('query');
        await p.goto(l.url);
        const g = grantOf(p.url(), loginPath);
        const resp = await signIn(p, cfg.locked_user, cfg.password);
        const text = await p.locator('main').innerText();
        expect(/account is locked/i.test(text), `the locked page, got ${resp.status()} for ${resp.request().method()} ${resp.url()}: ${text.slice(0, 300)}`);
        expect(resp.status() === 200 && resp.request().method() === 'POST' && p.url() === resp.url(),
               `the POST's own 200 answer in place, got ${resp.status()} for ${resp.request().method()} ${resp.url()} at ${p.url()}`);
        await shots(p, 'locked');
        expect(grantRow(g).fulfilled_at === null, 'the grant still pending');
        const n = JSON.parse(sql(`SELECT count(*) AS n FROM browser_sessions b JOIN users u ON u.user_id = b.user_id WHERE u.username = '${cfg.locked_user}'`));
        expect(n[0].n === 0, `no browser session for ${cfg.locked_user}, got ${n[0].n}`);
        await C.close();
    });
}

await step('an /authorize error page (unknown client): 400, screenshots', async () => {
    const url = `${BASE}/authorize?response_type=code&client_id=01ARZ3NDEKTSV4RRFFQ69G5FAV&redirect_uri=${encodeURIComponent(REDIRECT)}&scope=openid`;
    const r = await page.goto(url);
    expect(r.status() === 400, `400, got ${r.status()}`);
    await shots(page, 'error');
    await saveHtml(A, url, 'error');
});

await step('Chromium reported no Content-Security-Policy violation on any page', async () => {
    expect(cspViolations.length === 0, `none, got ${JSON.stringify(cspViolations)}`);
});

await browser.close();
server.close();
process.exit(failed ? 1 : 0);
