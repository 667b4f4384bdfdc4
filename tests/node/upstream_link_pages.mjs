// The link page and the providers' buttons in headless Chromium (playwright-core), for
// tests/integration/upstream_link.sh:
//
//   node upstream_link_pages.mjs CONFIG-JSON
//     {base, issuer, chromium, out, view (a provider that suggests "<name>2" and asks the IdP for
//      prompt=login), register (alice's and bob's linked provider), fail, upper, password (bob's)}
//
// In a real browser, with screenshots at 375 and 1280 px: /login with its buttons, /register with
// the ways in; alice at the IdP: the registration page, then created by its button; bob signed
// in with his password: the suggestion to link, then linked by its button; alice signed in, bob
// at the IdP: the mismatch page; the error pages of a taken and of an upper-case localpart. No
// CSP violation on the way. Prints one JSON line per step {step, ok, ...} and "done".
import { expect, idpSignIn as signInAt, launch, makeOutDirs, shots as shotsIn, step } from './browser.mjs';

const cfg = JSON.parse(process.argv[2] || '{}');
const BASE = cfg.base.replace(/\/$/, '');
makeOutDirs(cfg.out);


const { browser, newContext, cspViolations } = await launch(cfg.chromium);
const shots = (page, name) => shotsIn(page, cfg.out, name);
// the IdP's pages as `user`, until the browser is back at masd
const idpSignIn = (page, user) => signInAt(page, cfg.issuer, user);
// The provider's button on /login (signed out), or its authorize URL (signed in: /login would
// go on to the index), then the IdP as `user`.
async function viaProvider(page, provider, user, button) {
    if (button) {
        await page.goto(`${BASE}/login`);
        await page.locator(`a[href^="/upstream/authorize/${provider}"]`).click();
    } else {
        await page.goto(`${BASE}/upstream/authorize/${provider}`);
    }
    await page.waitForURL((u) => u.href.startsWith(cfg.issuer), { timeout: 10000 });
    await idpSignIn(page, user);
}

const a = await (await newContext()).newPage();
await step('Chromium: /login shows the password form and a button per provider (375 and 1280 px)', async () => {
    const resp = await a.goto(`${BASE}/login`);
    const n = await a.locator('.providers a.button').count();
    expect(n === 6, `six buttons, got ${n} at ${a.url()} (${resp.status()})`);
    expect(await a.locator('input[name=password]').count() === 1, 'the password form');
    await shots(a, 'login-providers');
});
await step('Chromium: /register lists the providers and the password form (375 and 1280 px)', async () => {
    await a.goto(`${BASE}/register`);
    const n = await a.locator('.providers a.button').count();
    expect(n === 6, `six buttons, got ${n} at ${a.url()}`);
    expect(await a.locator('a[href^="/register/password"]').count() === 1, 'the password way');
    await shots(a, 'register-index');
});
await step('Chromium: alice at the IdP: the registration page, then her account by its button (375 and 1280 px)', async () => {
    await viaProvider(a, cfg.view, 'alice', true);
    expect(/\/upstream\/link\/[0-9A-Z]{26}$/.test(a.url()), `the link page, got ${a.url()}`);
    expect(await a.inputValue('input[name=username]') === 'alice2', 'the suggested name');
    await shots(a, 'upstream-register');
    await a.uncheck('#import_email'); /* alice@example.com is alice's already */
    await a.check('#accept_terms');
    await a.locator('button[type=submit].primary').click();
    await a.waitForURL(`${BASE}/`, { timeout: 10000 });
    expect((await a.content()).includes('@alice2:example.com'), 'signed in as alice2');
});
const b = await (await newContext()).newPage();
await step('Chromium: bob signed in with his password, bob at the IdP: the suggestion, then linked (375 and 1280 px)', async () => {
    await b.goto(`${BASE}/login`);
    await b.fill('input[name=username]', 'bob');
    await b.fill('input[name=password]', cfg.password);
    await Promise.all([b.waitForURL(`${BASE}/`), b.locator('form.fields button[type=submit]').click()]);
    await viaProvider(b, cfg.view, 'bob', false);
    expect(/\/upstream\/link\//.test(b.url()) && (await b.content()).includes('Link this account?'), `the suggestion, got ${b.url()}`);
    await shots(b, 'upstream-suggest');
    await b.locator('button', { hasText: 'Link the accounts' }).click();
    await b.waitForURL(`${BASE}/`, { timeout: 10000 });
});
await step('Chromium: alice signed in, bob at the IdP: the mismatch page (375 and 1280 px)', async () => {
    await viaProvider(a, cfg.view, 'bob', false);
    const html = await a.content();
    expect(html.includes('This account is linked to someone else') && html.includes('@bob:example.com'), `the mismatch page, got ${a.url()}`);
    await shots(a, 'upstream-mismatch');
});
const c = await (await newContext()).newPage();
await step('Chromium: a forced name someone holds (on_conflict fail): the error page (375 and 1280 px)', async () => {
    await c.goto(`${BASE}/upstream/authorize/${cfg.fail}`);
    await idpSignIn(c, 'bob');
    expect((await c.content()).includes('The username is taken'), `the error page, got ${c.url()}`);
    await shots(c, 'upstream-user-exists');
});
await step('Chromium: an upper-case localpart: the error page (375 and 1280 px)', async () => {
    const d = await (await newContext()).newPage();
    await d.goto(`${BASE}/upstream/authorize/${cfg.upper}`);
    await idpSignIn(d, 'alice');
    expect((await d.content()).includes('did not say enough'), `the error page, got ${d.url()}`);
    await shots(d, 'upstream-claim-required');
});
await step('no Content-Security-Policy violation', async () => {
    expect(cspViolations.length === 0, `none, got ${JSON.stringify(cspViolations)}`);
});
await browser.close();
console.log('done');
