// Drives headless Chromium (playwright-core, Debian's /usr/bin/chromium) through an account
// recovery as a person does it: "Forgot password?" on the login page, the address, the mailed
// link (read from the message the test's SMTP server wrote to mail_dir), a weak password first,
// then a good one, the "done" page, and a sign-in with the new password. The link once more: it
// was used. Screenshots (375 and 1280 px wide, full page) and the HTML of every page go to OUT-DIR.
//
//   node recovery.mjs CONFIG-JSON
//     {base, out, username, email, mail_dir, password, chromium}
//
// Prints one JSON line per step {step, ok, ...}; exit status 1 when any step failed.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { expect, makeOutDirs, step as runStep, shots as pageShots } from './browser.mjs';

const cfg = JSON.parse(process.argv[2] || '{}');
const BASE = cfg.base.replace(/\/$/, '');
makeOutDirs(cfg.out);

let failed = 0;
async function step(name, fn) {
    if (!(await runStep(name, fn))) failed++;
}

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

// The link in the newest message to `address` (quoted-printable undone), waiting up to 10 s.
async function linkFor(address) {
    for (let i = 0; i < 100; i++) {
        const files = readdirSync(cfg.mail_dir).filter((f) => f.endsWith('.eml'))
            .sort((a, b) => parseInt(b) - parseInt(a));
        for (const f of files) {
            const m = readFileSync(`${cfg.mail_dir}/${f}`, 'utf8');
            if (!m.includes(`To: ${cfg.username} <${address}>`)) continue;
            const plain = m.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
            const link = plain.match(/https:\/\/[^\s"<]*\/account\/password\/recovery\?ticket=[A-Za-z0-9]{32}/);
            if (link) return link[0];
        }
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no recovery e-mail to ${address}`);
}

await step('the login page links to /recover: the form asks for an address', async () => {
    const res = await page.goto(BASE + '/login');
    expect(res.status() === 200, `200, got ${res.status()}`);
    await Promise.all([page.waitForNavigation(), page.click('a[href$="/recover"]')]);
    expect(page.url() === BASE + '/recover', `/recover, got ${page.url()}`);
    expect(await page.isVisible('input#email[type=email]'), 'the e-mail field');
    await shots('recovery-start');
});

await step('an address that is not one: the form again, with the error on its field', async () => {
    await page.fill('#email', 'not an address');
    await page.$eval('form.fields', (f) => f.setAttribute('novalidate', ''));
    await submit();
    expect((await page.textContent('body')).includes('This is not an email address.'), 'the field error');
    await shots('recovery-start-error');
});

let link;
await step('the address: the progress page, and the e-mail with its link arrives', async () => {
    await page.fill('#email', cfg.email.toUpperCase());
    await submit();
    expect(/\/recover\/progress\/[0-9A-Z]{26}$/.test(page.url()), `the progress page, got ${page.url()}`);
    const body = await page.textContent('body');
    expect(body.includes(cfg.email.toUpperCase()), 'the address on the page');
    await shots('recovery-progress');
    link = await linkFor(cfg.email);
    expect(link.startsWith(BASE + '/account/password/recovery?ticket='), `a link to this server, got ${link}`);
    return { link: link.replace(/ticket=.*/, 'ticket=…') };
});

await step('"Send the email again": a banner, another e-mail', async () => {
    await submit('form[method=post] button.secondary');
    expect((await page.textContent('body')).includes('Another email is on its way.'), 'the banner');
    await shots('recovery-progress-sent');
});

await step('the mailed link: the new-password form for the account', async () => {
    const res = await page.goto(link);
    expect(res.status() === 200, `200, got ${res.status()}`);
    const body = await page.textContent('body');
    expect(body.includes(cfg.username) && body.includes(cfg.email), 'the username and the address');
    await shots('recovery-password');
});

await step('a weak password, confirmed differently: 400, both errors', async () => {
    await page.fill('#password', 'abc');
    await page.fill('#password_confirm', 'abd');
    const [res] = await Promise.all([page.waitForNavigation(), page.click('form.fields button[type=submit]')]);
    expect(res.status() === 400, `400, got ${res.status()}`);
    const body = await page.textContent('body');
    expect(body.includes('too easy to guess') && body.includes('are not the same'), 'both field errors');
    await shots('recovery-password-error');
});

await step('a good password: the "done" page', async () => {
    await page.fill('#password', cfg.password);
    await page.fill('#password_confirm', cfg.password);
    await submit();
    expect((await page.textContent('h1')).includes('Your password has been changed'), 'the done page');
    await shots('recovery-done');
});

await step('"Sign in" with the new password: signed in', async () => {
    await Promise.all([page.waitForNavigation(), page.click('a.button.primary')]);
    await page.fill('#username', cfg.username);
    await page.fill('#password', cfg.password);
    await submit();
    expect((await page.textContent('body')).includes(`Signed in as ${cfg.username}`), 'the index, signed in');
});

await step('the link while signed in: 409, a page that asks to sign out', async () => {
    const res = await page.goto(link);
    expect(res.status() === 409, `409, got ${res.status()}`);
    await shots('recovery-signed-in');
});

await step('the link once more, signed out: 410, it was used', async () => {
    const other = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    const p2 = await other.newPage();
    const res = await p2.goto(link);
    expect(res.status() === 410, `410, got ${res.status()}`);
    expect((await p2.textContent('h1')).includes('This link was used already'), 'the used page');
    for (const width of [375, 1280]) {
        await p2.setViewportSize({ width, height: 800 });
        await p2.screenshot({ path: `${cfg.out}/screenshots/recovery-consumed-${width}.png`, fullPage: true });
    }
    writeFileSync(`${cfg.out}/html/recovery-consumed.html`, await p2.content());
    await other.close();
});

await step('Chromium reported no Content-Security-Policy violation on any page', async () => {
    expect(csp.length === 0, `none, got ${JSON.stringify(csp)}`);
});

await browser.close();
process.exit(failed ? 1 : 0);
