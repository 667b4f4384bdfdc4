// What the node drivers that run headless Chromium (playwright-core) against masd share, for
// tests/node/upstream_pages.mjs, upstream_link_pages.mjs and upstream_client.mjs (and, for the
// step protocol and screenshots only, account.mjs, recovery.mjs and register.mjs):
//   - the step protocol: one JSON line {step, ok, ...} per step on stdout, which
//     tests/integration/lib.sh's step_checks turns into checks;
//   - Chromium launched with every request kept on loopback, and the CSP violations it reports;
//   - screenshots at 375 and 1280 px, with the page's HTML beside them;
//   - the test IdP's (tests/node/idp.mjs, oidc-provider's devInteractions) login and consent pages.
import { mkdirSync, writeFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

// report(step, ok, extra): one step's line.
export function report(step, ok, extra = {}) {
    console.log(JSON.stringify({ step, ok, ...extra }));
}
// step(name, fn): runs fn; its result (an object, or nothing) goes into the line; a throw is the
// step's failure, with the first lines of its stack. Returns whether it passed.
export async function step(name, fn) {
    try {
        report(name, true, (await fn()) || {});
        return true;
    } catch (e) {
        report(name, false, { error: String(e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e) });
        return false;
    }
}
// expect(cond, what): throws "expected WHAT" unless cond.
export function expect(cond, what) {
    if (!cond) throw new Error('expected ' + what);
}

// makeOutDirs(out): OUT/screenshots and OUT/html.
export function makeOutDirs(out) {
    mkdirSync(`${out}/screenshots`, { recursive: true });
    mkdirSync(`${out}/html`, { recursive: true });
}

// launch(executablePath): headless Chromium with no name resolution beyond localhost and
// 127.0.0.1. Returns {browser, newContext(opts), cspViolations}: each context ignores the test
// certificate, aborts every request off loopback, and adds every CSP report of its pages'
// consoles to cspViolations.
export async function launch(executablePath) {
    const browser = await chromium.launch({
        executablePath: executablePath || '/usr/bin/chromium',
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
    return { browser, newContext, cspViolations };
}

// shots(page, out, name, html): OUT/screenshots/NAME-375.png and NAME-1280.png (full page), the
// viewport back at 1280; then OUT/html/NAME.html: what html() gives, or the page's HTML when html
// is not given (null: none).
export async function shots(page, out, name, html) {
    for (const width of [375, 1280]) {
        await page.setViewportSize({ width, height: 800 });
        await page.screenshot({ path: `${out}/screenshots/${name}-${width}.png`, fullPage: true });
    }
    await page.setViewportSize({ width: 1280, height: 800 });
    if (html === null) return;
    writeFileSync(`${out}/html/${name}.html`, html ? await html() : await page.content());
}

// idpSignIn(page, issuer, user): the IdP's login (as USER, any password) and consent pages,
// until the browser leaves ISSUER (four pages at most). Returns the pages seen, in order
// ('login' or 'consent').
export async function idpSignIn(page, issuer, user) {
    const seen = [];
    for (let i = 0; i < 4 && page.url().startsWith(issuer); i++) {
        const nav = page.waitForNavigation({ waitUntil: 'load' });
        if (await page.locator('input[name=login]').count()) {
            seen.push('login');
            await page.fill('input[name=login]', user);
            await page.fill('input[name=password]', 'x');
        } else {
            seen.push('consent');
        }
        await page.locator('button[type=submit]').first().click();
        await nav;
        await page.waitForLoadState('load');
    }
    return seen;
}
