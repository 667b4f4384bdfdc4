// The device authorization grant (RFC 8628) as a real device and a real person meet it:
// openid-client 6 is the device (discovery, initiateDeviceAuthorization, pollDeviceAuthorizationGrant,
// which keeps to the interval and handles authorization_pending and slow_down itself);
// oauth4webapi sends single polls where one answer is what is tested; headless Chromium
// (playwright-core, Debian's /usr/bin/chromium) is the person at /link: the code typed in, the
// login, the consent page, "Grant access" or "Cancel". Screenshots (375 and 1280 px) and the HTML
// as served go to OUT-DIR. What the shell checks in the database and at the introspection
// endpoint is written to RESULT-FILE.
//
//   node device.mjs CONFIG-JSON
//     {mode: "main" | "autofill", base, client_id, noref_client_id, user, password, out, result,
//      chromium}
//
// main: discovery; a flow with the code typed in lower case with spaces and a dash (the login
// on the way); the token response; the code used again (invalid_grant); a denied flow
// (access_denied); polls too fast (authorization_pending, then slow_down); a wrong code on /link
// (the form again, 404); a client without the refresh_token grant gets no refresh token.
// autofill: verification_uri_complete, opened as is (the code filled in), the login, approval.
//
// Prints one JSON line per step {step, ok, ...}; exit status 1 when any step failed.
import { mkdirSync, writeFileSync } from 'node:fs';
import * as client from 'openid-client';
import * as oauth from 'oauth4webapi';
import { chromium } from 'playwright-core';
import { clickToPage } from './nav.mjs';

const cfg = JSON.parse(process.argv[2] || '{}');
if (!cfg.base || !cfg.client_id || !cfg.out || !cfg.result) {
    console.error('usage: node device.mjs \'{"mode":…,"base":…,"client_id":…,"out":…,"result":…}\'');
    process.exit(2);
}
const BASE = cfg.base.replace(/\/$/, '');
const DEVICE = cfg.device_id || 'DEVTV00001';
const SCOPE = `openid urn:matrix:client:api:* urn:matrix:client:device:${DEVICE}`;
mkdirSync(`${cfg.out}/screenshots`, { recursive: true });
mkdirSync(`${cfg.out}/html`, { recursive: true });
const result = {};

let failed = 0;
function report(step, ok, extra = {}) {
    if (!ok) failed++;
    console.log(JSON.stringify({ step: `${cfg.mode}: ${step}`, ok, ...extra }));
}
async function step(name, fn) {
    try {
        const extra = await fn();
        report(name, true, extra || {});
        return true;
    } catch (e) {
        const cause = e && e.cause ? ` (cause: ${e.cause.message || JSON.stringify(e.cause)})` : '';
        report(name, false, { error: String(e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e) + cause });
        return false;
    }
}
function expect(cond, what) {
    if (!cond) throw new Error('expected ' + what);
}

// ---- the device -----------------------------------------------------------------------------
let config, as;
async function discover(clientId) {
    const c = await client.discovery(new URL(BASE + '/'), clientId, undefined, client.None());
    return c;
}
// One poll, by oauth4webapi: the token response, or the OAuth error ({error, status}).
async function pollOnce(clientId, deviceCode) {
    const c = { client_id: clientId, token_endpoint_auth_method: 'none' };
    const resp = await oauth.deviceCodeGrantRequest(as, c, oauth.None(), deviceCode);
    const status = resp.status;
    try {
        return { status, tokens: await oauth.processDeviceCodeResponse(as, c, resp) };
    } catch (e) {
        if (e instanceof oauth.ResponseBodyError) return { status, error: e.error };
        throw e;
    }
}

const ok0 = await step('openid-client discovers the device authorization endpoint through nginx', async () => {
    config = await discover(cfg.client_id);
    as = config.serverMetadata();
    expect(as.device_authorization_endpoint === BASE + '/oauth2/device',
        `device_authorization_endpoint ${BASE}/oauth2/device, got ${as.device_authorization_endpoint}`);
    expect((as.grant_types_supported || []).includes('urn:ietf:params:oauth:grant-type:device_code'),
        'the device_code grant in grant_types_supported');
});
if (!ok0) process.exit(1);

// ---- the person -----------------------------------------------------------------------------
const browser = await chromium.launch({
    executablePath: cfg.chromium || '/usr/bin/chromium',
    headless: true,
    chromiumSandbox: false,
    args: ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync',
           '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1'],
});
const cspViolations = [];
const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
await ctx.route(/^(?!https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])[:/])/, (r) => r.abort());
const page = await ctx.newPage();
page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) cspViolations.push(`${page.url()}: ${m.text()}`);
});
const loginPath = /\/login\?kind=continue_device_code_grant&id=([0-9A-Z]{26})$/;
const devicePath = /\/device\/([0-9A-Z]{26})$/;

async function shots(name) {
    for (const width of [375, 1280]) {
        await page.setViewportSize({ width, height: 800 });
        await page.screenshot({ path: `${cfg.out}/screenshots/${name}-${width}.png`, fullPage: true });
    }
    await page.setViewportSize({ width: 1280, height: 800 });
}
function saveHtml(name, html) {
    writeFileSync(`${cfg.out}/html/${name}.html`, html);
}
async function signIn() {
    await page.fill('#username', cfg.user);
    await page.fill('#password', cfg.password);
    await clickToPage(page, () => page.click('form.fields button[type=submit]'));
}
function grantOf(url, re) {
    const m = url.match(re);
    expect(m, `a URL matching ${re}, got ${url}`);
    return m[1];
}
// The code as a person might type it: lower case, a space and a dash in it.
function sloppy(code) {
    const c = code.toLowerCase();
    return ` ${c.slice(0, 3)} - ${c.slice(3)} `;
}
// /link: type the code, Continue; returns the navigation's response.
async function enterCode(typed) {
    await page.goto(`${BASE}/link`);
    await page.fill('#code', typed);
    const [resp] = await Promise.all([
        page.waitForNavigation({ waitUntil: 'load' }),
        page.getByRole('button', { name: 'Continue' }).click(),
    ]);
    return resp;
}
// On the device's consent page: tick the box and grant, or cancel; returns the page's text.
async function decide(grant) {
    if (grant) {
        await page.check('#confirm_device');
        await clickToPage(page, () => page.getByRole('button', { name: 'Grant access' }).click());
    } else {
        await clickToPage(page, () => page.getByRole('button', { name: 'Cancel' }).click());
    }
    return page.locator('main').innerText();
}

function checkTokens(t, { refresh }) {
    expect(/^mat_[A-Za-z0-9]{30}_[A-Za-z0-9]{6}$/.test(t.access_token || ''), `a mat_ access token, got ${t.access_token}`);
    expect(t.token_type.toLowerCase() === 'bearer', `token_type Bearer, got ${t.token_type}`);
    expect(t.expires_in === 300, `expires_in 300, got ${t.expires_in}`);
    expect(t.scope.split(' ').sort().join(' ') === SCOPE.split(' ').sort().join(' '), `the scope, got ${t.scope}`);
    if (refresh) expect(/^mar_/.test(t.refresh_token || ''), `a mar_ refresh token, got ${t.refresh_token}`);
    else expect(t.refresh_token === undefined, `no refresh token, got ${t.refresh_token}`);
    expect(typeof t.id_token === 'string', 'an ID token (openid)');
}

if (cfg.mode === 'main') {
    let da, grant, poll;
    await step('the device authorization response: RFC 8628 §3.2 fields, MAS values', async () => {
        da = await client.initiateDeviceAuthorization(config, { scope: SCOPE });
        expect(/^[A-Za-z0-9]{32}$/.test(da.device_code), `a device code of 32 alphanumerics, got ${da.device_code}`);
        expect(/^[A-Z0-9]{6}$/.test(da.user_code), `a user code of 6 of A-Z0-9, got ${da.user_code}`);
        expect(da.verification_uri === `${BASE}/link`, `verification_uri ${BASE}/link, got ${da.verification_uri}`);
        expect(da.verification_uri_complete === undefined, 'no verification_uri_complete (auto-fill off)');
        expect(da.expires_in === 1200 && da.interval === 5, `expires_in 1200, interval 5, got ${da.expires_in} ${da.interval}`);
        result.flow = { device_code: da.device_code, user_code: da.user_code };
        // the device polls from now on, keeping to the interval
        poll = client.pollDeviceAuthorizationGrant(config, da).then((t) => ({ t }), (e) => ({ e }));
        return { user_code: da.user_code };
    });
    await step('/link: the form (screenshots)', async () => {
        const r = await page.goto(`${BASE}/link`);
        expect(r.status() === 200, `200, got ${r.status()}`);
        saveHtml('link', await r.text());
        await shots('link');
    });
    await step('/link: the code in lower case with a space and a dash leads to the login of the grant', async () => {
        const typed = sloppy(da.user_code);
        await enterCode(typed);
        grant = grantOf(page.url(), loginPath);
        result.flow.grant = grant;
        return { typed, grant };
    });
    await step('the login leads to the device consent page: the client, the device, its code, the checkbox', async () => {
        await signIn();
        expect(grantOf(page.url(), devicePath) === grant, `/device/${grant}, got ${page.url()}`);
        const text = await page.locator('main').innerText();
        for (const s of ['Give access to your account?', da.user_code, 'IP address', '127.0.0.1', 'openid-client/',
                         'Yes, I confirm this is my device', 'Grant access', cfg.user])
            expect(text.includes(s), `the page to show "${s}", got: ${text.slice(0, 600)}`);
        result.flow.page_text = text;
        const r = await ctx.request.get(page.url(), { maxRedirects: 0 });
        expect(r.status() === 200, `200, got ${r.status()}`);
        saveHtml('device', await r.text());
        await shots('device');
    });
    await step('the device is still waiting: its polls answered authorization_pending', async () => {
        const r = await Promise.race([poll, new Promise((res) => setTimeout(() => res('waiting'), 100))]);
        expect(r === 'waiting', `the poll still running, got ${JSON.stringify(r)}`);
    });
    await step('"Grant access": the "Access granted" page (screenshots)', async () => {
        const text = await decide(true);
        expect(text.includes('Access granted') && text.includes('You can close this window'), `Access granted, got: ${text}`);
        saveHtml('granted', await page.content());
        await shots('granted');
    });
    await step('openid-client\'s polling receives the tokens: access, refresh, ID token (verified by openid-client)', async () => {
        const r = await poll;
        if (r.e) throw r.e;
        checkTokens(r.t, { refresh: true });
        const claims = r.t.claims();
        expect(claims.aud === cfg.client_id && claims.iss === `${BASE}/`, `aud and iss, got ${JSON.stringify(claims)}`);
        result.flow.tokens = { access_token: r.t.access_token, refresh_token: r.t.refresh_token, sub: claims.sub };
    });
    await step('reloading the consent page shows the outcome again to who decided it', async () => {
        const r = await page.goto(`${BASE}/device/${grant}`);
        expect(r.status() === 200, `200, got ${r.status()}`);
        expect((await page.locator('main').innerText()).includes('Access granted'), 'Access granted');
    });
    await step('the device code a second time: 400 invalid_grant (single use)', async () => {
        const r = await pollOnce(cfg.client_id, da.device_code);
        expect(r.status === 400 && r.error === 'invalid_grant', `400 invalid_grant, got ${JSON.stringify(r)}`);
    });

    await step('"Cancel": "Access denied" (screenshots), and the device gets access_denied', async () => {
        const d = await client.initiateDeviceAuthorization(config, { scope: SCOPE });
        await enterCode(d.user_code);
        const g = grantOf(page.url(), devicePath); // signed in already: straight to the consent page
        result.denied = { device_code: d.device_code, grant: g };
        const text = await decide(false);
        expect(text.includes('Access denied') && text.includes('You can close this window'), `Access denied, got: ${text}`);
        saveHtml('denied', await page.content());
        await shots('denied');
        const r = await pollOnce(cfg.client_id, d.device_code);
        expect(r.status === 403 && r.error === 'access_denied', `403 access_denied, got ${JSON.stringify(r)}`);
    });

    await step('polling too fast: authorization_pending, then slow_down twice (RFC 8628 §3.5)', async () => {
        const d = await client.initiateDeviceAuthorization(config, { scope: SCOPE });
        result.slow = { device_code: d.device_code, user_code: d.user_code };
        const answers = [];
        for (let i = 0; i < 3; i++) answers.push(await pollOnce(cfg.client_id, d.device_code));
        expect(answers[0].status === 403 && answers[0].error === 'authorization_pending', `first: 403 authorization_pending, got ${JSON.stringify(answers[0])}`);
        for (const a of answers.slice(1))
            expect(a.status === 403 && a.error === 'slow_down', `then 403 slow_down, got ${JSON.stringify(a)}`);
    });

    await step('a wrong code on /link: the form again with an error, 404 (screenshots)', async () => {
        const resp = await enterCode('ZZ-ZZZZ');
        expect(resp.status() === 404, `404, got ${resp.status()}`);
        expect(new URL(page.url()).pathname === '/link', `still /link, got ${page.url()}`);
        const text = await page.locator('main').innerText();
        expect(text.includes('This code is not valid'), `the error, got: ${text}`);
        expect(await page.inputValue('#code') === 'ZZ-ZZZZ', 'the code as typed, to correct it');
        await shots('link-error');
    });

    if (cfg.noref_client_id) {
        await step('a client without the refresh_token grant: the tokens without a refresh token', async () => {
            const c2 = await discover(cfg.noref_client_id);
            const d = await client.initiateDeviceAuthorization(c2, { scope: SCOPE.replace(DEVICE, 'DEVNOREF01') });
            const p = client.pollDeviceAuthorizationGrant(c2, d);
            await enterCode(d.user_code);
            grantOf(page.url(), devicePath);
            await decide(true);
            const t = await p;
            checkTokens({ ...t, scope: t.scope.replace('DEVNOREF01', DEVICE) }, { refresh: false });
            result.noref = { access_token: t.access_token };
        });
    }
} else {
    await step('auto-fill: verification_uri_complete opens the login, then the consent page, no typing', async () => {
        const da = await client.initiateDeviceAuthorization(config, { scope: SCOPE });
        expect(da.verification_uri_complete === `${BASE}/link?code=${da.user_code}`,
            `verification_uri_complete ${BASE}/link?code=${da.user_code}, got ${da.verification_uri_complete}`);
        const poll = client.pollDeviceAuthorizationGrant(config, da);
        await page.goto(da.verification_uri_complete);
        const grant = grantOf(page.url(), loginPath);
        await signIn();
        expect(grantOf(page.url(), devicePath) === grant, `/device/${grant}, got ${page.url()}`);
        expect((await page.locator('main').innerText()).includes(da.user_code), 'the code on the page');
        await decide(true);
        const t = await poll;
        checkTokens(t, { refresh: true });
        result.autofill = { access_token: t.access_token, grant };
    });
    await step('auto-fill: ?code= in lower case with a dash works as well', async () => {
        const da = await client.initiateDeviceAuthorization(config, { scope: SCOPE.replace(DEVICE, 'DEVAUTO002') });
        const code = da.user_code.toLowerCase();
        await page.goto(`${BASE}/link?code=${code.slice(0, 3)}-${code.slice(3)}`);
        grantOf(page.url(), devicePath);
    });
}

await step('Chromium reported no Content-Security-Policy violation on any page', async () => {
    expect(cspViolations.length === 0, `none, got ${JSON.stringify(cspViolations)}`);
});

writeFileSync(cfg.result, JSON.stringify(result));
await browser.close();
process.exit(failed ? 1 : 0);
