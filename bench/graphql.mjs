// The reference for bench/graphql.sh: graphql-js 16 (tests/node's) parsing, validating and
// executing the account page's query over the account schema, with resolvers that build the
// same values as tests/unit/graphql_account.h's, for as many seconds as asked.
//   node bench/graphql.mjs SDL-FILE QUERY-FILE SECONDS [json]
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';

const root = new URL('..', import.meta.url);
const { buildSchema, parse, validate, execute } = await import(
  pathToFileURL(new URL('tests/node/node_modules/graphql/index.mjs', root).pathname).href);
const [sdl, query] = [2, 3].map((i) => fs.readFileSync(process.argv[i], 'utf8'));
const seconds = Number(process.argv[4]);

const pad = (n, width) => String(n).padStart(width, '0');
function session(i) {
  const compat = i % 2 === 0;
  const created = `2024-${pad(1 + Math.floor(i / 28) % 12, 2)}-${pad(1 + i % 28, 2)}T10:${pad(i % 60, 2)}:00Z`;
  const s = {
    __typename: compat ? 'CompatSession' : 'Oauth2Session',
    id: `${compat ? 'compat_session' : 'oauth2_session'}:01JB${pad(i, 22)}`,
    createdAt: created,
    finishedAt: i % 3 === 2 ? created : null,
    lastActiveIp: '192.0.2.7',
    lastActiveAt: created,
    humanName: compat ? 'Element on Linux' : 'Element X',
    userAgent: { raw: `Mozilla/5.0 (X11; Linux x86_64) Element/1.${i}`, name: 'Element', os: 'Linux', model: null, deviceType: 'PC' },
  };
  if (compat) {
    s.deviceId = `DEV${pad(i, 6)}`;
  } else {
    s.scope = 'openid urn:matrix:org.matrix.msc2967.client:api:*';
    s.client = {
      id: 'oauth2_client:01JB0000000000000000000001', clientId: '01JB0000000000000000000001', clientName: 'Element X',
      clientUri: 'https://element.io', logoUri: 'https://element.io/logo.png', redirectUris: ['io.element:/callback'],
      applicationType: 'NATIVE',
    };
  }
  return s;
}
const email = (i) => ({ id: `user_email:01JB${pad(i, 22)}`, email: `alice${i}@example.com`, createdAt: '2024-01-01T00:00:00Z' });
function connection(args, total, item) {
  const forward = Number.isInteger(args.first);
  if (!forward && !Number.isInteger(args.last)) throw new Error("Either 'first' or 'last' must be specified");
  const n = forward ? args.first : args.last;
  const lo = args.after ? Number(args.after) + 1 : 0, hi = args.before ? Math.min(Number(args.before), total) : total;
  const from = forward ? lo : Math.max(hi - n, lo), to = forward ? Math.min(lo + n, hi) : hi;
  const edges = [];
  for (let i = from; i < to; i++) edges.push({ cursor: String(i), node: item(i) });
  return {
    edges, totalCount: total,
    pageInfo: { hasNextPage: forward && to < hi, hasPreviousPage: !forward && from > lo,
      startCursor: to > from ? String(from) : null, endCursor: to > from ? String(to - 1) : null },
  };
}
const data = { emails: 2, browserSessions: 2, appSessions: 1000 };
const schema = buildSchema(sdl);
const resolvers = {
  Query: {
    viewer: () => ({ __typename: 'User', id: 'user:01JB0000000000000000000000', username: 'alice', hasPassword: true }),
    siteConfig: () => ({ id: 'site_config', serverName: 'example.com', emailChangeAllowed: true, minimumPasswordComplexity: 3 }),
  },
  User: {
    matrix: () => ({ mxid: '@alice:example.com', displayName: null }),
    emails: (_, args) => connection(args, data.emails, email),
    appSessions: (_, args) => connection(args, data.appSessions, session),
  },
};
for (const [type, fields] of Object.entries(resolvers)) {
  for (const [name, resolve] of Object.entries(fields)) schema.getType(type).getFields()[name].resolve = resolve;
}
for (const name of ['Viewer', 'AppSession', 'Node']) schema.getType(name).resolveType = (v) => v.__typename;

const variableValues = { first: 6 };
function once(serialize) {
  const document = parse(query);
  const errors = validate(schema, document);
  if (errors.length) throw errors[0];
  const result = execute({ schema, document, variableValues });
  if (result.errors) throw result.errors[0];
  return serialize ? JSON.stringify(result) : result;
}
if (process.argv[5] === 'json') {
  console.log(JSON.stringify(once(false)));
  process.exit(0);
}
// CPU seconds of the process (its JIT and GC threads included), as graphql_bench counts its own.
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
function measure(serialize, secs) {
  let n = 0;
  const start = cpu(), end = start + secs;
  let t;
  do {
    for (let i = 0; i < 100; i++) once(serialize);
    n += 100;
  } while ((t = cpu()) < end);
  return n / (t - start);
}
measure(false, 1); // warm-up: the JIT
for (const [name, serialize] of [['parse+validate+execute', false], ['... and serialize', true]]) {
  const ops = measure(serialize, seconds);
  console.log(`${name.padEnd(45)} ${ops.toFixed(0).padStart(9)} ops/s ${(1e6 / ops).toFixed(1).padStart(8)} us/op`);
}
