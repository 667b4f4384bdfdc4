// masd-human's /graphql (services/human/graphql.c) over HTTP, driven by
// tests/integration/graphql.sh: who asks (anonymous, the session cookie of a real login, Bearer
// tokens with and without the listener's undocumented_oauth2_access, admin), the CSRF rule for
// the cookie, GET and mutations, caps, IDs and cursors, paging over e-mail addresses, the
// headers; then graphql-http's auditServer. Every document sent is validated against the schema
// masd introspects (gql_client.mjs). Prints one "ok - …" / "not ok - …" line per check.
// Usage: node graphql_endpoint.mjs '<json: see graphql.sh>'
import fs from 'node:fs';
import { GraphQLClient, send } from './gql_client.mjs';

const a = JSON.parse(process.argv[2]);
let failures = 0;
function check(ok, what, detail) {
  console.log(`${ok ? 'ok' : 'not ok'} - ${what}`);
  if (!ok) {
    failures++;
    if (detail !== undefined) console.log(`# ${JSON.stringify(detail).slice(0, 1500)}`);
  }
}
const msg = (r) => r.errors?.[0]?.message;

const gql = await GraphQLClient.connect({ url: a.url });
const strict = new GraphQLClient('http://strict/graphql', gql.schema, { socketPath: a.strictSocket });
const origin = a.origin;
const alice = { cookie: a.alice.cookie, origin };

// ---- who asks ------------------------------------------------------------------------------------
const WHO = 'query { viewer { __typename ... on User { id username hasPassword } ... on Anonymous { id } } ' +
  'viewerSession { __typename ... on Anonymous { id } ... on BrowserSession { id state user { username } } ' +
  '... on Oauth2Session { id scope state client { clientId } owner: user { username } } } }';
let r = await gql.request(WHO);
check(r.status === 200 && r.data?.viewer?.__typename === 'Anonymous' && r.data.viewer.id === 'anonymous' &&
  r.data.viewerSession.__typename === 'Anonymous', 'anonymous: viewer and viewerSession are Anonymous', r);
check(r.headers['cache-control'] === 'no-store', 'Cache-Control: no-store', r.headers);
check(/^application\/json/.test(r.headers['content-type']), 'Content-Type application/json (no Accept)', r.headers);

r = await gql.request(WHO, alice);
check(r.status === 200 && r.data?.viewer?.username === 'alice' && r.data.viewer.id === `user:${a.alice.id}` &&
  r.data.viewer.hasPassword === true, 'the session cookie of a login: viewer is alice (id user:<ULID>, hasPassword)', r);
check(r.data?.viewerSession?.__typename === 'BrowserSession' && r.data.viewerSession.state === 'ACTIVE' &&
  r.data.viewerSession.user.username === 'alice' && /^browser_session:[0-9A-Z]{26}$/.test(r.data.viewerSession.id),
  'the session cookie: viewerSession is the active BrowserSession, its user alice', r);

r = await gql.request(WHO, { cookie: a.finishedCookie, origin });
check(r.status === 200 && r.data?.viewer?.__typename === 'Anonymous', 'the cookie of a session signed out: Anonymous', r);

// ---- the CSRF rule --------------------------------------------------------------------------------
const refused = (r, what) => check(r.status === 403 && /session cookie/.test(msg(r) ?? '') &&
  r.headers['cache-control'] === 'no-store' && /^application\/json/.test(r.headers['content-type']), what, r);
refused(await gql.request(WHO, { cookie: a.alice.cookie }), 'cookie, POST without Origin: 403');
refused(await gql.request(WHO, { cookie: a.alice.cookie, origin: 'https://evil.example' }), 'cookie, POST from another origin: 403');
refused(await gql.request(WHO, { cookie: a.alice.cookie, origin: `${origin}:1` }), 'cookie, POST from another port: 403');
refused(await gql.request(WHO, { cookie: a.alice.cookie, origin: 'null' }), 'cookie, POST with Origin null: 403');
refused(await gql.request(WHO, { ...alice, contentType: 'text/plain' }),
  'cookie, POST text/plain (what a cross-site form or no-cors fetch sends) with our Origin: 403');
refused(await gql.request(WHO, { ...alice, contentType: 'application/x-www-form-urlencoded' }), 'cookie, POST as a form: 403');
refused(await gql.request(WHO, { cookie: a.alice.cookie, headers: { origin: [origin, origin] } }), 'cookie, two Origin headers: 403');
r = await gql.request(WHO, { ...alice, contentType: 'application/json; charset=utf-8' });
check(r.status === 200 && r.data?.viewer?.username === 'alice', 'cookie, application/json; charset=utf-8 with our Origin: 200', r);
r = await gql.request(WHO, { ...alice, method: 'GET' });
check(r.status === 200 && r.data?.viewer?.username === 'alice', 'cookie, GET query with our Origin: 200', r);
r = await gql.request(WHO, { cookie: a.alice.cookie, method: 'GET', headers: { 'sec-fetch-site': 'same-origin' } });
check(r.status === 200 && r.data?.viewer?.username === 'alice', 'cookie, GET query with Sec-Fetch-Site: same-origin (no Origin): 200', r);
refused(await gql.request(WHO, { cookie: a.alice.cookie, method: 'GET' }), 'cookie, GET with neither Origin nor Sec-Fetch-Site: 403');
refused(await gql.request(WHO, { cookie: a.alice.cookie, method: 'GET', headers: { 'sec-fetch-site': 'same-site' } }),
  'cookie, GET with Sec-Fetch-Site: same-site (another port of this host): 403');
refused(await gql.request(WHO, { cookie: a.alice.cookie, method: 'GET', origin: 'https://evil.example',
  headers: { 'sec-fetch-site': 'same-origin' } }), 'cookie, GET from another Origin (whatever Sec-Fetch-Site says): 403');
r = await gql.request(WHO, { cookie: a.alice.cookie, origin: 'https://evil.example', bearer: a.token });
check(r.status === 200 && r.data?.viewerSession?.__typename === 'Oauth2Session',
  'a Bearer token with a cookie: the token is the requester, no CSRF rule (no browser sends it cross-site)', r);

// Mutations never over GET (engine: 405, Allow: POST), with or without the cookie
const MUT = 'mutation { endBrowserSession(input: { browserSessionId: "browser_session:01ARZ3NDEKTSV4RRFFQ69G5FAV" }) { status } }';
r = await gql.request(MUT, { method: 'GET' });
check(r.status === 405 && r.headers.allow === 'POST', 'a mutation over GET: 405, Allow: POST', r);
r = await gql.request(MUT, { ...alice, method: 'GET' });
check(r.status === 405, 'a mutation over GET with the cookie and our Origin: 405', r);
r = await send(a.url, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' });
check(r.status === 405 && JSON.parse(r.text).errors?.[0]?.message && /GET, POST/.test(r.headers.allow ?? ''),
  'PUT: 405 with a GraphQL error in JSON', r);
r = await send(a.url, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST',
  'access-control-request-headers': 'content-type, authorization' } });
check(r.status === 204 && r.headers['access-control-allow-origin'] === '*' && !r.headers['access-control-allow-credentials'],
  'CORS preflight: any origin, never with credentials (as MAS)', r);

// ---- Bearer tokens --------------------------------------------------------------------------------
r = await gql.request(WHO, { bearer: a.token });
check(r.status === 200 && r.data?.viewer?.__typename === 'Anonymous' && r.data.viewerSession.__typename === 'Oauth2Session' &&
  r.data.viewerSession.scope === 'urn:mas:graphql:*' && r.data.viewerSession.client.clientId === a.clientId &&
  r.data.viewerSession.owner === null,
  'Bearer (client_credentials, urn:mas:graphql:*): viewerSession is its Oauth2Session, viewer Anonymous (no user)', r);
const NODE_USER = 'query ($id: ID!) { node(id: $id) { __typename id ... on User { username emails(first: 1) { totalCount } } } }';
r = await gql.request(NODE_USER, { bearer: a.token, variables: { id: `user:${a.alice.id}` } });
check(r.status === 200 && r.data?.node === null && !r.errors, "Bearer without urn:mas:admin: another's user is null", r);
r = await gql.request(NODE_USER, { bearer: a.adminToken, variables: { id: `user:${a.alice.id}` } });
check(r.data?.node?.username === 'alice' && r.data.node.emails.totalCount === a.alice.emails.length,
  'Bearer with urn:mas:admin: any user, with their e-mail addresses', r);
r = await gql.request(WHO, { bearer: a.aliceToken });
check(r.data?.viewer?.username === 'alice' && r.data.viewerSession.owner?.username === 'alice',
  "Bearer of alice's OAuth session: viewer is alice", r);
r = await gql.request(WHO, { bearer: a.noScopeToken });
check(r.status === 401 && msg(r) === 'Missing urn:mas:graphql:* scope', 'Bearer without urn:mas:graphql:*: 401', r);
r = await gql.request(WHO, { bearer: a.revokedToken });
check(r.status === 401 && msg(r) === 'Invalid token' && r.headers['www-authenticate'] === 'Bearer error="invalid_token"',
  'Bearer revoked: 401 Invalid token, with the challenge of RFC 6750', r);
r = await gql.request(WHO, { bearer: 'mat_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_000000' });
check(r.status === 401 && msg(r) === 'Invalid token', 'Bearer not in MAS format: 401', r);
r = await gql.request(WHO, { bearer: a.unknownToken });
check(r.status === 401 && msg(r) === 'Invalid token', 'Bearer well-formed but unknown: 401', r);
r = await gql.request(WHO, { headers: { authorization: `Basic ${a.token}` } });
check(r.status === 401, 'Authorization of another scheme: 401', r);
r = await strict.request(WHO, { bearer: a.adminToken });
check(r.status === 401 && /undocumented_oauth2_access/.test(msg(r) ?? ''),
  'a listener without undocumented_oauth2_access: Bearer refused (401), even an admin token', r);
r = await strict.request(WHO);
check(r.status === 200 && r.data?.viewer?.__typename === 'Anonymous', 'that listener serves anonymous queries', r);

// ---- introspection switch ---------------------------------------------------------------------------
r = await strict.request('{ __schema { queryType { name } } }', { accept: 'application/graphql-response+json' });
check(r.status === 400 && /introspection is not allowed/.test(msg(r) ?? '') && r.data === undefined,
  'introspection: false on the listener: __schema refused (400 with graphql-response+json)', r);
r = await strict.request('{ __type(name: "User") { name } }');
check(r.status === 200 && /introspection is not allowed/.test(msg(r) ?? ''), 'introspection off: __type refused too', r);
r = await strict.request('{ siteConfig { __typename } }');
check(r.data?.siteConfig?.__typename === 'SiteConfig', 'introspection off: __typename still answers', r);

// ---- caps -------------------------------------------------------------------------------------------
// depth: viewer → (browserSessions → edges → node → user) × n → id
const nest = (n) => `{ viewer { ... on User { ${'browserSessions(first: 1) { edges { node { user { '.repeat(n)}id${' } } } }'.repeat(n)} } } }`;
r = await gql.request(nest(2));
check(r.errors?.every((e) => !/depth/.test(e.message)) ?? true, 'caps: depth 11 passes the caps', r);
r = await gql.request(nest(3), { accept: 'application/graphql-response+json' });
check(r.status === 400 && msg(r) === 'The operation exceeds the maximum depth of 12.' && r.data === undefined,
  'caps: depth 14 refused with a clear error (400 with graphql-response+json)', r);
const aliases = (n) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: siteConfig { id }`).join(' ')} }`;
r = await gql.request(aliases(30));
check(r.status === 200 && !r.errors, 'caps: 30 aliases run', r);
r = await gql.request(aliases(31));
check(msg(r) === 'The operation uses more than 30 aliases.' && r.data === undefined, 'caps: 31 aliases refused with a clear error', r);
r = await gql.request('{ viewer { ... on User { emails(first: 101) { totalCount } } } }');
check(/"first" may be at most 100/.test(msg(r) ?? '') && r.data === undefined, 'caps: first: 101 refused (page size)', r);
r = await gql.request('query ($n: Int) { viewer { ... on User { emails(last: $n) { totalCount } } } }', { variables: { n: 1000 } });
check(/"last" may be at most 100/.test(msg(r) ?? ''), 'caps: last: 1000 in a variable refused too', r);
const heavy = `{ ${[0, 1, 2].map((i) => `c${i}: viewer { ... on User { browserSessions(first: 100) { edges { node { user { emails(first: 100) { edges { node { id } } } } } } } } }`).join(' ')} }`;
r = await gql.request(heavy);
check(/maximum complexity of 5000/.test(msg(r) ?? '') && r.data === undefined, 'caps: complexity over 5000 refused with a clear error', r);
r = await send(a.url, { headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ query: `{ siteConfig { id } } ${'#'.repeat(70000)}` }) });
check(r.status === 200 && /bytes|too long|document/i.test(JSON.parse(r.text).errors?.[0]?.message ?? ''),
  'caps: a document over 64 KiB refused with a clear error', r.text.slice(0, 300));

// ---- IDs and cursors ----------------------------------------------------------------------------------
r = await gql.request('{ node(id: "nope") { id } }', alice);
check(msg(r) === 'invalid id' && r.data?.node === null, 'node(id: "nope"): "invalid id", node null', r);
r = await gql.request(`{ node(id: "users:${a.alice.id}") { id } }`, alice);
check(msg(r) === 'invalid id', 'node with an unknown prefix: "invalid id"', r);
r = await gql.request(`{ node(id: "user:${a.alice.id.toLowerCase()}") { id } }`, alice);
check(msg(r) === 'invalid id', 'node with a ULID not in canonical form: "invalid id"', r);
r = await gql.request(`{ oauth2Client(id: "user:${a.alice.id}") { id } }`, alice);
check(msg(r) === 'invalid id' && r.data?.oauth2Client === null, 'oauth2Client with a user ID: "invalid id"', r);
r = await gql.request(`{ node(id: "authentication:${a.alice.id}") { id } }`, alice);
check(!r.errors && r.data?.node === null, 'node of a type no domain loads (authentication): null', r);
r = await gql.request(`{ node(id: "user:${a.alice.id}") { __typename id ... on User { username } } }`, alice);
check(r.data?.node?.username === 'alice' && r.data.node.id === `user:${a.alice.id}`, 'node(user:<own ID>): the User', r);
r = await gql.request(`{ node(id: "user:${a.bob.id}") { id } }`, alice);
check(!r.errors && r.data?.node === null, "node(user:<another's ID>): null, no error", r);
r = await gql.request(`{ node(id: "user_email:${a.alice.emails[0].id}") { ... on UserEmail { email } } }`, alice);
check(r.data?.node?.email === a.alice.emails[0].email, 'node(user_email:<own>): the address', r);
r = await gql.request(`{ node(id: "user_email:${a.bob.emailId}") { id } }`, alice);
check(!r.errors && r.data?.node === null, "node(user_email:<another's>): null", r);
r = await gql.request(`{ node(id: "oauth2_client:${a.clientId}") { ... on Oauth2Client { clientId clientName redirectUris applicationType } } }`);
check(r.data?.node?.clientId === a.clientId && r.data.node.clientName === a.clientName,
  'node(oauth2_client:…), anonymously: the client (public metadata)', r);
r = await gql.request(`query ($id: ID!) { oauth2Client(id: $id) { id clientId clientName clientUri redirectUris applicationType } }`,
  { variables: { id: `oauth2_client:${a.clientId}` } });
check(r.data?.oauth2Client?.id === `oauth2_client:${a.clientId}` && r.data.oauth2Client.clientName === a.clientName &&
  Array.isArray(r.data.oauth2Client.redirectUris), 'oauth2Client(id): the client', r);
r = await gql.request(`{ oauth2Client(id: "oauth2_client:01ARZ3NDEKTSV4RRFFQ69G5FAV") { id } }`);
check(!r.errors && r.data?.oauth2Client === null, 'oauth2Client of an unknown ID: null', r);

// ---- paging over alice's e-mail addresses -------------------------------------------------------------
const EMAILS = 'query ($first: Int, $last: Int, $after: String, $before: String) { viewer { ... on User { ' +
  'emails(first: $first, last: $last, after: $after, before: $before) { totalCount edges { cursor node { id email createdAt } } ' +
  'nodes { id } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } } }';
const page = async (variables) => {
  const r = await gql.request(EMAILS, { ...alice, variables });
  if (r.errors || !r.data?.viewer?.emails) throw new Error(JSON.stringify(r.body));
  return r.data.viewer.emails;
};
const want = a.alice.emails.map((e) => e.email); // by ID: creation order
const seen = [];
let p = await page({ first: 2 }), pages = 1;
check(p.totalCount === want.length && p.edges.length === 2 && p.pageInfo.hasNextPage && !p.pageInfo.hasPreviousPage,
  `emails(first: 2): 2 of ${want.length}, hasNextPage`, p);
check(p.nodes.every((n, i) => n.id === p.edges[i].node.id) && p.pageInfo.startCursor === p.edges[0].cursor &&
  p.pageInfo.endCursor === p.edges[1].cursor, 'nodes, edges and the page cursors agree', p);
check(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$/.test(p.edges[0].node.createdAt), 'createdAt is RFC 3339 UTC', p.edges[0]);
seen.push(...p.edges.map((e) => e.node.email));
while (p.pageInfo.hasNextPage && pages < 10) {
  p = await page({ first: 2, after: p.pageInfo.endCursor });
  seen.push(...p.edges.map((e) => e.node.email));
  pages++;
}
check(JSON.stringify(seen) === JSON.stringify(want) && pages === Math.ceil(want.length / 2),
  `forward by 2: every address once, in creation order, in ${pages} pages`, { seen, want });
p = await page({ last: 2 });
check(JSON.stringify(p.edges.map((e) => e.node.email)) === JSON.stringify(want.slice(-2)) && p.pageInfo.hasPreviousPage &&
  !p.pageInfo.hasNextPage, 'emails(last: 2): the two newest, ascending, hasPreviousPage', p);
const back = [...p.edges.map((e) => e.node.email)];
while (p.pageInfo.hasPreviousPage && back.length < 20) {
  p = await page({ last: 2, before: p.pageInfo.startCursor });
  back.unshift(...p.edges.map((e) => e.node.email));
}
check(JSON.stringify(back) === JSON.stringify(want), 'backward by 2: every address once, in order', { back, want });
const all = await page({ first: 100 });
const c1 = all.edges[1].cursor, c4 = all.edges[4].cursor;
p = await page({ first: 10, after: c1, before: c4 });
check(JSON.stringify(p.edges.map((e) => e.node.email)) === JSON.stringify(want.slice(2, 4)) && !p.pageInfo.hasNextPage,
  'after and before together: the addresses between', p);
p = await page({ first: 2, last: 1 });
check(p.edges.length === 2 && p.edges[0].node.email === want[0], 'first and last: first wins (as MAS)', p);
p = await page({ first: 0 });
check(p.edges.length === 0 && p.pageInfo.hasNextPage && p.totalCount === want.length, 'first: 0: no edge, hasNextPage', p);
r = await gql.request(EMAILS, { ...alice, variables: {} });
check(msg(r) === "Either 'first' or 'last' must be specified", "neither first nor last: MAS's error", r);
r = await gql.request(EMAILS, { ...alice, variables: { first: -1 } });
check(msg(r) === 'The "first" parameter must be a non-negative number', 'first: -1: MAS\'s error', r);
r = await gql.request(EMAILS, { ...alice, variables: { first: 1, after: 'bm9wZQ' } });
check(msg(r) === 'invalid cursor', 'a cursor that is not ours: "invalid cursor"', r);
r = await gql.request(EMAILS, { ...alice, variables: { first: 1, after: Buffer.from(`["BrowserSession","${a.alice.emails[0].id}"]`).toString('base64url') } });
check(msg(r) === 'invalid cursor', 'a cursor of another type: "invalid cursor"', r);
r = await gql.request('{ viewer { ... on User { emails(first: 3) { edges { cursor } } } } }', alice);
const cursors = r.data?.viewer?.emails?.edges?.map((e) => e.cursor) ?? [];
check(cursors.length === 3 && JSON.stringify(JSON.parse(Buffer.from(cursors[0], 'base64url').toString())) ===
  JSON.stringify(['UserEmail', a.alice.emails[0].id]), "cursors are MAS's: base64url of [\"UserEmail\", ULID]", cursors);
r = await gql.request('{ viewer { ... on User { emails(first: 1) { edges { node { email } } } } } }', alice);
check(r.data?.viewer?.emails && !('totalCount' in r.data.viewer.emails), 'totalCount not selected: not in the answer', r);

// ---- siteConfig ----------------------------------------------------------------------------------------
r = await gql.request('{ siteConfig { id serverName policyUri tosUri imprint emailChangeAllowed displayNameChangeAllowed ' +
  'passwordLoginEnabled passwordChangeAllowed passwordRegistrationEnabled accountDeactivationAllowed minimumPasswordComplexity ' +
  'loginWithEmailAllowed planManagementIframeUri sessionLimit { softLimit hardLimit dangerousHardLimitEviction } ' +
  'captchaConfig { id service siteKey } } }');
const sc = r.data?.siteConfig;
check(sc && sc.id === 'site_config' && sc.serverName === 'example.com' && sc.tosUri === 'https://example.com/tos' &&
  sc.imprint === 'Imprint' && sc.emailChangeAllowed === false && sc.displayNameChangeAllowed === true &&
  sc.passwordLoginEnabled === true && sc.passwordChangeAllowed === true && sc.passwordRegistrationEnabled === true &&
  sc.accountDeactivationAllowed === false && sc.minimumPasswordComplexity === 2 && sc.loginWithEmailAllowed === true &&
  sc.planManagementIframeUri === 'https://plans.example.com/' && sc.sessionLimit?.softLimit === 5 &&
  sc.sessionLimit.hardLimit === 10 && sc.captchaConfig?.id === 'captcha_config' &&
  sc.captchaConfig.service === 'CLOUDFLARE_TURNSTILE' && sc.captchaConfig.siteKey === 'site-key-1',
'siteConfig: every field from the configuration', r);

// ---- createOauth2Session (an admin's OAuth client makes a session for a user) ---------------------------
const CREATE = 'mutation($userId: ID!, $scope: String!, $permanent: Boolean) { createOauth2Session(input: ' +
  '{userId: $userId, scope: $scope, permanent: $permanent}) { accessToken refreshToken oauth2Session { id scope ' +
  'state client { clientId } user { username } } } }';
const create = (opts, userId, scope, permanent) =>
  gql.request(CREATE, { ...opts, variables: { userId, scope, permanent } });
const introspect = async (token) => JSON.parse((await send(`${origin}/oauth2/introspect`, {
  headers: { authorization: `Bearer ${a.hsSecret}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
  body: new URLSearchParams({ token }).toString(),
})).text);
const upserts = () => fs.readFileSync(a.hsRecord, 'utf8').split('\n').filter((l) => l.includes('/_synapse/mas/upsert_device'));
const admin = { bearer: a.adminToken };
const DEV = 'ADMINDEV1';
let before = upserts().length;
r = await create(admin, `user:${a.alice.id}`, `urn:matrix:client:api:* urn:matrix:client:device:${DEV}`);
const made = r.data?.createOauth2Session;
check(r.status === 200 && !r.errors && /^mat_[A-Za-z0-9_]{37}$/.test(made?.accessToken ?? '') &&
  /^mar_[A-Za-z0-9_]{37}$/.test(made?.refreshToken ?? '') && /^oauth2_session:[0-9A-Z]{26}$/.test(made.oauth2Session.id) &&
  made.oauth2Session.state === 'ACTIVE' && made.oauth2Session.user.username === 'alice' &&
  made.oauth2Session.client.clientId === a.adminClientId &&
  made.oauth2Session.scope === `urn:matrix:client:api:* urn:matrix:client:device:${DEV}`,
  'createOauth2Session (admin): an access and a refresh token, an active session of alice for the admin client', r);
let intro = made ? await introspect(made.accessToken) : {};
check(intro.active === true && intro.username === 'alice' && intro.sub === a.alice.id &&
  intro.scope?.split(" ").includes(`urn:matrix:client:device:${DEV}`) &&
  intro.exp > Date.now() / 1000 + 240 && intro.exp <= Date.now() / 1000 + 301,
  "createOauth2Session: the access token introspects active (as the homeserver asks) with alice and the scope's device, expiring in 5 minutes", intro);
const calls = upserts().slice(before);
check(calls.length >= 1 && calls.every((l) => l.includes(`"device_id":"${DEV}"`)),
  'createOauth2Session: the homeserver got upsert_device for the device before the answer', calls);

r = await create(admin, `user:${a.alice.id}`, 'urn:matrix:client:api:*', true);
const perm = r.data?.createOauth2Session;
intro = perm ? await introspect(perm.accessToken) : {};
check(r.status === 200 && !r.errors && perm.refreshToken === null && intro.active === true && intro.exp === undefined &&
  intro.username === 'alice', 'createOauth2Session permanent: no refresh token, the access token has no expiry', { r, intro });

const refusal = async (what, expect, opts, ...args) => {
  const r = await create(opts, ...args);
  check(r.status === 200 && r.data === null && expect.test(msg(r) ?? '') && r.errors[0].path?.[0] === 'createOauth2Session',
    `createOauth2Session ${what}: the error "${expect.source}"`, r);
};
before = upserts().length;
await refusal('by a non-admin Bearer token', /^Unauthorized$/, { bearer: a.token }, `user:${a.alice.id}`, 'openid');
await refusal("by alice's session cookie", /^Unauthorized$/, alice, `user:${a.alice.id}`, 'openid');
await refusal('with a bad scope', /^Invalid scope$/, admin, `user:${a.alice.id}`, 'openid  email');
await refusal('with a malformed ID', /^invalid id$/, admin, 'user:nope', 'openid');
await refusal('with the ID of another type', /^invalid id$/, admin, `user_email:${a.bob.emailId}`, 'openid');
await refusal('for an unknown user', /^User not found$/, admin, 'user:01ARZ3NDEKTSV4RRFFQ69G5FAV', 'openid');
await refusal('for a locked user', /locked or deactivated/, admin, `user:${a.lockedId}`, 'urn:matrix:client:device:LOCKEDDEV');
await refusal('with nine devices in the scope', /^Too many devices in the scope$/, admin, `user:${a.alice.id}`,
  [...Array(9).keys()].map((i) => `urn:matrix:client:device:MANY${i}`).join(' '));
check(upserts().length === before, 'createOauth2Session refused: nothing asked of the homeserver', upserts().slice(before));

// the homeserver refuses the device: an error instead of tokens
const standin = (path, body) => send(`${a.hsEndpoint}_standin/${path}`, { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
await standin('fail', { status: 500, count: 10 });
await refusal('when the homeserver fails upsert_device', /^Failed to provision device$/, admin, `user:${a.alice.id}`,
  'urn:matrix:client:device:FAILDEV');
await standin('fail', { status: 500, count: 0 });

// ---- graphql-http's audit, against /graphql through nginx --------------------------------------------------
const { auditServer } = await import('graphql-http');
const results = await auditServer({ url: a.url });
const count = (level, status) => results.filter((x) => x.name.startsWith(level) && x.status === status).length;
for (const x of results.filter((x) => x.status !== 'ok')) console.log(`# ${x.status}: ${x.name}: ${x.reason}`);
const mustOk = count('MUST', 'ok'), mustBad = count('MUST', 'error');
const shouldOk = count('SHOULD', 'ok'), shouldAll = shouldOk + count('SHOULD', 'warn') + count('SHOULD', 'error');
check(mustBad === 0 && mustOk > 0, `graphql-http audit: every MUST passes (${mustOk})`);
console.log(`# graphql-http audit: ${mustOk} MUST passed, ${shouldOk} of ${shouldAll} SHOULD`);
console.log(`# ${gql.sent + strict.sent} documents validated against masd's introspected schema`);
process.exit(failures ? 1 : 0);
