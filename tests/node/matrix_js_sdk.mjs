// An OIDC-native Matrix client logging in through masd, as Element Web does it: matrix-js-sdk
// 37's own OIDC code (discoverAndValidateOIDCIssuerWellKnown, registerOidcClient,
// generateOidcAuthorizationUrl, completeAuthorizationCodeGrant, OidcTokenRefresher) runs here in
// Node, with the browser globals it reads (window.sessionStorage, window.location.origin) given
// by this script; headless Chromium (playwright-core) is the person at the login and consent
// pages; a loopback HTTP server of this script is the native client's redirect URI (RFC 8252
// §7.3). Used by tests/integration/matrix-js-sdk.sh:
//
//   node matrix_js_sdk.mjs CONFIG-JSON
//     {base, callback_port, user, password, chromium, hs_record, result}
//
// Prints one JSON line per step {step, ok, ...}; writes the tokens, the client ID and the device
// to RESULT for the shell half (introspection, revocation, the homeserver's record). Exit status
// 1 when any step failed.
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import * as sdk from 'matrix-js-sdk';
import { logger } from 'matrix-js-sdk/lib/logger.js';
import { chromium } from 'playwright-core';
import { clickToPage } from './nav.mjs';

const cfg = JSON.parse(process.argv[2] || '{}');
const BASE = cfg.base.replace(/\/$/, '');
const ISSUER = BASE + '/';
const REDIRECT = `http://127.0.0.1:${cfg.callback_port}/callback`;

// What Element Web's browser gives matrix-js-sdk: a session storage for the OIDC state, and the
// origin it rebuilds the callback URL from.
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
// matrix-js-sdk logs every step at debug level: keep stdout for the steps.
logger.setLevel('warn');

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
const hsCalls = () => readFileSync(cfg.hs_record, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));

// ---- the native client's redirect URI ------------------------------------------------------
let callback = null, onCallback = null;
const server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://127.0.0.1');
    if (u.pathname === '/callback' && !callback) {
        callback = u.searchParams;
        onCallback?.();
    }
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end('<!DOCTYPE html><title>signed in</title><p>You may close this window.</p>');
});
await new Promise((resolve) => server.listen(cfg.callback_port, '127.0.0.1', resolve));

const result = {};
let config, clientId, url, grant, refreshed;
const done = () => {
    writeFileSync(cfg.result, JSON.stringify(result));
    server.close();
    process.exit(failed ? 1 : 0);
};

await step('discoverAndValidateOIDCIssuerWellKnown: masd\'s metadata passes, with its signing keys', async () => {
    config = await sdk.discoverAndValidateOIDCIssuerWellKnown(ISSUER);
    expect(config.issuer === ISSUER, `issuer ${ISSUER}, got ${config.issuer}`);
    expect(config.registration_endpoint === `${BASE}/oauth2/registration`, `registration_endpoint, got ${config.registration_endpoint}`);
    expect(Array.isArray(config.signingKeys) && config.signingKeys.length >= 1, 'signing keys from jwks_uri');
    return { keys: config.signingKeys.map((k) => k.kid) };
}) || done();

await step('registerOidcClient: a native client with a loopback redirect URI', async () => {
    clientId = await sdk.registerOidcClient(config, {
        clientName: 'Element (masd test)',
        clientUri: 'https://element.example.com/',
        logoUri: 'https://element.example.com/logo.png',
        applicationType: 'native',
        redirectUris: [REDIRECT],
        contacts: ['admin@element.example.com'],
        tosUri: 'https://element.example.com/terms',
        policyUri: 'https://element.example.com/privacy',
    });
    expect(/^[0-9A-Z]{26}$/.test(clientId), `a ULID client_id, got ${clientId}`);
    result.client_id = clientId;
    return { client_id: clientId };
}) || done();

const nonce = 'n-' + Math.random().toString(36).slice(2);
await step('generateOidcAuthorizationUrl: code, S256, the msc2967 scopes with a fresh device', async () => {
    url = new URL(await sdk.generateOidcAuthorizationUrl({ metadata: config, redirectUri: REDIRECT, clientId,
        homeserverUrl: 'https://matrix.example.com', nonce }));
    const p = url.searchParams;
    expect(url.href.startsWith(`${BASE}/authorize?`), `the authorization endpoint, got ${url.origin}${url.pathname}`);
    expect(p.get('code_challenge_method') === 'S256' && p.get('response_mode') === 'query', 'S256 and response_mode query');
    const m = p.get('scope').match(/urn:matrix:org\.matrix\.msc2967\.client:device:(\S+)/);
    expect(m && p.get('scope').split(' ').includes('openid'), `openid and a device scope, got ${p.get('scope')}`);
    result.device_id = m[1];
    result.scope = p.get('scope');
    return { scope: p.get('scope') };
}) || done();

// ---- the person, in Chromium --------------------------------------------------------------
const browser = await chromium.launch({
    executablePath: cfg.chromium || '/usr/bin/chromium',
    headless: true,
    chromiumSandbox: false,
    args: ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync',
           '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1'],
});
const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
await ctx.route(/^(?!https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])[:/])/, (r) => r.abort());
const page = await ctx.newPage();

await step('Chromium: the authorization URL leads to masd-human\'s login page', async () => {
    await page.goto(url.href);
    expect(/\/login\?kind=continue_authorization_grant&id=[0-9A-Z]{26}/.test(page.url()), `the login page of the grant, got ${page.url()}`);
    expect(await page.locator('#username').count() === 1, 'the login form');
}) || (await browser.close(), done());

await step('Chromium: signing in leads to the consent page, which names the registered client', async () => {
    await page.fill('#username', cfg.user);
    await page.fill('#password', cfg.password);
    await clickToPage(page, () => page.click('form.fields button[type=submit]'));
    expect(/\/consent\/[0-9A-Z]{26}$/.test(page.url()), `the consent page, got ${page.url()}`);
    const text = await page.locator('main').innerText();
    expect(text.includes('Element (masd test)'), `the client's name on the page, got ${text.slice(0, 200)}`);
}) || (await browser.close(), done());

await step('Chromium: Continue sends the code and state to the loopback redirect URI', async () => {
    const arrived = new Promise((resolve, reject) => {
        onCallback = resolve;
        setTimeout(() => reject(new Error('nothing arrived at the redirect URI in 10 s')), 10000);
    });
    await page.getByRole('button', { name: 'Continue' }).click();
    await arrived;
    await page.waitForURL((u) => u.href.startsWith(REDIRECT), { waitUntil: 'load' });
    expect(/^[A-Za-z0-9]{32}$/.test(callback.get('code') || ''), `a code, got ${callback}`);
    expect(callback.get('state') === url.searchParams.get('state'), 'the state as sent');
});
await browser.close();
if (!callback) done();

// ---- the code exchange and the refresh, by matrix-js-sdk ------------------------------------
let hsBefore = 0;
await step('completeAuthorizationCodeGrant: tokens, and an ID token it validates (iss, aud, nonce, exp)', async () => {
    hsBefore = hsCalls().length;
    grant = await sdk.completeAuthorizationCodeGrant(callback.get('code'), callback.get('state'));
    const t = grant.tokenResponse;
    Object.assign(result, { access_token: t.access_token, refresh_token: t.refresh_token, sub: grant.idTokenClaims.sub });
    expect(/^mat_/.test(t.access_token) && /^mar_/.test(t.refresh_token) && t.token_type === 'Bearer', 'mat_/mar_ Bearer tokens');
    expect(grant.homeserverUrl === 'https://matrix.example.com', 'the homeserver URL kept in the state');
    expect(grant.oidcClientSettings.issuer === ISSUER && grant.oidcClientSettings.clientId === clientId, 'issuer and client');
    // idTokenClaims is oidc-client-ts's profile, protocol claims filtered out: the token itself
    const c = JSON.parse(Buffer.from(t.id_token.split('.')[1], 'base64url'));
    expect(grant.idTokenClaims.sub === c.sub && grant.idTokenClaims.iss === ISSUER, 'the profile of the ID token');
    expect(c.iss === ISSUER && c.aud === clientId && c.nonce === nonce && /^[0-9A-Z]{26}$/.test(c.sub), `the claims, got ${JSON.stringify(c)}`);
    expect(typeof c.auth_time === 'number' && Math.abs(c.auth_time - Date.now() / 1000) < 120, `auth_time in seconds, got ${c.auth_time}`);
    expect(typeof c.at_hash === 'string' && typeof c.c_hash === 'string', `at_hash and c_hash, got ${JSON.stringify(c)}`);
    const hdr = JSON.parse(Buffer.from(t.id_token.split('.')[0], 'base64url'));
    expect(hdr.alg === 'RS256' && config.signingKeys.some((k) => k.kid === hdr.kid), `RS256 (registered) with a kid of keys.json, got ${JSON.stringify(hdr)}`);
    return { sub: c.sub, kid: hdr.kid };
});

await step('the homeserver got upsert_device for the device before the token answer', async () => {
    const calls = hsCalls().slice(hsBefore);
    const up = calls.find((c) => c.path === '/_synapse/mas/upsert_device');
    expect(up, `an upsert_device call during the exchange, got ${JSON.stringify(calls.map((c) => c.path))}`);
    const body = JSON.stringify(up);
    expect(body.includes(`"device_id":"${result.device_id}"`) && body.includes(`"localpart":"${cfg.user}"`), `the device and the user, got ${body}`);
});

await step('OidcTokenRefresher: a refresh gives a new access and refresh token, persisted', async () => {
    const persisted = [];
    const r = new sdk.OidcTokenRefresher(ISSUER, clientId, REDIRECT, result.device_id, grant.idTokenClaims);
    r.persistTokens = async (t) => { persisted.push(t); };
    await r.oidcClientReady;
    refreshed = await r.doRefreshAccessToken(result.refresh_token);
    expect(/^mat_/.test(refreshed.accessToken) && refreshed.accessToken !== result.access_token, 'a new access token');
    expect(/^mar_/.test(refreshed.refreshToken) && refreshed.refreshToken !== result.refresh_token, 'a new refresh token');
    expect(persisted.length === 1 && persisted[0].accessToken === refreshed.accessToken, 'persistTokens called with them');
    Object.assign(result, { old_access_token: result.access_token, access_token: refreshed.accessToken,
                            refresh_token: refreshed.refreshToken });
});

await step('OidcTokenRefresher: the replaced refresh token, its successor used, is refused (logout error)', async () => {
    // the successor is "used" once the homeserver has seen its access token: introspect it first
    const ir = await fetch(`${BASE}/oauth2/introspect`, { method: 'POST',
        headers: { authorization: `Bearer ${cfg.hs_secret}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ token: result.access_token, token_type_hint: 'access_token' }) });
    expect((await ir.json()).active === true, 'the new access token active');
    const r = new sdk.OidcTokenRefresher(ISSUER, clientId, REDIRECT, result.device_id, grant.idTokenClaims);
    await r.oidcClientReady;
    let err = null;
    try { await r.doRefreshAccessToken(grant.tokenResponse.refresh_token); } catch (e) { err = e; }
    expect(err && err.name === 'TokenRefreshLogoutError', `TokenRefreshLogoutError, got ${err}`);
});

done();
