// masd's GraphQL engine (common/graphql/) against graphql-js 16 and graphql-http, through
// tests/tools/graphql_tool:
//   1. introspection: graphql-js builds a client schema from masd's answer to its own
//      introspection query, and prints it exactly as it prints the schema built from the SDL
//      (the account schema; MAS's own too when MAS_SCHEMA names its frontend/schema.graphql);
//   2. validation: graphql-js's `validate` and masd (validation and caps) agree on every document
//      of a corpus, but for the listed ones masd refuses on purpose;
//   3. the account page query: the same data from both engines;
//   4. GraphQL over HTTP: graphql-http's auditServer against the engine's HTTP functions behind
//      a Node server on loopback; every MUST passes (the SHOULDs are counted).
// Usage: node graphql.mjs TOOL     exits 77 (skipped) when the graphql package is not installed.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import readline from 'node:readline';

let graphql, graphqlHttp;
try {
  graphql = await import('graphql');
  graphqlHttp = await import('graphql-http');
} catch {
  console.log('graphql or graphql-http not installed (npm ci in tests/node): skipped');
  process.exit(77);
}
const { buildClientSchema, buildSchema, getIntrospectionQuery, lexicographicSortSchema, parse, printSchema, validate, execute } =
  graphql;

const tool = process.argv[2];
let failures = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok' : 'not ok'} - ${what}`);
  if (!ok) failures++;
}

function run(mode, input, schemaFile) {
  const args = [mode, ...(schemaFile ? [schemaFile] : [])];
  const r = spawnSync(tool, args, { input, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.toString();
}

const accountSdl = run('sdl', '');

// 1. Introspection
function introspectionMatches(sdl, schemaFile, name) {
  const query = getIntrospectionQuery({
    descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true,
    inputValueDeprecation: true,
  });
  const response = JSON.parse(run('execute', JSON.stringify({ query }), schemaFile));
  check(!response.errors, `${name}: the introspection query runs without errors`);
  const client = buildClientSchema(response.data);
  const ours = printSchema(lexicographicSortSchema(client));
  const theirs = printSchema(lexicographicSortSchema(buildSchema(sdl)));
  check(ours === theirs, `${name}: graphql-js prints the introspected schema as the SDL's`);
  // the default introspection query (no options) too: what most clients send
  const plain = JSON.parse(run('execute', JSON.stringify({ query: getIntrospectionQuery() }), schemaFile));
  check(!plain.errors && buildClientSchema(plain.data), `${name}: graphql-js's default introspection query`);
  return client;
}
const client = introspectionMatches(accountSdl, null, 'account schema');
if (process.env.MAS_SCHEMA) {
  introspectionMatches(fs.readFileSync(process.env.MAS_SCHEMA, 'utf8'), process.env.MAS_SCHEMA, "MAS's schema");
}

// 2. Validation: the same verdict on every document
const documents = [
  '{ siteConfig { id } }',
  'query A { siteConfig { id } } query A { siteConfig { serverName } }',
  'query A { siteConfig { id } } query B { siteConfig { id } }',
  '{ siteConfig { id } } query B { siteConfig { id } }',
  'type T { a: Int } { siteConfig { id } }',
  '{ siteConfig { nope } }',
  '{ viewer { id } }',
  '{ viewer { __typename ... on Node { id } ... on User { username } } }',
  '{ __typename siteConfig { __typename } __schema { description } __type(name: "User") { name } }',
  '{ viewer { ... on User { __schema { description } } } }',
  '{ siteConfig { id { x } } }',
  '{ siteConfig }',
  '{ node(nope: 1, id: "x") { id } }',
  '{ node(id: "a", id: "b") { id } }',
  '{ node { id } }',
  '{ siteConfig @skip { id } }',
  '{ siteConfig @skip(if: true, if: false) { id } }',
  '{ viewer { ...F } } fragment F on User { id } fragment F on User { username }',
  '{ viewer { ...F } } fragment F on Nope { id }',
  '{ viewer { ...F } } fragment F on String { id }',
  '{ viewer { ...F } } fragment F on Viewer { __typename }',
  '{ siteConfig { id } } fragment F on User { id }',
  '{ viewer { ...F } }',
  '{ viewer { ...A } } fragment A on User { ...B } fragment B on User { ...A }',
  '{ viewer { ...A ...B } } fragment A on User { ...B } fragment B on User { id }',
  '{ viewer { ... on CompatSession { id } } }',
  '{ viewer { ... on Node { id } } }',
  '{ node(id: "x") { ... on AppSession { __typename } ... on User { id } } }',
  '{ node(id: "x") { ... on CreationEvent { createdAt } } }',
  '{ viewer { ... on User { matrix { ... on Node { id } } } } }',
  '{ node(id: 1.5) { id } }',
  '{ node(id: 15) { id } }',
  '{ viewer { ... on User { emails(first: "x") { totalCount } } } }',
  '{ viewer { ... on User { emails(first: 3000000000) { totalCount } } } }',
  '{ viewer { ... on User { appSessions(first: 1, state: NOPE) { totalCount } } } }',
  '{ viewer { ... on User { appSessions(first: 1, state: "ACTIVE") { totalCount } } } }',
  '{ viewer { ... on User { appSessions(first: 1, state: ACTIVE, device: null) { totalCount } } } }',
  '{ node(id: null) { id } }',
  'mutation { setDisplayName(input: {displayName: "x"}) { status } }',
  'mutation { setDisplayName(input: {userId: "u", nope: 1}) { status } }',
  'mutation { setDisplayName(input: {userId: "u", userId: "v"}) { status } }',
  'mutation { setDisplayName(input: {userId: "u", displayName: null}) { status } }',
  '{ siteConfig @nope { id } }',
  'query @skip(if: true) { siteConfig { id } }',
  '{ siteConfig { id @deprecated } }',
  '{ siteConfig @skip(if: false) @skip(if: false) { id } }',
  '{ siteConfig @skip(if: false) @include(if: true) { id } viewer { ... @skip(if: true) { __typename } } }',
  'query ($a: ID!, $a: ID!) { node(id: $a) { id } }',
  'query ($a: User) { siteConfig { id } }',
  '{ node(id: $x) { id } }',
  'query Q { viewer { ...F } } fragment F on User { emails(first: $n) { totalCount } }',
  'query A($n: Int) { viewer { ...F } } query B($n: Int = 3) { viewer { ...F } } fragment F on User { emails(first: $n) { totalCount } }',
  'query Q($a: Int) { siteConfig { id } }',
  'query Q($a: Boolean!) { siteConfig @skip(if: $a) { id } }',
  'query ($id: String!) { node(id: $id) { id } }',
  'query ($id: ID) { node(id: $id) { id } }',
  'query ($id: ID = "x") { node(id: $id) { id } }',
  'query ($n: [Int]) { viewer { ... on User { emails(first: $n) { totalCount } } } }',
  'mutation ($u: ID) { setDisplayName(input: {userId: $u}) { status } }',
  'mutation ($u: ID!, $d: String) { setDisplayName(input: {userId: $u, displayName: $d}) { status } }',
  'query ($n: Int = "x") { viewer { ... on User { emails(first: $n) { totalCount } } } }',
  '{ siteConfig { id: serverName id } }',
  '{ siteConfig { id id a: id a: id } }',
  '{ viewer { ... on User { emails(first: 1) { totalCount } emails(first: 2) { totalCount } } } }',
  '{ viewer { ... on User { a: emails(first: 1) { totalCount } b: emails(first: 2) { totalCount } } } }',
  '{ node(id: "x") { ... on CompatSession { x: humanName } ... on Oauth2Session { x: lastActiveIp } } }',
  '{ node(id: "x") { ... on CompatSession { x: deviceId } ... on Oauth2Session { x: scope } } }',
  '{ node(id: "x") { ... on User { x: emails(first: 1) { n: totalCount } } ... on Oauth2Session { x: client { n: clientName } } } }',
  '{ node(id: "x") { ... on User { x: emails(first: 1) { totalCount } } ... on Oauth2Session { x: client { id: clientName } } } }',
  '{ node(id: "x") { ... on Node { x: id } ... on User { x: username } } }',
  '{ viewer { ...A ...B } } fragment A on User { matrix { n: mxid } } fragment B on User { matrix { n: displayName } }',
  '{ viewer { ...A ...B } } fragment A on User { matrix { mxid } } fragment B on User { matrix { mxid displayName } }',
  'subscription { siteConfig { id } }',
  '{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }',
  '{ viewer { ... on User { browserSessions(first: 1, lastActive: {after: 3}) { totalCount } } } }',
  '{ viewer { ... on User { appSessions(first: 1, state: [ACTIVE]) { totalCount } } } }',
  'query ($s: [SessionState]) { viewer { ... on User { appSessions(first: 1, state: $s) { totalCount } } } }',
  'query ($d: DateFilter) { viewer { ... on User { browserSessions(first: 1, lastActive: $d) { totalCount } } } }',
  '{ viewer { ... on User { appSessions(first: 2) { edges { node { ... on CompatSession { deviceId } ... on Oauth2Session { scope } } } } } } }',
  accountPageQuery(),
];
function accountPageQuery() {
  const src = fs.readFileSync(new URL('../unit/graphql_account.h', import.meta.url), 'utf8');
  const body = src.slice(src.indexOf('account_page_query[] ='), src.lastIndexOf(';'));
  return [...body.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => JSON.parse(`"${m[1]}"`)).join('');
}
// Where masd refuses on purpose what graphql-js's `validate` lets through.
const refusedByMasdOnly = {
  'subscription { siteConfig { id } }': 'masd runs no subscriptions (graphql-js refuses them at execution)',
  '{ viewer { ... on User { browserSessions(first: 1, lastActive: {after: 3}) { totalCount } } } }':
    "the DateTime scalar's parse hook (buildSchema's scalars take anything)",
};
const ours = JSON.parse(run('validate', JSON.stringify(documents)));
let agree = 0;
documents.forEach((doc, i) => {
  let theirs;
  try {
    theirs = validate(client, parse(doc)).map((e) => e.message);
  } catch (e) {
    theirs = [e.message];
  }
  const same = (theirs.length === 0) === (ours[i].length === 0);
  if (same !== !refusedByMasdOnly[doc] || (!same && theirs.length)) {
    console.log(`# ${doc}\n#   graphql-js: ${JSON.stringify(theirs)}\n#   masd: ${JSON.stringify(ours[i])}`);
  } else {
    agree++;
  }
});
check(agree === documents.length,
  `validation: masd and graphql-js agree on ${agree - Object.keys(refusedByMasdOnly).length} documents, ` +
  `differ as expected on ${Object.keys(refusedByMasdOnly).length}, of ${documents.length}`);

// 3. The same data from both engines, the account page query
{
  const query = accountPageQuery();
  const variables = { first: 6 };
  const oursResult = JSON.parse(run('execute', JSON.stringify({ query, variables })));
  check(!oursResult.errors && oursResult.data.viewer.appSessions.edges.length === 6,
    'the account page: six sessions, no errors');
  // graphql-js completing the values masd resolved (its response, read back by field name)
  const theirs = await execute({
    schema: buildSchema(accountSdl),
    document: parse(query),
    variableValues: variables,
    rootValue: oursResult.data,
    typeResolver: (v) => v.__typename,
  });
  check(JSON.stringify(theirs.data) === JSON.stringify(oursResult.data),
    'the account page: graphql-js completes the same values into the same response, field order included');
}

// 4. graphql-http's audit
{
  const child = spawn(tool, ['http'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout });
  const pending = [];
  lines.on('line', (line) => pending.shift()(JSON.parse(line)));
  const ask = (req) => new Promise((resolve) => {
    pending.push(resolve);
    child.stdin.write(`${JSON.stringify(req)}\n`);
  });
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const url = new URL(req.url, 'http://localhost');
    const answer = await ask({
      method: req.method,
      query: url.search.slice(1),
      contentType: req.headers['content-type'],
      accept: req.headers.accept,
      body: Buffer.concat(chunks).toString('utf8'),
    });
    const headers = { 'content-type': answer.contentType, 'cache-control': 'no-store' };
    if (answer.allow) headers.allow = answer.allow;
    res.writeHead(answer.status, headers);
    res.end(answer.body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}/graphql`;
  const results = await graphqlHttp.auditServer({ url });
  const count = (level, status) => results.filter((r) => r.name.startsWith(level) && r.status === status).length;
  for (const r of results.filter((r) => r.status !== 'ok')) {
    console.log(`# ${r.status}: ${r.name}: ${r.reason}`);
  }
  const mustFailed = count('MUST', 'error');
  check(mustFailed === 0, `graphql-http audit: MUST ${count('MUST', 'ok')} passed, ${mustFailed} failed`);
  console.log(`# graphql-http audit: SHOULD ${count('SHOULD', 'ok')} of ${count('SHOULD', 'ok') + count('SHOULD', 'warn')}, ` +
    `MAY ${count('MAY', 'ok')} of ${count('MAY', 'ok') + count('MAY', 'notice')}`);
  server.close();
  child.stdin.end();
}

process.exit(failures ? 1 : 0);
