// A real OpenID Provider for the upstream-provider tests: node oidc-provider 8.8.1 on 127.0.0.1,
// configured as docs/upstream-oauth.md's test section describes, plus a headless driver of its
// login and consent pages.
//
// As a program:
//   node tests/node/idp.mjs --port 9400 [--config idp.json] [--keys keys.json] [--log requests.log]
//   Prints "ready http://127.0.0.1:9400" on stdout once listening, runs until SIGTERM.
//   --config: JSON {"clients": [oidc-provider client metadata…]}; without it one client
//     {client_id: "masd", client_secret: "masd-secret", client_secret_basic, redirect_uris
//     ["http://127.0.0.1:8080/callback"]}. Clients may set token_endpoint_auth_method (none,
//     client_secret_basic/post/jwt, private_key_jwt with "jwks" holding masd's public keys),
//     id_token_signed_response_alg (RS256 or ES256: the IdP has a key of each),
//     userinfo_signed_response_alg, backchannel_logout_uri, response_modes…
//   --keys: a private JWKS file ({"keys":[…]}) the IdP signs with; created (an RSA and a P-256
//     key with fresh kids) when it does not exist. Start again with another file to rotate keys.
//   --log: each request is appended as "METHOD /path" (no query), so tests can count fetches.
//   Test-only routes on the same origin:
//     POST /_test/bcl-sink   a back-channel logout receiver: stores the form's logout_token
//                            (point a client's backchannel_logout_uri here); answers 200
//     GET  /_test/bcl-sink   the last logout_token received (404 when none)
//     POST /_test/backchannel?client_id=&sub=&sid=  makes the IdP send a back-channel logout now
//   Accounts: alice and bob (any password), with preferred_username, name, email.
//
// The driver from a shell (the jar file keeps the IdP session between calls):
//   node tests/node/idp.mjs login AUTHORIZE_URL [--user alice] [--jar jar.json]
//     prints the callback URL (or "POST URL FORM" for response_mode=form_post)
//   node tests/node/idp.mjs end-session ISSUER --jar jar.json [--client-id masd]
//     RP-initiated logout (the IdP sends the back-channel logout tokens before answering)
//
// As a module:
//   import { startIdp, login, loginResponse, endSession } from './idp.mjs';
//   const idp = await startIdp({ port, clients, keysFile, log });  // { issuer, provider, close() }
//   const url = await login(authorizeUrl, { user: 'alice' });     // the redirect to the RP
//   const r = await loginResponse(authorizeUrl, { user, jar });     // { url, method, form }: form
//                                                                  // is set for response_mode=form_post
//   await endSession(issuer, { jar, clientId });                   // RP-initiated logout at the IdP;
//                                                                  // sends the back-channel logouts
//   login() follows the redirects by hand with a cookie jar (a Map, reusable across calls: pass
//   the same jar to sign in again without the login page), posts the devInteractions login form
//   (prompt=login, login=<user>, password=x) and consent (prompt=consent), and stops at the first
//   redirect that leaves the IdP's origin; it does not follow that one.
import Provider from 'oidc-provider';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { pathToFileURL } from 'node:url';

const ACCOUNTS = {
  alice: { preferred_username: 'alice', name: 'Alice Liddell', email: 'alice@example.com' },
  bob: { preferred_username: 'bob', name: 'Bob Builder', email: 'bob@example.com' },
};

function newKeys() {
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  const id = crypto.randomBytes(6).toString('hex');
  return {
    keys: [
      { ...rsa, kid: `rsa-${id}`, alg: 'RS256', use: 'sig' },
      { ...ec, kid: `ec-${id}`, alg: 'ES256', use: 'sig' },
    ],
  };
}

function loadKeys(file) {
  if (!file) return newKeys();
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8'));
  const keys = newKeys();
  fs.writeFileSync(file, JSON.stringify(keys), { mode: 0o600 });
  return keys;
}

const DEFAULT_CLIENTS = [{
  client_id: 'masd',
  client_secret: 'masd-secret',
  redirect_uris: ['http://127.0.0.1:8080/callback'],
  response_types: ['code'],
  grant_types: ['authorization_code'],
  token_endpoint_auth_method: 'client_secret_basic',
}];

export async function startIdp({ port = 0, clients = DEFAULT_CLIENTS, keysFile, log } = {}) {
  let issuer = `http://127.0.0.1:${port}`;
  const server = http.createServer();
  if (!port) {
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${server.address().port}`;
  }
  const provider = new Provider(issuer, {
    clients: clients.map((c) => ({
      response_types: ['code'],
      grant_types: ['authorization_code'],
      ...c,
    })),
    jwks: loadKeys(keysFile),
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
    },
    conformIdTokenClaims: false,
    features: {
      devInteractions: { enabled: true },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      jwtUserinfo: { enabled: true },
    },
    enabledJWA: {
      idTokenSigningAlgValues: ['RS256', 'ES256'],
      userinfoSigningAlgValues: ['RS256', 'ES256'],
      clientAuthSigningAlgValues: ['HS256', 'HS384', 'HS512', 'RS256', 'PS256', 'ES256'],
    },
    async findAccount(ctx, id) {
      const a = ACCOUNTS[id];
      if (!a) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, ...a, email_verified: true }) };
    },
  });
  provider.on('server_error', (ctx, err) => console.error('idp server_error:', err));
  provider.on('backchannel.error', (client, err) => console.error('idp backchannel.error:', err.message));

  let lastLogoutToken = null;
  const callback = provider.callback();
  server.on('request', async (req, res) => {
    const path = req.url.split('?')[0];
    if (log) fs.appendFileSync(log, `${req.method} ${path}\n`);
    if (path === '/_test/bcl-sink') {
      if (req.method === 'POST') {
        let body = '';
        for await (const chunk of req) body += chunk;
        lastLogoutToken = new URLSearchParams(body).get('logout_token');
        res.writeHead(200).end();
      } else if (lastLogoutToken) {
        res.writeHead(200, { 'content-type': 'text/plain' }).end(lastLogoutToken);
      } else {
        res.writeHead(404).end();
      }
      return;
    }
    if (path === '/_test/backchannel' && req.method === 'POST') {
      const q = new URL(req.url, issuer).searchParams;
      try {
        const client = await provider.Client.find(q.get('client_id'));
        await client.backchannelLogout(q.get('sub'), q.get('sid') || undefined);
        res.writeHead(200).end();
      } catch (e) {
        res.writeHead(500).end(String(e));
      }
      return;
    }
    callback(req, res);
  });
  if (port) await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    issuer,
    provider,
    server,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

// ---- driving the IdP's pages ---------------------------------------------------------------

function storeCookies(jar, res) {
  for (const c of res.headers.getSetCookie()) {
    const [pair, ...attrs] = c.split(';');
    const i = pair.indexOf('=');
    const name = pair.slice(0, i).trim();
    const value = pair.slice(i + 1).trim();
    const expired = attrs.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a)) || value === '';
    if (expired) jar.delete(name);
    else jar.set(name, value);
  }
}

async function fetchWithJar(jar, url, init = {}) {
  const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const res = await fetch(url, {
    ...init,
    redirect: 'manual',
    headers: { ...(init.headers || {}), ...(cookie ? { cookie } : {}) },
  });
  storeCookies(jar, res);
  return res;
}

function formFields(html) {
  const form = {};
  for (const m of html.matchAll(/<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) form[m[1]] = m[2];
  return form;
}

export async function loginResponse(authorizeUrl, { user = 'alice', jar = new Map(), maxSteps = 20 } = {}) {
  const origin = new URL(authorizeUrl).origin;
  let url = authorizeUrl;
  let init = {};
  for (let step = 0; step < maxSteps; step++) {
    const res = await fetchWithJar(jar, url, init);
    init = {};
    if (res.status >= 300 && res.status < 400) {
      const next = new URL(res.headers.get('location'), url).href;
      if (new URL(next).origin !== origin) return { url: next, method: 'GET', form: null, jar };
      url = next;
      continue;
    }
    const body = await res.text();
    if (res.status !== 200) throw new Error(`idp: ${res.status} at ${url}: ${body.slice(0, 300)}`);
    const action = body.match(/<form[^>]*action="([^"]+)"/);
    if (/\/interaction\//.test(url)) {
      const prompt = /name="login"/.test(body) ? 'login' : 'consent';
      const form = prompt === 'login' ? { prompt, login: user, password: 'x' } : { prompt };
      init = {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form).toString(),
      };
      url = new URL(action ? action[1] : url, url).href;
      continue;
    }
    if (action && /method="post"/i.test(body)) { // response_mode=form_post: the auto-submitting form
      return { url: new URL(action[1].replace(/&amp;/g, '&'), url).href, method: 'POST', form: formFields(body), jar };
    }
    throw new Error(`idp: unexpected page at ${url}: ${body.slice(0, 300)}`);
  }
  throw new Error('idp: too many steps');
}

export async function login(authorizeUrl, opts = {}) {
  const r = await loginResponse(authorizeUrl, opts);
  if (r.method !== 'GET') throw new Error('idp: the answer is a form_post; use loginResponse');
  return r.url;
}

export async function endSession(issuer, { jar, clientId } = {}) {
  const q = clientId ? `?client_id=${encodeURIComponent(clientId)}` : '';
  const res = await fetchWithJar(jar, `${issuer}/session/end${q}`);
  const body = await res.text();
  const xsrf = body.match(/name="xsrf" value="([^"]+)"/);
  if (!xsrf) throw new Error(`idp: no logout form: ${res.status} ${body.slice(0, 200)}`);
  const done = await fetchWithJar(jar, `${issuer}/session/end/confirm`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ xsrf: xsrf[1], logout: 'yes' }).toString(),
  });
  await done.text();
  return done.status;
}

// ---- the program ---------------------------------------------------------------------------

async function cli(args) {
  const opt = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
  const jarFile = opt('--jar');
  const jar = new Map(jarFile && fs.existsSync(jarFile) ? JSON.parse(fs.readFileSync(jarFile, 'utf8')) : []);
  const saveJar = () => jarFile && fs.writeFileSync(jarFile, JSON.stringify([...jar]));
  if (args[0] === 'login') {
    const r = await loginResponse(args[1], { user: opt('--user') || 'alice', jar });
    saveJar();
    console.log(r.method === 'GET' ? r.url : `POST ${r.url} ${new URLSearchParams(r.form)}`);
    return;
  }
  if (args[0] === 'end-session') {
    const status = await endSession(args[1], { jar, clientId: opt('--client-id') });
    saveJar();
    console.log(status);
    return;
  }
  const port = Number(opt('--port') || 0);
  const config = opt('--config') ? JSON.parse(fs.readFileSync(opt('--config'), 'utf8')) : {};
  const idp = await startIdp({ port, clients: config.clients || DEFAULT_CLIENTS, keysFile: opt('--keys'), log: opt('--log') });
  console.log(`ready ${idp.issuer}`);
  const stop = () => idp.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await cli(process.argv.slice(2));
