// A Matrix client signs in through an upstream OpenID Provider, end to end, for
// tests/integration/upstream_client.sh:
//
//   node upstream_client.mjs CONFIG-JSON
//     {base, late_base (a masd-human whose clock runs ahead), issuer (the IdP), chromium, out,
//      callback_port, result, basic (a client_secret_basic provider), key (a private_key_jwt
//      provider), iss (a provider whose configured issuer is not the IdP's), other_client (an IdP
//      client that shares basic's redirect URI)}
//
// 1. matrix-js-sdk 37's OIDC helpers (discoverAndValidateOIDCIssuerWellKnown, registerOidcClient,
//    generateOidcAuthorizationUrl, completeAuthorizationCodeGrant), as in matrix_js_sdk.mjs, with
//    headless Chromium as the person: masd's login page shows the provider's button, the IdP's
//    login and consent pages (oidc-provider's devInteractions), masd's registration page with the
//    imported localpart and display name, masd's consent page; the client gets its tokens. Then
//    the same person again, in a fresh browser: straight from the IdP to masd's consent page.
// 2. bob through the private_key_jwt provider: the registration page, then his account.
// 3. The pages of a misbehaving provider (an ID token with a foreign iss; an expired one, at the
//    masd-human whose clock runs ahead; a code issued to another client of the IdP), each an
//    HTML 4xx/502 with our CSP, screenshots at 375 and 1280 px.
// Prints one JSON line per step {step, ok, ...} and "done"; writes the tokens to RESULT.
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import * as sdk from 'matrix-js-sdk';
import { logger } from 'matrix-js-sdk/lib/logger.js';
import { expect, idpSignIn as signInAt, launch, makeOutDirs, shots as shotsIn, step } from './browser.mjs';

const cfg = JSON.parse(process.argv[2] || '{}');
const BASE = cfg.base.replace(/\/$/, '');
const ISSUER = BASE + '/';
const REDIRECT = `http://127.0.0.1:${cfg.callback_port}/callback`;
makeOutDirs(cfg.out);

class MemoryStorage {
    #m = new Map();
    get length() { return this.#m.size; }
    key(i) { return [...this.#m.keys()][i] ?? null; }
    getItem(k) { return this.#m.has(k) ? this.#m.get(k) : null; }
    setItem(k, v) { this.#m.set(k, String(v)); }
    removeItem(k) { this.#m.delete(k); }
    clear() { this.#m.clear(); }
}
globalThis.window = { sessionStorage: new MemoryStorage(), localStorage: new MemoryStorage(),
                      location: { origin: `http://127.0.0.1:${cfg.callback_port}` } };
logger.setLevel('warn');


// ---- the native client's redirect URI: each arrival resolves the current waiter ------------
let onCallback = null;
const server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://127.0.0.1');
    if (u.pathname === '/callback' && onCallback) { onCallback(u.searchParams); onCallback = null; }
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end('<!DOCTYPE html><title>signed in</title><p>You may close this window.</p>');
});
await new Promise((resolve) => server.listen(cfg.callback_port, '127.0.0.1', resolve));
const nextCallback = () => new Promise((resolve, reject) => {
    onCallback = resolve;
    setTimeout(() => reject(new Error('nothing arrived at the redirect URI in 15 s')), 15000);
});

const { browser, newContext, cspViolations } = await launch(cfg.chromium);
const shots = (page, name) => shotsIn(page, cfg.out, name);
// the IdP's pages as `user`, until the browser leaves the IdP: the pages seen
const idpSignIn = (page, user) => signInAt(page, cfg.issuer, user);
// The answers of masd's callback seen by the page (status, content-type, CSP).
function watchCallbacks(page) {
    const seen = [];
    page.on('response', async (r) => {
        if (/\/upstream\/callback\//.test(r.url())) {
            const h = await r.allHeaders();
            seen.push({ url: r.url(), status: r.status(), type: h['content-type'] || '', csp: h['content-security-policy'] || '' });
        }
    });
    return seen;
}
// An error page after the IdP: one callback answer with this status, HTML with our CSP.
async function errorPage(page, seen, status, name) {
    await page.waitForLoadState('load');
    const last = seen[seen.length - 1];
    expect(last, `an answer of masd's callback, at ${page.url()}`);
    expect(last.status === status, `${status}, got ${last.status} at ${last.url}`);
    expect(last.type === 'text/html; charset=utf-8', `HTML, got ${last.type}`);
    expect(/default-src 'none'/.test(last.csp), `our CSP, got ${last.csp}`);
    expect(await page.locator('h1').count() === 1, 'a heading');
    expect(await page.locator('.actions a').count() >= 1, 'a way back');
    await shots(page, name);
    const text = async (sel) => await page.locator(sel).count() ? await page.locator(sel).first().innerText() : '';
    return { status: last.status, heading: await page.locator('h1').innerText(), detail: await text('.detail'),
             reference: (await text('.reference')).replace(/^.*:\s*/, '') };
}

const result = {};
let config, clientId;
const finish = async () => {
    await browser.close().catch(() => {});
    writeFileSync(cfg.result, JSON.stringify(result));
    server.close();
    console.log('done');
    process.exit(0);
};

// ---- 1. matrix-js-sdk through the upstream provider -----------------------------------------
await step('matrix-js-sdk: discovers masd and registers a native client', async () => {
    config = await sdk.discoverAndValidateOIDCIssuerWellKnown(ISSUER);
    expect(config.issuer === ISSUER, `issuer ${ISSUER}, got ${config.issuer}`);
    clientId = await sdk.registerOidcClient(config, {
        clientName: 'Element (upstream test)', clientUri: 'https://element.example.com/',
        applicationType: 'native', redirectUris: [REDIRECT], contacts: ['admin@element.example.com'],
        tosUri: 'https://element.example.com/terms', policyUri: 'https://element.example.com/privacy',
    });
    expect(/^[0-9A-Z]{26}$/.test(clientId), `a ULID client_id, got ${clientId}`);
    result.client_id = clientId;
}) || await finish();

async function authUrl(key) {
    const nonce = 'n-' + Math.random().toString(36).slice(2);
    const url = new URL(await sdk.generateOidcAuthorizationUrl({ metadata: config, redirectUri: REDIRECT, clientId,
        homeserverUrl: 'https://matrix.example.com', nonce }));
    const m = url.searchParams.get('scope').match(/urn:matrix:org\.matrix\.msc2967\.client:device:(\S+)/);
    result[`${key}_device`] = m[1];
    return url;
}
// The code exchange by matrix-js-sdk; the tokens kept under `key`.
async function exchange(cb, key) {
    const grant = await sdk.completeAuthorizationCodeGrant(cb.get('code'), cb.get('state'));
    const t = grant.tokenResponse;
    expect(/^mat_/.test(t.access_token) && /^mar_/.test(t.refresh_token), 'mat_/mar_ tokens');
    const c = JSON.parse(Buffer.from(t.id_token.split('.')[1], 'base64url'));
    expect(c.iss === ISSUER && c.aud === clientId, `masd's ID token for the client, got ${JSON.stringify(c)}`);
    Object.assign(result, { [`${key}_access_token`]: t.access_token, [`${key}_sub`]: c.sub });
    return { sub: c.sub };
}

const ctxA = await newContext();
const a = await ctxA.newPage();
const aSeen = [];
a.on('framenavigated', (f) => { if (f === a.mainFrame()) aSeen.push(f.url()); });
let url1 = await authUrl('first');
await step('Chromium: the authorization URL leads to masd\'s login page, which shows the provider\'s button', async () => {
    await a.goto(url1.href);
    expect(/\/login\?kind=continue_authorization_grant&id=[0-9A-Z]{26}/.test(a.url()), `the login page of the grant, got ${a.url()}`);
    const btn = a.locator(`a[href^="/upstream/authorize/${cfg.basic}"]`);
    expect(await btn.count() === 1, 'one button of the provider');
    expect((await btn.innerText()).includes('Test IdP'), `the provider's name, got ${await btn.innerText()}`);
    await shots(a, 'login-with-provider');
}) || await finish();
await step('Chromium: the button leads to the IdP; alice signs in and consents there; back at masd\'s registration page with "alice" and "Alice Liddell" imported', async () => {
    await Promise.all([a.waitForURL((u) => u.href.startsWith(cfg.issuer)), a.locator(`a[href^="/upstream/authorize/${cfg.basic}"]`).click()]);
    const idp = await idpSignIn(a, 'alice');
    expect(idp.join() === 'login,consent', `the IdP's login and consent pages, got ${idp}`);
    expect(/\/upstream\/link\/[0-9A-Z]{26}$/.test(a.url()), `the link page, got ${a.url()}`);
    expect(await a.inputValue('#username') === 'alice', 'the imported localpart');
    expect(await a.locator('#import_display_name').isChecked(), 'the display name to import, checked');
    expect((await a.locator('label[for=import_display_name]').innerText()).includes('Alice Liddell'), 'the IdP\'s display name');
    await shots(a, 'link-register');
}) || await finish();
let cb1;
await step('Chromium: registering leads to masd\'s consent page; Continue sends the code to the client', async () => {
    await Promise.all([a.waitForURL(/\/consent\/[0-9A-Z]{26}$/, { timeout: 10000 }), a.locator('button[type=submit].primary').click()]);
    expect((await a.locator('main').innerText()).includes('Element (upstream test)'), 'the client\'s name');
    await shots(a, 'consent-after-upstream');
    const arrived = nextCallback();
    await a.getByRole('button', { name: 'Continue' }).click();
    cb1 = await arrived;
    expect(cb1.get('state') === url1.searchParams.get('state'), 'the state as sent');
}) || await finish();
await step('matrix-js-sdk: completeAuthorizationCodeGrant gets tokens and a valid ID token', () => exchange(cb1, 'first')) || await finish();

// the same person again in a fresh browser (no masd session, no IdP session)
const b = await (await newContext()).newPage();
const bSeen = [];
b.on('framenavigated', (f) => { if (f === b.mainFrame()) bSeen.push(f.url()); });
const url2 = await authUrl('second');
await step('Chromium, a fresh browser: alice through the IdP again goes straight to masd\'s consent page (no registration page)', async () => {
    await b.goto(url2.href);
    await Promise.all([b.waitForURL((u) => u.href.startsWith(cfg.issuer)), b.locator(`a[href^="/upstream/authorize/${cfg.basic}"]`).click()]);
    await idpSignIn(b, 'alice');
    await b.waitForURL(/\/consent\/[0-9A-Z]{26}$/, { timeout: 10000 });
    expect(await b.locator('#username').count() === 0, 'no registration form');
    const links = bSeen.filter((u) => /\/upstream\/link\//.test(u));
    expect(links.length <= 1, `the link page passed through once at most, got ${JSON.stringify(bSeen)}`);
    const arrived = nextCallback();
    await b.getByRole('button', { name: 'Continue' }).click();
    const cb2 = await arrived;
    return exchange(cb2, 'second');
});

// ---- 2. private_key_jwt ----------------------------------------------------------------------
await step('Chromium: bob through the private_key_jwt provider: the IdP, the registration page, his account', async () => {
    const p = await (await newContext()).newPage();
    await p.goto(`${BASE}/login`);
    await Promise.all([p.waitForURL((u) => u.href.startsWith(cfg.issuer)), p.locator(`a[href^="/upstream/authorize/${cfg.key}"]`).click()]);
    await idpSignIn(p, 'bob');
    expect(/\/upstream\/link\/[0-9A-Z]{26}$/.test(p.url()), `the link page, got ${p.url()}`);
    expect(await p.inputValue('#username') === 'bob', 'the imported localpart');
    await Promise.all([p.waitForURL(`${BASE}/`, { timeout: 10000 }), p.locator('button[type=submit].primary').click()]);
    expect((await p.content()).includes('@bob:example.com'), 'signed in as bob');
});

// ---- 3. a misbehaving provider ------------------------------------------------------------------
await step('Chromium: an ID token whose iss is not the configured issuer: the error page (375 and 1280 px)', async () => {
    const p = await (await newContext()).newPage();
    const seen = watchCallbacks(p);
    await p.goto(`${BASE}/upstream/authorize/${cfg.iss}`);
    expect(p.url().startsWith(`${cfg.issuer}/auth`) || p.url().startsWith(`${cfg.issuer}/interaction/`), `the IdP, got ${p.url()}`);
    await idpSignIn(p, 'alice');
    const r = await errorPage(p, seen, 400, 'upstream-wrong-iss');
    expect(/iss/.test(r.detail), `the iss check named, got ${JSON.stringify(r)}`);
    return r;
});
await step('Chromium: an expired ID token (masd-human 2 h ahead): the error page (375 and 1280 px)', async () => {
    const p = await (await newContext()).newPage();
    const seen = watchCallbacks(p);
    await p.goto(`${cfg.late_base}/upstream/authorize/${cfg.basic}`);
    await idpSignIn(p, 'alice');
    const r = await errorPage(p, seen, 400, 'upstream-expired');
    expect(/exp/.test(r.detail), `the exp check named, got ${JSON.stringify(r)}`);
    return r;
});
await step('Chromium: a code the IdP issued to another of its clients (same redirect URI): the error page (375 and 1280 px)', async () => {
    const ctx = await newContext();
    const p = await ctx.newPage();
    const seen = watchCallbacks(p);
    // masd's own authorization request (its cookie set in this browser), sent to the IdP as the other client
    const r0 = await ctx.request.get(`${BASE}/upstream/authorize/${cfg.basic}`, { maxRedirects: 0 });
    const to = new URL(r0.headers().location);
    expect(to.searchParams.get('client_id') === 'masd-basic', `masd's request, got ${to}`);
    to.searchParams.set('client_id', cfg.other_client);
    await p.goto(to.href);
    await idpSignIn(p, 'alice');
    const r = await errorPage(p, seen, 502, 'upstream-other-client');
    expect(/^[0-9A-Z]{26}$/.test(r.reference), `a reference for the log, got ${JSON.stringify(r)}`);
    writeFileSync(`${cfg.out}/other-client-reference`, r.reference);
    return r;
});
await step('no Content-Security-Policy violation', async () => {
    expect(cspViolations.length === 0, `none, got ${JSON.stringify(cspViolations)}`);
});
await finish();
