// Drives headless Chromium (playwright-core, Debian's /usr/bin/chromium) through the account's
// session pages as a person uses them (services/human/sessions.c): an MSC4191 deep link opened in a
// signed-out browser lands, after the login, on the session of the device it names; an OAuth
// client (openid-client 6, code flow with PKCE) signs in with a device scope from the same
// browser; the list shows the compat session (made by the test before) and the OAuth one, with
// their user agents parsed; the compat session is renamed, the OAuth session ended; the other
// deep links; the browsers page; ending this browser's own session signs it out. Screenshots
// (375 and 1280 px wide, full page) and the HTML of each page go to OUT-DIR.
//
//   node account_sessions.mjs CONFIG-JSON
//     {base, client_id, callback_port, out, user, password, compat_device, chromium}
//
// Prints one JSON line per step {step, ok, ...} (the OAuth session's access token in the line of
// its step, for the shell to introspect); exit status 1 when any step failed.
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import * as client from 'openid-client';
import { chromium } from 'playwright-core';

const cfg = JSON.parse(process.argv[2] || '{}');
const BASE = cfg.base.replace(/\/$/, '');
const REDIRECT = `http://127.0.0.1:${cfg.callback_port}/callback`;
const OAUTH_DEVICE = 'OAUTHDEV01';
mkdirSync(`${cfg.out}/screenshots`, { recursive: true });
mkdirSync(`${cfg.out}/html`, { recursive: true });

let failed = 0;
const started = Date.now();
async function step(name, fn) {
    try {
        const extra = await fn();
        console.log(JSON.stringify({ step: name, ok: true, ms: Date.now() - started, ...(extra || {}) }));
        return true;
    } catch (e) {
        failed++;
        const detail = e && e.error ? ` (${e.error}: ${e.error_description})` : '';
        console.log(JSON.stringify({ step: name, ok: false, error: String(e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e) + detail }));
        return false;
    }
}
function expect(cond, what) {
    if (!cond) throw new Error('expected ' + what);
}

let arrived = null;
const server = http.createServer((req, res) => {
    const u = new URL(req.url, REDIRECT);
    if (u.pathname === '/callback') arrived = u;
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!DOCTYPE html><title>callback</title><p>callback</p>');
});
await new Promise((r) => server.listen(cfg.callback_port, '127.0.0.1', r));

const browser = await chromium.launch({
    executablePath: cfg.chromium || '/usr/bin/chromium',
    headless: true,
    chromiumSandbox: false,
    args: ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync',
           '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1'],
});
const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 },
                                       userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36' });
await ctx.route(/^(?!https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])[:/])/, (r) => r.abort());
const page = await ctx.newPage();
const csp = [];
page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) csp.push(m.text());
});

async function shots(name) {
    if (cfg.shots === false) return;
    for (const width of [375, 1280]) {
        await page.setViewportSize({ width, height: 800 });
        await page.screenshot({ path: `${cfg.out}/screenshots/${name}-${width}.png`, fullPage: true });
    }
    await page.setViewportSize({ width: 1280, height: 800 });
    writeFileSync(`${cfg.out}/html/${name}.html`, await page.content());
}
async function go(path) {
    const r = await page.goto(BASE + path);
    return r;
}
async function click(selector) {
    await Promise.all([page.waitForNavigation(), page.click(selector)]);
}
const path = () => new URL(page.url()).pathname + new URL(page.url()).search;
const text = async () => page.textContent('main');

let compatUrl;
await step('a signed-out browser opens ?action=org.matrix.session_view&device_id=…: the login first', async () => {
    await go(`/account/?action=org.matrix.session_view&device_id=${cfg.compat_device}`);
    expect(/^\/login\?kind=manage_account&action=org.matrix.session_view&device_id=/.test(path()), `the login with the action, got ${path()}`);
    await page.fill('#username', cfg.user);
    await page.fill('#password', cfg.password);
    await click('form.fields button[type=submit]');
    compatUrl = path();
    expect(/^\/account\/sessions\/[0-9A-Z]{26}$/.test(compatUrl), `the compat session's page after the login, got ${compatUrl}`);
    const t = await text();
    expect(t.includes(cfg.compat_device), `the device ${cfg.compat_device} on the page`);
    expect(t.includes('Element') && t.includes('Android') && t.includes('Mobile'), `the user agent parsed (Element, Android, Mobile): ${t}`);
    await shots('session-compat');
});

let accessToken;
await step('an OAuth client signs in from the same browser with a device scope (code flow, PKCE)', async () => {
    const config = await client.discovery(new URL(BASE + '/'), cfg.client_id, undefined, client.None());
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT, scope: `openid urn:matrix:client:api:* urn:matrix:client:device:${OAUTH_DEVICE}`,
        code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state,
    });
    await page.goto(url.href);
    expect(/^\/consent\//.test(path()), `the consent page, got ${path()}`);
    await Promise.all([page.waitForURL(/127\.0\.0\.1:\d+\/callback/), page.click('main form button.primary')]);
    expect(arrived, 'the code at the redirect URI');
    const tokens = await client.authorizationCodeGrant(config, arrived, { pkceCodeVerifier: verifier, expectedState: state });
    accessToken = tokens.access_token;
    expect(accessToken, 'an access token');
    return { access_token: accessToken };
});

let oauthUrl;
await step('/account/sessions lists both, newest first, with their client, device and user agent', async () => {
    await go('/account/sessions');
    expect(path() === '/account/sessions', `the list, got ${path()}`);
    const items = await page.$$eval('ul.session-list li a.session-name', (as) => as.map((a) => [a.textContent.trim(), a.getAttribute('href')]));
    expect(items.length >= 3, `two app sessions and this browser, got ${JSON.stringify(items)}`);
    expect(items[0][0] === 'Test Client', `the OAuth session first (newest), named by its client, got ${JSON.stringify(items)}`);
    expect(items[1][0] === 'Old phone' && items[1][1] === compatUrl, `the compat session second, named by its initial display name, got ${JSON.stringify(items)}`);
    oauthUrl = items[0][1];
    const t = await text();
    expect(t.includes(OAUTH_DEVICE) && t.includes(cfg.compat_device), 'both device IDs');
    expect(t.includes('Active browser sessions: 1.'), 'the browser summary');
    await shots('sessions');
});

await step('rename the compat session: the form posts back, the page shows the new name', async () => {
    await go(compatUrl);
    await page.fill('#name', '  Alice’s phone  ');
    await click('form.fields button[type=submit]');
    expect(path() === compatUrl, `back on the session's page, got ${path()}`);
    expect((await page.textContent('h1')).trim() === 'Alice’s phone', `the new name in the heading, got ${await page.textContent('h1')}`);
});

await step('end the OAuth session: back to the list, which no longer has it', async () => {
    await go(oauthUrl);
    await shots('session-oauth');
    await click('form.actions button.destructive');
    expect(path() === '/account/sessions', `the list, got ${path()}`);
    const hrefs = await page.$$eval('ul.session-list li a.session-name', (as) => as.map((a) => a.getAttribute('href')));
    expect(!hrefs.includes(oauthUrl), `the ended session gone, got ${JSON.stringify(hrefs)}`);
    await go(oauthUrl);
    expect((await text()).includes('This session has ended.'), 'its page says it ended');
});

await step('deep links of a signed-in browser: sessions_list → the list, device_delete → the device\'s session, unknown → ignored', async () => {
    await go('/account/?action=org.matrix.sessions_list');
    expect(path() === '/account/sessions', `sessions_list, got ${path()}`);
    await go('/account/?action=org.matrix.devices_list');
    expect(path() === '/account/sessions', `devices_list, got ${path()}`);
    await go(`/account/?action=org.matrix.device_delete&device_id=${cfg.compat_device}`);
    expect(path() === compatUrl, `device_delete, got ${path()}`);
    await go(`/account/?action=session_end&device_id=${cfg.compat_device}`);
    expect(path() === compatUrl, `session_end, got ${path()}`);
    await go('/account/?action=org.matrix.frobnicate');
    expect(!path().startsWith('/account/sessions'), `an unknown action: not the sessions, got ${path()}`);
    const r = await go('/account/devices/NOSUCHDEVICE');
    expect(r.status() === 404, `an unknown device: 404, got ${r.status()}`);
    await shots('session-not-found');
});

await step('the inactive view and the browsers page', async () => {
    await go('/account/sessions?inactive=true');
    expect((await text()).includes('Inactive sessions'), 'the inactive heading');
    await shots('sessions-inactive');
    await go('/account/sessions/browsers');
    let t = await text();
    expect(t.includes('This browser') && t.includes('Chrome on Linux'), `this browser, parsed: ${t}`);
    // its last-active address, once the activity flusher wrote it (every 5 s)
    for (let i = 0; i < 30 && !t.includes('127.0.0.1'); i++) {
        await new Promise((r) => setTimeout(r, 500));
        await go('/account/sessions/browsers');
        t = await text();
    }
    expect(t.includes('127.0.0.1'), `the last-active address, got ${t}`);
    await shots('sessions-browsers');
});

await step('ending this browser\'s own session signs it out', async () => {
    const href = await page.$eval('ul.session-list li a.session-name', (a) => a.getAttribute('href'));
    await go(href);
    const d = await text();
    expect(d.includes('You are using this browser session now.'), 'the current session marked');
    expect(d.includes('127.0.0.1'), `the last-active address, got ${d}`);
    await shots('session-browser');
    await click('form.actions button.destructive');
    expect(path() === '/login', `the login, got ${path()}`);
    await go('/account/sessions');
    expect(path().startsWith('/login?kind=manage_account&action=org.matrix.sessions_list'), `signed out: the list asks for the login, got ${path()}`);
});

await step('no Content Security Policy violation on any page', async () => {
    expect(csp.length === 0, `none, got ${JSON.stringify(csp)}`);
});

await browser.close();
server.close();
process.exit(failed ? 1 : 0);
