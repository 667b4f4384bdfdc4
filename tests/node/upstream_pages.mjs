// The upstream sign-in's pages in headless Chromium (playwright-core), for
// tests/integration/upstream.sh:
//
//   node upstream_pages.mjs CONFIG-JSON
//     {base, provider (a form_post provider), query_provider, authorize_path (an OAuth
//      authorization that then waits), issuer, chromium, out, pages: {name: path}}
//
// 1. The whole form_post sign-in as a browser makes it: masd's authorize, the IdP's login and
//    consent pages (devInteractions), the IdP's auto-posting form. That POST is cross-site (the
//    IdP is http://127.0.0.1:<port>, masd https://127.0.0.1:<port>: another scheme, another site),
//    so the SameSite=Lax cookie stays behind; masd answers with its re-post page, whose script
//    (allowed by the CSP's nonce) posts again from masd's own origin with the cookie, and the
//    browser arrives at /upstream/link/{id}. No CSP violation on the way.
// 2. Screenshots at 375 and 1280 px: the IdP's error with "Return to the application", each page
//    of `pages`, and the re-post page as a browser without scripting sees it.
// Prints one JSON line per step {step, ok, ...} and "done" at the end.
import { mkdirSync, writeFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const cfg = JSON.parse(process.argv[2] || '{}');
const BASE = cfg.base.replace(/\/$/, '');
mkdirSync(`${cfg.out}/screenshots`, { recursive: true });
mkdirSync(`${cfg.out}/html`, { recursive: true });

function report(step, ok, extra = {}) {
    console.log(JSON.stringify({ step, ok, ...extra }));
}
async function step(name, fn) {
    try {
        report(name, true, (await fn()) || {});
        return true;
    } catch (e) {
        report(name, false, { error: String(e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e) });
        return false;
    }
}
function expect(cond, what) {
    if (!cond) throw new Error('expected ' + what);
}

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
async function shots(page, name, response) {
    for (const width of [375, 1280]) {
        await page.setViewportSize({ width, height: 800 });
        await page.screenshot({ path: `${cfg.out}/screenshots/${name}-${width}.png`, fullPage: true });
    }
    await page.setViewportSize({ width: 1280, height: 800 });
    if (response) writeFileSync(`${cfg.out}/html/${name}.html`, await response.text());
}
// The IdP's login and consent pages (oidc-provider's devInteractions), until the browser leaves.
async function idpSignIn(page) {
    for (let i = 0; i < 4 && page.url().startsWith(cfg.issuer); i++) {
        const nav = page.waitForNavigation({ waitUntil: 'load' });
        if (await page.locator('input[name=login]').count()) {
            await page.fill('input[name=login]', 'alice');
            await page.fill('input[name=password]', 'x');
        }
        await page.locator('button[type=submit]').first().click();
        await nav;
        await page.waitForLoadState('load');
    }
}

const ctx = await newContext();
const page = await ctx.newPage();
await step('Chromium: a form_post sign-in: the IdP\'s cross-site post comes without our cookie, the re-post page carries it, the browser arrives at /upstream/link/{id}', async () => {
    const posts = [];
    page.on('request', (r) => {
        if (r.method() === 'POST' && r.url() === `${BASE}/upstream/callback/${cfg.provider}`)
            posts.push({ body: r.postData() || '', cookie: r.headers().cookie || '' });
    });
    const seen = [];
    page.on('response', (r) => seen.push(`${r.status()} ${r.request().method()} ${r.url()}`));
    await page.goto(`${BASE}/upstream/authorize/${cfg.provider}`);
    expect(page.url().startsWith(`${cfg.issuer}/interaction/`), `the IdP's login page, got ${page.url()}`);
    await idpSignIn(page);
    await page.waitForURL(/\/upstream\/link\/[0-9A-Z]{26}$/, { timeout: 10000 });
    const allHeaders = async () => (await page.context().cookies(BASE)).map((c) => c.name);
    expect(posts.length === 2, `two POSTs to the callback, got ${posts.length}: ${JSON.stringify(seen)}`);
    expect(!/did_mas_repost_to_itself/.test(posts[0].body) && !/upstream-oauth2-sessions=/.test(posts[0].cookie),
        `the IdP's post without our cookie, got ${JSON.stringify(posts[0])}`);
    expect(/did_mas_repost_to_itself=true/.test(posts[1].body) && /upstream-oauth2-sessions=/.test(posts[1].cookie),
        `the re-post with our cookie, got ${JSON.stringify(posts[1])}`);
    expect(seen.some((s) => s.startsWith(`200 POST ${BASE}/upstream/callback/`)) &&
        seen.some((s) => s.startsWith(`303 POST ${BASE}/upstream/callback/`)), `200 then 303 at the callback, got ${JSON.stringify(seen)}`);
    return { link: page.url().split('/').pop(), cookies: await allHeaders() };
});

await step('Chromium: the IdP\'s error while an OAuth authorization waits: 400 page offering to return to the application (375 and 1280 px)', async () => {
    let state = null;
    page.on('request', (r) => {
        if (r.url().startsWith(`${cfg.issuer}/auth?`)) state = new URL(r.url()).searchParams.get('state');
    });
    const g = await page.goto(`${BASE}${cfg.authorize_path}`);
    const grant = new URL(page.url()).searchParams.get('id');
    expect(grant, `the login page with the grant, got ${page.url()} (${g.status()})`);
    await page.goto(`${BASE}/upstream/authorize/${cfg.query_provider}?kind=continue_authorization_grant&id=${grant}`);
    expect(state, 'the state sent to the IdP');
    const resp = await page.goto(`${BASE}/upstream/callback/${cfg.query_provider}?error=access_denied&error_description=The+user+said+no&state=${state}`);
    expect(resp.status() === 400, `400, got ${resp.status()}`);
    const ret = page.locator('a', { hasText: 'Return to the application' });
    expect(await ret.count() === 1, 'the return link');
    expect(/error=access_denied/.test(await ret.getAttribute('href')), 'access_denied for the client');
    await shots(page, 'idp-error', resp);
});

for (const [name, path] of Object.entries(cfg.pages || {})) {
    await step(`Chromium: the ${name} page (375 and 1280 px)`, async () => {
        const resp = await page.goto(`${BASE}${path}`);
        expect(resp.status() >= 400 && resp.status() < 600 && resp.status() !== 500, `an error status other than 500, got ${resp.status()}`);
        expect(await page.locator('h1').count() === 1, 'a heading');
        expect(await page.locator('.actions a').count() >= 1, 'a way back');
        await shots(page, name, resp);
        return { status: resp.status(), heading: await page.locator('h1').innerText() };
    });
}

await step('Chromium without scripting: the re-post page shows its Continue button (375 and 1280 px)', async () => {
    const nojs = await newContext({ javaScriptEnabled: false });
    const p = await nojs.newPage();
    const url = `${BASE}/upstream/callback/${cfg.provider}`;
    await p.route(url, (r) => r.continue({
        method: 'POST',
        headers: { ...r.request().headers(), 'content-type': 'application/x-www-form-urlencoded' },
        postData: `code=the-code&state=the-state&iss=${encodeURIComponent(cfg.issuer)}`,
    }));
    const resp = await p.goto(url);
    expect(resp.status() === 200, `200, got ${resp.status()}`);
    expect(await p.locator('button[type=submit]').count() === 1, 'the Continue button');
    expect(await p.locator('input[name=did_mas_repost_to_itself]').count() === 1, 'the flag');
    await shots(p, 'repost', resp);
    await nojs.close();
});

await step('no Content-Security-Policy violation', async () => {
    expect(cspViolations.length === 0, `none, got ${JSON.stringify(cspViolations)}`);
});
await browser.close();
console.log('done');
