// Drives headless Chromium (playwright-core, Debian's /usr/bin/chromium) through the account pages
// as a person uses them: signed out at /account/, the login, the display name, an e-mail address
// with the code from the mail, its removal, a password change and the offer to sign out
// everywhere else, and the deactivation. Screenshots (375 and 1280 px wide, full page) and the
// HTML of every page go to OUT-DIR.
//
//   node account.mjs CONFIG-JSON
//     {base, out, username, mxid, mail_dir, password, new_password, chromium, hs}
//
// Prints one JSON line per step {step, ok, ...}; exit status 1 when any step failed.
import { readFileSync, readdirSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { expect, makeOutDirs, step as runStep, shots as pageShots } from './browser.mjs';
import { clickToPage } from './nav.mjs';

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
const ctx = await browser.newContext({ ignoreHTTPSErrors: true, javaScriptEnabled: false,
                                       viewport: { width: 1280, height: 800 } });
const page = await ctx.newPage();
const csp = [];
page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) csp.push(m.text());
});

async function shots(name) {
    await pageShots(page, cfg.out, name);
}
async function submit(selector) {
    await Promise.all([page.waitForNavigation(), page.click(selector)]);
}
async function text() {
    return await page.textContent('body');
}
// The stand-in homeserver's record of the user, waited for until cond(u) holds (5 s).
async function homeserver(cond) {
    const lp = cfg.username;
    let u = null;
    for (let i = 0; i < 50; i++) {
        const s = await (await fetch(`${cfg.hs}_standin/state`)).json();
        u = s.users[lp];
        if (u && cond(u)) return u;
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the homeserver's ${lp}: ${JSON.stringify(u)}`);
}
// The code in the newest message to the address (its subject: "NNNNNN is your code for …").
async function mailedCode(address) {
    for (let i = 0; i < 100; i++) {
        const files = readdirSync(cfg.mail_dir).filter((f) => f.endsWith('.eml'))
            .sort((a, b) => parseInt(b) - parseInt(a));
        for (const f of files) {
            const m = readFileSync(`${cfg.mail_dir}/${f}`, 'utf8');
            if (/^To: .*/m.test(m) && m.match(/^To: .*$/m)[0].includes(address)) return m.match(/^Subject: (\d{6}) /m)[1];
        }
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no e-mail to ${address}`);
}

await step('signed out, /account/ is the login; signed in, the profile (JavaScript off)', async () => {
    await page.goto(`${BASE}/account/`);
    expect(new URL(page.url()).pathname === '/login', `the login, got ${page.url()}`);
    await page.fill('#username', cfg.username);
    await page.fill('#password', cfg.password);
    await submit('form button.primary');
    expect(new URL(page.url()).pathname === '/account/', `the profile, got ${page.url()}`);
    expect((await text()).includes(cfg.mxid), 'the user ID');
    await shots('account');
});

await step('a display name: saved on the homeserver, shown', async () => {
    await page.fill('#display_name', 'Dana Example');
    await submit('button[value=set_display_name]');
    expect((await text()).includes('Your display name was changed.'), 'the notice');
    expect((await page.textContent('.user-card .name')) === 'Dana Example', 'the name on the card');
    await homeserver((u) => u.display_name === 'Dana Example');
});

const email = `${cfg.username}@example.org`;
await step('an e-mail address: the code from the mail adds it; the homeserver gets it', async () => {
    await page.fill('#email', email);
    await page.fill('#password', cfg.password);
    await submit('button:has-text("Send a code")');
    expect(/\/account\/emails\/[0-9A-Z]{26}\/verify$/.test(page.url()), `the code page, got ${page.url()}`);
    await shots('account-verify-email');
    await page.fill('#code', '000000');
    await submit('form.fields button.primary');
    expect((await text()).includes('This code is not right'), 'a wrong code refused');
    await page.fill('#code', await mailedCode(email));
    await submit('form.fields button.primary');
    expect(new URL(page.url()).pathname === '/account/', `the profile, got ${page.url()}`);
    expect((await text()).includes(email), 'the address listed');
    await homeserver((u) => u.emails.includes(email));
    await shots('account-email-added');
});

await step('remove it, with the password: gone here and on the homeserver', async () => {
    await page.fill('ul.emails input[type=password]', cfg.password);
    await submit('ul.emails button.destructive');
    expect((await text()).includes('The email address was removed'), 'the notice');
    await homeserver((u) => u.emails.length === 0);
});

await step('the password: a wrong current one, then the change and the offer to sign out elsewhere', async () => {
    await clickToPage(page, () => page.click('a[href="/account/password/change"]'));
    await shots('account-password');
    await page.fill('#password', 'wrong password');
    await page.fill('#new_password', cfg.new_password);
    await page.fill('#new_password_confirm', cfg.new_password);
    await submit('form.fields button.primary');
    expect((await text()).includes('This password is not correct.'), 'the error');
    await page.fill('#password', cfg.password);
    await page.fill('#new_password', cfg.new_password);
    await page.fill('#new_password_confirm', cfg.new_password);
    await submit('form.fields button.primary');
    expect((await text()).includes('Your password was changed.'), 'the notice');
    await shots('account-password-changed');
    await submit('form button.destructive');
    expect((await text()).includes('You were signed out everywhere else.'), 'the sessions ended');
});

await step('the identity reset (MSC4191 deep link): what it costs, then allowed', async () => {
    await page.goto(`${BASE}/account/?action=org.matrix.cross_signing_reset`);
    expect(new URL(page.url()).pathname.endsWith('/account/reset-cross-signing'), 'the reset page');
    expect((await text()).includes('encrypted message history'), 'the warning');
    await shots('account-reset-cross-signing');
    await submit('form.fields button.destructive');
    expect((await text()).includes('Reset allowed'), 'the result');
    await shots('account-reset-cross-signing-done');
});

await step('deactivation: the password and the confirmation; then signed out, the homeserver told', async () => {
    await page.goto(`${BASE}/account/deactivate`);
    await shots('account-deactivate');
    await page.fill('#password', cfg.new_password);
    await page.check('#confirm');
    await submit('button.destructive');
    expect((await text()).includes('Account deactivated'), 'the signed-out page');
    await shots('account-deactivated');
    await homeserver((u) => u.deactivated);
    await page.goto(`${BASE}/account/`);
    expect(new URL(page.url()).pathname === '/login', `signed out: the login, got ${page.url()}`);
});

await step('Chromium reported no Content-Security-Policy violation on any page', async () => {
    expect(csp.length === 0, `none, got ${JSON.stringify(csp)}`);
});

await browser.close();
process.exit(failed ? 1 : 0);
