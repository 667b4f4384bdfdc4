// Drives headless Chromium (playwright-core, Debian's /usr/bin/chromium) through a registration
// as a person does it, starting where an OIDC-native client sends them: an authorization request
// with prompt=create, built by openid-client 6. The form with a mistake first (the two passwords
// differ), then the registration token, the display name, the consent, and the code at the
// client's redirect URI. Screenshots (375 and 1280 px wide, full page) and the HTML of every page
// of the registration go to OUT-DIR.
//
//   node register.mjs CONFIG-JSON
//     {base, client_id, callback_port, out, username, email, mail_dir, password, token, chromium}
//
// The e-mail's code is read from the message the test's SMTP server wrote to mail_dir.
//
// Prints one JSON line per step {step, ok, ...}; exit status 1 when any step failed.
import { readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import * as client from 'openid-client';
import { chromium } from 'playwright-core';
import { expect, makeOutDirs, step as runStep, shots as pageShots } from './browser.mjs';

const cfg = JSON.parse(process.argv[2] || '{}');
const BASE = cfg.base.replace(/\/$/, '');
const REDIRECT = `http://127.0.0.1:${cfg.callback_port}/callback`;
makeOutDirs(cfg.out);

let failed = 0;
async function step(name, fn) {
    if (!(await runStep(name, fn))) failed++;
}

// The client's redirect URI: records the query that arrives.
let arrived = null;
const server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://127.0.0.1');
    if (u.pathname === '/callback') arrived = Object.fromEntries(u.searchParams);
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
const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
const page = await ctx.newPage();
const csp = [];
page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) csp.push(m.text());
});

async function shots(name) {
    await pageShots(page, cfg.out, name);
}
async function submit(selector = 'form.fields button[type=submit]') {
    await Promise.all([page.waitForLoadState('load'), page.waitForNavigation(), page.click(selector)]);
}

let verifier, state;
await step('openid-client builds the authorization URL with prompt=create; the browser lands on the registration form', async () => {
    const config = await client.discovery(new URL(BASE + '/'), cfg.client_id, undefined, client.None(), {
        execute: [client.allowInsecureRequests],
    });
    verifier = client.randomPKCECodeVerifier();
    state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT,
        scope: 'openid urn:matrix:client:api:*',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        prompt: 'create',
    });
    await page.goto(url.href);
    expect(new URL(page.url()).pathname === '/register/password', `/register/password, got ${page.url()}`);
    expect(await page.isVisible('#accept_terms'), 'the terms checkbox');
    await shots('register-form');
});

// The code in the newest message to the address (its subject: "NNNNNN is your code for …").
async function mailedCode(address) {
    for (let i = 0; i < 100; i++) {
        const files = readdirSync(cfg.mail_dir).filter((f) => f.endsWith('.eml'))
            .sort((a, b) => parseInt(b) - parseInt(a));
        for (const f of files) {
            const m = readFileSync(`${cfg.mail_dir}/${f}`, 'utf8');
            if (m.includes(`To: ${address}`)) return m.match(/^Subject: (\d{6}) /m)[1];
        }
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no e-mail to ${address}`);
}

await step('the passwords differ: the form again, the error on the field, the username kept', async () => {
    await page.fill('#username', cfg.username);
    await page.fill('#email', cfg.email);
    await page.fill('#password', cfg.password);
    await page.fill('#password_confirm', cfg.password + 'x');
    await page.check('#accept_terms');
    await submit();
    expect((await page.textContent('body')).includes('The two passwords are not the same.'), 'the mismatch error');
    expect((await page.inputValue('#username')) === cfg.username, 'the username kept');
    expect((await page.getAttribute('#password_confirm', 'aria-invalid')) === 'true', 'the field marked invalid');
    await shots('register-form-error');
});

await step('the form again, right: on to the registration token', async () => {
    await page.fill('#password', cfg.password);
    await page.fill('#password_confirm', cfg.password);
    await page.check('#accept_terms');
    await submit();
    expect(/\/register\/steps\/[0-9A-Z]{26}\/token$/.test(page.url()), `the token step, got ${page.url()}`);
    await shots('register-token');
});

await step('a wrong token: the error; the right one: the e-mail code', async () => {
    await page.fill('#token', 'not-the-token');
    await submit();
    expect((await page.textContent('body')).includes('This token is not valid'), 'the token error');
    await shots('register-token-error');
    await page.fill('#token', cfg.token);
    await submit();
    expect(/\/verify-email$/.test(page.url()), `the verify-email step, got ${page.url()}`);
    await shots('register-verify-email');
});

await step('the code from the e-mail: the display name', async () => {
    await page.fill('#code', await mailedCode(cfg.email));
    await submit();
    expect(/\/display-name$/.test(page.url()), `the display-name step, got ${page.url()}`);
    await shots('register-display-name');
});

await step('a display name: the account exists and the consent of the client comes next', async () => {
    await page.fill('#display_name', 'Dana Example');
    await submit();
    expect(/\/consent\/[0-9A-Z]{26}$/.test(page.url()), `the consent page, got ${page.url()}`);
    expect((await page.textContent('body')).includes(cfg.username), 'the new account on the consent page');
});

await step('Continue: the code and the state at the client', async () => {
    await Promise.all([page.waitForURL(/127\.0\.0\.1:\d+\/callback/), page.click('form button.primary')]);
    expect(arrived && arrived.code && arrived.state === state, `code and state, got ${JSON.stringify(arrived)}`);
});

await step('Chromium reported no Content-Security-Policy violation on any page', async () => {
    expect(csp.length === 0, `none, got ${JSON.stringify(csp)}`);
});

await browser.close();
server.close();
process.exit(failed ? 1 : 0);
