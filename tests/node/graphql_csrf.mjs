// The CSRF rule of masd's /graphql (services/human/graphql.c) against a real browser: headless
// Chromium holds alice's session cookie (SameSite=Lax) and opens a page of another origin of the
// same site (this host, another port: the cookie goes along with its requests), which attacks
// /graphql the ways a page can: a form posted as text/plain whose body is JSON, a no-cors fetch
// with the cookie, a CORS fetch with the cookie (JSON, a GET), and a top-level GET navigation.
// Each is refused or unreadable; the same query from masd's own origin answers alice.
// Prints "ok - …" / "not ok - …" lines; graphql.sh checks masd-human's access log for what
// reached it.
// Usage: node graphql_csrf.mjs '{"base", "cookie", "chromium", "cert", "key"}'   (the attacker's
// page is served here, over https with the test's certificate, on another port of 127.0.0.1)
import fs from 'node:fs';
import https from 'node:https';
import { chromium } from 'playwright-core';

const cfg = JSON.parse(process.argv[2]);
let failures = 0;
function check(ok, what, detail) {
  console.log(`${ok ? 'ok' : 'not ok'} - ${what}`);
  if (!ok) {
    failures++;
    if (detail !== undefined) console.log(`# ${JSON.stringify(detail).slice(0, 1500)}`);
  }
}

const browser = await chromium.launch({
  executablePath: cfg.chromium || '/usr/bin/chromium',
  headless: true,
  chromiumSandbox: false,
  args: ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync',
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1'],
});
const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
// the cookies of alice's login (curl's jar): session, csrf; with MAS's flags
await ctx.addCookies(cfg.cookie.split('; ').map((c) => {
  const i = c.indexOf('=');
  return { name: c.slice(0, i), value: c.slice(i + 1), domain: '127.0.0.1', path: '/', httpOnly: true, secure: true, sameSite: 'Lax' };
}));
const QUERY = '{ viewer { __typename ... on User { username } } }';

// the control: masd's own origin reads alice's viewer with the cookie
// (a blank page of that origin: masd's own pages forbid scripts to fetch by their CSP)
const own = await ctx.newPage();
await own.route(`${cfg.base}/control`, (route) => route.fulfill({ contentType: 'text/html', body: '<!DOCTYPE html><title>control</title>' }));
await own.goto(`${cfg.base}/control`);
const mine = await own.evaluate(async (q) => {
  const r = await fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: q }) });
  return { status: r.status, body: await r.json() };
}, QUERY);
check(mine.status === 200 && mine.body.data?.viewer?.username === 'alice',
  'chromium: a fetch from masd\'s own origin (the cookie, Origin sent by the browser) reads alice', mine);

// the attacker: a page of another origin of the same site
const evilPage = `<!DOCTYPE html><title>evil</title>
<form id="f" method="POST" action="${cfg.base}/graphql" enctype="text/plain">
<input name='{"query":"${QUERY.replace(/"/g, '\\"')}","x":"' value='"}'></form>`;
const server = https.createServer({ cert: fs.readFileSync(cfg.cert), key: fs.readFileSync(cfg.key) }, (req, res) => {
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end(evilPage);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
cfg.evil = `https://127.0.0.1:${server.address().port}`;
const evil = await ctx.newPage();
await evil.goto(`${cfg.evil}/`);
const results = await evil.evaluate(async ({ base, q }) => {
  const out = {};
  const body = JSON.stringify({ query: q });
  try {
    const r = await fetch(`${base}/graphql`, { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body });
    out.noCors = { type: r.type, status: r.status };
  } catch (e) { out.noCors = { error: String(e) }; }
  try {
    const r = await fetch(`${base}/graphql`, { method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json' }, body });
    out.cors = { status: r.status, text: await r.text() };
  } catch (e) { out.cors = { error: String(e) }; }
  try {
    const r = await fetch(`${base}/graphql?query=${encodeURIComponent(q)}`, { credentials: 'include' });
    out.get = { status: r.status, text: await r.text() };
  } catch (e) { out.get = { error: String(e) }; }
  try { // without credentials CORS lets it read: what anyone may read, no cookie
    const r = await fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    out.anonymous = { status: r.status, body: await r.json() };
  } catch (e) { out.anonymous = { error: String(e) }; }
  return out;
}, { base: cfg.base, q: QUERY });
check(results.noCors.type === 'opaque', 'chromium, another origin: a no-cors text/plain POST gets an opaque answer (nothing to read)', results.noCors);
check(!!results.cors.error, 'chromium, another origin: a JSON POST with credentials fails CORS (no credentials allowed)', results.cors);
check(!!results.get.error, 'chromium, another origin: a GET with credentials fails CORS', results.get);
check(results.anonymous.status === 200 && results.anonymous.body?.data?.viewer?.__typename === 'Anonymous',
  'chromium, another origin: without credentials it reads only what anyone may (Anonymous)', results.anonymous);

// the form, posted: a top-level navigation the user sees, not the attacker
const [nav] = await Promise.all([evil.waitForNavigation(), evil.evaluate(() => document.getElementById('f').submit())]);
const text = await evil.evaluate(() => document.body.innerText);
check(nav?.status() === 403 && !/alice/.test(text) && /session cookie/.test(text),
  'chromium, another origin: the text/plain form post with the cookie: 403, no data', { status: nav?.status(), text });

// a link followed to a GET query: the same (no Origin on a navigation; Sec-Fetch-Site: same-site)
await evil.goto(`${cfg.evil}/`);
const resp = await evil.goto(`${cfg.base}/graphql?query=${encodeURIComponent(QUERY)}`);
const text2 = await evil.evaluate(() => document.body.innerText);
check(resp.status() === 403 && !/alice/.test(text2), 'chromium: a GET query navigated to with the cookie from another page: 403', { status: resp.status(), text2 });

await browser.close();
server.close();
process.exit(failures ? 1 : 0);
