// A legacy Matrix client signing in through masd's compat SSO, as a client that knows only
// m.login.sso does it: matrix-js-sdk 37 (loginFlows, getSsoLoginUrl, loginRequest with
// m.login.token) runs here in Node; headless Chromium (playwright-core) is the person who signs
// in and confirms at masd-human's pages; a loopback HTTP server of this script is the client's
// redirectUrl. Used by tests/integration/compat_sso.sh:
//
//   node compat_sso.mjs CONFIG-JSON
//     {base, callback_port, user, password, other_user, chromium, hs_record, out, result}
//
// Prints one JSON line per step {step, ok, ...}; writes the token, the device and the login's ID
// to RESULT for the shell half (introspection, the database); screenshots of the confirmation
// page (375 and 1280 px, light and dark) and its HTML to OUT. Exit status 1 when any step failed.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import * as sdk from 'matrix-js-sdk';
import { logger } from 'matrix-js-sdk/lib/logger.js';
import { chromium } from 'playwright-core';
import { clickToPage } from './nav.mjs';

const cfg = JSON.parse(process.argv[2] || '{}');
const BASE = cfg.base.replace(/\/$/, '');
// Its own query and fragment must come back as they were, loginToken added to the query.
const REDIRECT = `http://127.0.0.1:${cfg.callback_port}/sso-callback?state=s%201&x=a/b`;
const FRAGMENT = '#/room/!abc:example.com';
mkdirSync(`${cfg.out}/screenshots`, { recursive: true });
mkdirSync(`${cfg.out}/html`, { recursive: true });
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
async function expectMatrixError(fn, errcode, status, error) {
    try {
        await fn();
    } catch (e) {
        expect(e instanceof sdk.MatrixError, `a MatrixError, got ${e?.constructor?.name}: ${e}`);
        expect(e.errcode === errcode && e.httpStatus === status, `${status} ${errcode}, got ${e.httpStatus} ${e.errcode}`);
        expect(!error || e.data.error === error, `"${error}", got "${e.data.error}"`);
        return { errcode: e.errcode, httpStatus: e.httpStatus, error: e.data.error };
    }
    throw new Error(`expected ${errcode}, the call succeeded`);
}

// ---- the client's redirectUrl ----------------------------------------------------------------
const arrivals = [];
let onArrival = null;
const server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://127.0.0.1');
    if (u.pathname === '/sso-callback') {
        arrivals.push(u);
        onArrival?.();
    }
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end('<!DOCTYPE html><title>signed in</title><p>You may close this window.</p>');
});
await new Promise((resolve) => server.listen(cfg.callback_port, '127.0.0.1', resolve));

const result = {};
const done = async (browser) => {
    await browser?.close();
    writeFileSync(cfg.result, JSON.stringify(result));
    server.close();
    process.exit(failed ? 1 : 0);
};

const client = sdk.createClient({ baseUrl: BASE });

await step('loginFlows: m.login.password, m.login.sso with MAS\'s flags, m.login.token', async () => {
    const r = await client.loginFlows();
    const types = r.flows.map((f) => f.type);
    expect(JSON.stringify(types) === '["m.login.password","m.login.sso","m.login.token"]', `the three flows, got ${types}`);
    const sso = r.flows[1];
    expect(sso.oauth_aware_preferred === true && sso['org.matrix.msc3824.delegated_oidc_compatibility'] === true,
        `MAS's flags, got ${JSON.stringify(sso)}`);
    return { flows: types };
});

let ssoUrl;
await step('getSsoLoginUrl: the homeserver\'s /login/sso/redirect with the redirectUrl and the action', async () => {
    ssoUrl = client.getSsoLoginUrl(REDIRECT + FRAGMENT, 'sso', undefined, sdk.SSOAction?.LOGIN ?? 'login');
    const u = new URL(ssoUrl);
    expect(u.pathname === '/_matrix/client/v3/login/sso/redirect', `the v3 redirect path, got ${u.pathname}`);
    expect(u.searchParams.get('redirectUrl') === REDIRECT + FRAGMENT, `the redirectUrl, got ${u.searchParams.get('redirectUrl')}`);
    return { url: ssoUrl };
}) || (await done());

// ---- the person, in Chromium -------------------------------------------------------------------
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
    await ctx.route(/^(?!https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])[:/])/, (r) => r.abort());
    ctx.on('page', (page) => page.on('console', (m) => {
        if (/Content Security Policy|Refused to/i.test(m.text())) cspViolations.push(`${page.url()}: ${m.text()}`);
    }));
    return ctx;
}
const ctx = await newContext();
const page = await ctx.newPage();
const completePath = /\/complete-compat-sso\/([0-9A-Z]{26})(\?|$)/;
let loginId;

await step('Chromium: the SSO URL leads through /complete-compat-sso/{id} to the login page with the action', async () => {
    const seen = [];
    page.on('response', (r) => seen.push(`${r.status()} ${r.url()}`));
    await page.goto(ssoUrl);
    const hop = seen.find((s) => completePath.test(s));
    expect(hop && /^303 /.test(hop), `a 303 at /complete-compat-sso/{id}, got ${JSON.stringify(seen)}`);
    expect(/action=login&org\.matrix\.msc3824\.action=login$/.test(hop), `MSC3824's action carried, got ${hop}`);
    loginId = hop.match(completePath)[1];
    result.login_id = loginId;
    expect(page.url() === `${BASE}/login?kind=continue_compat_sso_login&id=${loginId}`, `the login page with the action, got ${page.url()}`);
    expect(await page.locator('#username').count() === 1, 'the login form');
    return { login_id: loginId };
}) || (await done(browser));

let confirmResponse;
await step('Chromium: signing in leads to the confirmation page naming the redirect and the account', async () => {
    await page.fill('#username', cfg.user);
    await page.fill('#password', cfg.password);
    const resp = await clickToPage(page, () => page.click('form.fields button[type=submit]'));
    confirmResponse = resp;
    expect(completePath.test(resp.url()) && resp.request().method() === 'GET' && page.url() === resp.url(),
           `the GET of /complete-compat-sso/{id}, got ${resp.request().method()} ${resp.url()} at ${page.url()}`);
    expect(resp.status() === 200, `200, got ${resp.status()}`);
    const h1 = await page.locator('h1').innerText();
    expect(h1 === `Continue to http://127.0.0.1:${cfg.callback_port}/sso-callback?`, `the redirect named in the heading, got ${h1}`);
    const text = await page.locator('main').innerText();
    expect(text.includes(`@${cfg.user}:example.com`), `the account on the page, got ${text.slice(0, 300)}`);
    const csp = (await resp.allHeaders())['content-security-policy'];
    expect(csp.includes(`form-action 'self' http://127.0.0.1:${cfg.callback_port};`), `the redirect's origin in form-action, got ${csp}`);
}) || (await done(browser));

await step('screenshots of the confirmation page: 375 and 1280 px, light and dark; its HTML', async () => {
    for (const scheme of ['light', 'dark']) {
        await page.emulateMedia({ colorScheme: scheme });
        for (const width of [375, 1280]) {
            await page.setViewportSize({ width, height: 800 });
            await page.screenshot({ path: `${cfg.out}/screenshots/sso-${scheme}-${width}.png`, fullPage: true });
        }
    }
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 1280, height: 800 });
    writeFileSync(`${cfg.out}/html/sso.html`, await confirmResponse.text());
});

let token;
await step('Chromium: Continue sends the browser to the redirectUrl with loginToken; its query and fragment kept', async () => {
    const arrived = new Promise((resolve, reject) => {
        onArrival = resolve;
        setTimeout(() => reject(new Error('nothing arrived at the redirectUrl in 10 s')), 10000);
    });
    await page.getByRole('button', { name: 'Continue' }).click();
    await arrived;
    await page.waitForURL((u) => u.href.startsWith(REDIRECT), { waitUntil: 'load' });
    const at = arrivals[0];
    token = at.searchParams.get('loginToken');
    expect(/^[A-Za-z0-9]{32}$/.test(token || ''), `a 32-character loginToken, got ${at}`);
    expect(at.searchParams.get('state') === 's 1' && at.searchParams.get('x') === 'a/b', `the URL's own query, got ${at.search}`);
    expect(page.url() === `${REDIRECT}&loginToken=${token}${FRAGMENT}`, `loginToken appended before the fragment, got ${page.url()}`);
    result.login_token = token;
}) || (await done(browser));

let hsBefore = 0;
await step('loginRequest m.login.token: an mct_ token for the user, on a new device', async () => {
    hsBefore = hsCalls().length;
    const r = await client.loginRequest({ type: 'm.login.token', token, initial_device_display_name: 'SSO test client' });
    expect(/^mct_/.test(r.access_token) && r.user_id === `@${cfg.user}:example.com`, `an mct_ token for the user, got ${JSON.stringify(r)}`);
    expect(/^[A-Za-z0-9]{10}$/.test(r.device_id) && !r.refresh_token, `a drawn device, no refresh token, got ${JSON.stringify(r)}`);
    Object.assign(result, { access_token: r.access_token, device_id: r.device_id });
    return { device_id: r.device_id };
});

await step('the homeserver got upsert_device for the device before the answer', async () => {
    const up = hsCalls().slice(hsBefore).find((c) => c.path === '/_synapse/mas/upsert_device');
    const body = JSON.stringify(up ?? {});
    expect(up && body.includes(`"device_id":"${result.device_id}"`) && body.includes(`"localpart":"${cfg.user}"`),
        `upsert_device for the device, got ${body}`);
});

await step('the same loginToken a second time: 403 M_FORBIDDEN "Invalid login token"', async () =>
    expectMatrixError(() => client.loginRequest({ type: 'm.login.token', token }), 'M_FORBIDDEN', 403, 'Invalid login token'));

await step('a loginToken never issued: 403 M_FORBIDDEN "Invalid login token"', async () =>
    expectMatrixError(() => client.loginRequest({ type: 'm.login.token', token: 'A'.repeat(32) }), 'M_FORBIDDEN', 403,
        'Invalid login token'));

await step('the confirmation page of the used login: 409 error page', async () => {
    const r = await page.goto(`${BASE}/complete-compat-sso/${loginId}`);
    expect(r.status() === 409, `409, got ${r.status()}`);
    expect((await page.locator('h1').innerText()) === 'This sign-in request was already used', 'the used page');
});

await step('a second SSO login with refresh_token and a chosen device: no login asked, mcr_ token too', async () => {
    arrivals.length = 0;
    await page.goto(client.getSsoLoginUrl(REDIRECT));
    expect(completePath.test(page.url()), `straight to the confirmation page, got ${page.url()}`);
    const arrived = new Promise((resolve) => { onArrival = resolve; });
    await page.getByRole('button', { name: 'Continue' }).click();
    await arrived;
    await page.waitForURL((u) => u.href.startsWith(REDIRECT), { waitUntil: 'load' });
    const t = arrivals[0].searchParams.get('loginToken');
    const r = await client.loginRequest({ type: 'm.login.token', token: t, device_id: 'SSODEVICE2', refresh_token: true });
    expect(r.device_id === 'SSODEVICE2' && /^mcr_/.test(r.refresh_token) && r.expires_in_ms === 300000,
        `the device and a refresh token, got ${JSON.stringify(r)}`);
    result.second = { access_token: r.access_token, device_id: r.device_id };
});

await step('"Use another account" signs out and comes back to the same login through the login page', async () => {
    await page.goto(client.getSsoLoginUrl(REDIRECT));
    const id = page.url().match(completePath)[1];
    await clickToPage(page, () => page.getByRole('button', { name: 'Use another account' }).click());
    expect(page.url() === `${BASE}/login?kind=continue_compat_sso_login&id=${id}`, `the login page with the action, got ${page.url()}`);
    await page.fill('#username', cfg.other_user);
    await page.fill('#password', cfg.password);
    await clickToPage(page, () => page.click('form.fields button[type=submit]'));
    expect(page.url() === `${BASE}/complete-compat-sso/${id}`, `back at the confirmation page, got ${page.url()}`);
    const text = await page.locator('main').innerText();
    expect(text.includes(`@${cfg.other_user}:example.com`), `the other account, got ${text.slice(0, 200)}`);
});

await step('Chromium reported no Content-Security-Policy violation', async () => {
    expect(cspViolations.length === 0, `none, got ${JSON.stringify(cspViolations)}`);
});

await done(browser);
