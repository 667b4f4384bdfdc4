// A client of masd's /graphql for the integration tests (tests/integration/graphql.sh and the
// scripts that build on it). Every document it sends is first validated with graphql-js 16
// against the client schema built, once, from masd's own introspection answer: a test that sends
// a document masd's schema does not have fails loudly instead of passing for the wrong reason.
//
//   import { GraphQLClient } from './gql_client.mjs';
//   const gql = await GraphQLClient.connect({ url: 'https://127.0.0.1:8443/graphql' });
//   const r = await gql.request('query { viewer { __typename } }', {
//     cookie: 'session=…', origin: 'https://127.0.0.1:8443', variables: {}, bearer: 'mat_…',
//     method: 'POST' /* or 'GET' */, headers: {}, socketPath: undefined });
//   r.status, r.headers, r.body (parsed JSON, or the text when not JSON), r.data, r.errors
//
// `invalid: true` sends a document without validating it (for the tests of refusals); the
// schema's URL may differ from the one requested (connect({ url, schemaUrl })). HTTPS trusts
// NODE_EXTRA_CA_CERTS, as Node does.
import http from 'node:http';
import https from 'node:https';

let graphql;
try {
  graphql = await import('graphql');
} catch {
  throw new Error('gql_client.mjs: the graphql package is not installed (npm ci in tests/node)');
}
const { buildClientSchema, getIntrospectionQuery, parse, validate } = graphql;

// One HTTP request: { status, headers, text }.
export function send(url, { method = 'POST', headers = {}, body, socketPath } = {}) {
  const u = new URL(url);
  const lib = u.protocol === 'https:' ? https : http;
  if (body !== undefined) headers = { ...headers, 'content-length': Buffer.byteLength(body) };
  return new Promise((resolve, reject) => {
    const req = lib.request(
      { method, hostname: u.hostname, port: u.port, path: u.pathname + u.search, headers, socketPath },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.setTimeout(10000, () => req.destroy(new Error(`${method} ${url}: timed out`)));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

export class GraphQLClient {
  constructor(url, schema, options) {
    this.url = url;
    this.schema = schema;
    this.options = options;
    this.sent = 0; // documents validated and sent
  }

  // Fetches masd's schema by introspection (anonymously) and builds graphql-js's client schema.
  static async connect({ url, schemaUrl, socketPath, schemaSocketPath } = {}) {
    const r = await send(schemaUrl ?? url, {
      socketPath: schemaSocketPath ?? (schemaUrl ? undefined : socketPath),
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query: getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true }) }),
    });
    const body = JSON.parse(r.text);
    if (r.status !== 200 || body.errors) throw new Error(`introspection of ${schemaUrl ?? url}: ${r.status} ${r.text.slice(0, 500)}`);
    return new GraphQLClient(url, buildClientSchema(body.data), { socketPath });
  }

  // Throws when the document is not valid against masd's schema.
  check(document) {
    let ast;
    try {
      ast = parse(document);
    } catch (e) {
      throw new Error(`gql_client: the test's document does not parse: ${e.message}\n${document}`);
    }
    const errors = validate(this.schema, ast);
    if (errors.length)
      throw new Error(`gql_client: the test's document is not valid against masd's schema: ${errors.map((e) => e.message).join('; ')}\n${document}`);
  }

  async request(document, { variables, operationName, cookie, bearer, origin, method = 'POST', headers = {}, contentType,
    invalid = false, socketPath, accept } = {}) {
    if (!invalid) this.check(document);
    this.sent++;
    const h = { ...headers };
    if (cookie) h.cookie = cookie;
    if (bearer) h.authorization = `Bearer ${bearer}`;
    if (origin) h.origin = origin;
    if (accept) h.accept = accept;
    let url = this.url, body;
    if (method === 'GET') {
      const q = new URLSearchParams({ query: document });
      if (variables) q.set('variables', JSON.stringify(variables));
      if (operationName) q.set('operationName', operationName);
      url += `?${q}`;
    } else {
      h['content-type'] = contentType ?? 'application/json';
      body = JSON.stringify({ query: document, ...(variables ? { variables } : {}), ...(operationName ? { operationName } : {}) });
    }
    const r = await send(url, { method, headers: h, body, socketPath: socketPath ?? this.options.socketPath });
    let parsed;
    try {
      parsed = JSON.parse(r.text);
    } catch {
      parsed = r.text;
    }
    return { status: r.status, headers: r.headers, body: parsed, data: parsed?.data, errors: parsed?.errors };
  }
}
