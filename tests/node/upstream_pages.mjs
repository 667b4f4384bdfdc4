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
import { expect, idpSignIn as signInAt, launch, makeOutDirs, shots as shotsIn, step } from './browser.mjs';

const cfg = JSON.parse(process.argv[2] || '{}');
const BASE = cfg.base.replace(/\/$/, '');
makeOutDirs(cfg.out);

const { browser, newContext, cspViolations } = await launch(cfg.chromium);
// the screenshots, with the HTML of the response when there is one
const shots = (page, name, response) => shotsIn(page, cfg.out, name, response ? () => response.text() : null);
// the IdP's pages as alice, until the browser leaves
const idpSignIn = (page) => signInAt(page, cfg.issuer, 'alice');

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
