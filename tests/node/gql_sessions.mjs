// The sessions of masd's GraphQL API (services/human/gql_sessions.c) as MAS's account frontend
// asks for them, each document validated against masd's introspected schema first
// (gql_client.mjs): User.appSessions paged both ways with cursors of either kind, its filters and
// totalCount; User.browserSessions with lastAuthentication; Query.session by device; node();
// setCompatSessionName, endCompatSession, endOauth2Session (NOT_FOUND for another user's);
// another user sees null; ending the current browser session rewrites the cookie.
//
//   node gql_sessions.mjs CONFIG-JSON
//     {base, cookie, other_cookie, device, renamed_device, end_device}
//
// Prints one JSON line per step {step, ok, ...}; exit status 1 when any step failed.
import { GraphQLClient } from './gql_client.mjs';

const cfg = JSON.parse(process.argv[2] || '{}');
const BASE = cfg.base.replace(/\/$/, '');
let failed = 0;
async function step(name, fn) {
    try {
        const extra = await fn();
        console.log(JSON.stringify({ step: name, ok: true, ...(extra || {}) }));
    } catch (e) {
        failed++;
        console.log(JSON.stringify({ step: name, ok: false, error: String(e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e) }));
    }
}
function expect(cond, what) {
    if (!cond) throw new Error('expected ' + what);
}
const gql = await GraphQLClient.connect({ url: `${BASE}/graphql` });
async function q(document, variables, cookie = cfg.cookie) {
    const r = await gql.request(document, { variables, cookie, origin: BASE });
    return r;
}
function ok(r) {
    expect(r.status === 200 && !r.errors, `no error, got ${r.status} ${JSON.stringify(r.body).slice(0, 400)}`);
    return r.data;
}

const SESSION_FIELDS = `
  fragment CompatSession_session on CompatSession { id createdAt deviceId finishedAt lastActiveIp lastActiveAt humanName
    userAgent { name os model deviceType } ssoLogin { id redirectUri } }
  fragment OAuth2Session_session on Oauth2Session { id scope createdAt finishedAt lastActiveIp lastActiveAt humanName
    userAgent { name model os deviceType } client { id clientId clientName applicationType } }`;
const LIST = `query AppSessionsList($before: String, $after: String, $first: Int, $last: Int, $state: SessionState, $device: String) {
  viewer { __typename ... on User { id appSessions(before: $before, after: $after, first: $first, last: $last, state: $state, device: $device) {
    edges { cursor node { __typename ...CompatSession_session ...OAuth2Session_session } }
    totalCount pageInfo { startCursor endCursor hasNextPage hasPreviousPage } } } } }` + SESSION_FIELDS;

let userId, all;
await step('appSessions: every session, both kinds, oldest first, totalCount', async () => {
    const d = ok(await q(LIST, { first: 100 }));
    userId = d.viewer.id;
    const c = d.viewer.appSessions;
    all = c.edges;
    expect(c.totalCount === all.length && all.length >= 3, `totalCount = edges >= 3, got ${c.totalCount} / ${all.length}`);
    const kinds = new Set(all.map((e) => e.node.__typename));
    expect(kinds.has('CompatSession') && kinds.has('Oauth2Session'), `both kinds, got ${[...kinds]}`);
    const ids = all.map((e) => e.node.id.split(':')[1]);
    expect(ids.join() === [...ids].sort().join(), 'ascending IDs');
    expect(!c.pageInfo.hasNextPage && !c.pageInfo.hasPreviousPage, 'no other page');
    const compat = all.find((e) => e.node.deviceId === cfg.renamed_device).node;
    expect(compat.userAgent && compat.userAgent.deviceType === 'MOBILE' && compat.userAgent.os === 'Android',
           `the compat session's user agent parsed, got ${JSON.stringify(compat.userAgent)}`);
    const oauth = all.find((e) => e.node.__typename === 'Oauth2Session').node;
    expect(oauth.client.clientName === 'Test Client' && /urn:matrix:client:device:/.test(oauth.scope), `the client and scope, got ${JSON.stringify(oauth)}`);
    return { sessions: all.length };
});

await step('appSessions: pages of two forwards and backwards, cursors of either kind', async () => {
    let after = null, seen = [];
    for (;;) {
        const c = ok(await q(LIST, { first: 2, after })).viewer.appSessions;
        seen.push(...c.edges.map((e) => e.node.id));
        expect(!c.pageInfo.hasPreviousPage, 'forward: hasPreviousPage false');
        if (!c.pageInfo.hasNextPage) break;
        after = c.pageInfo.endCursor;
    }
    expect(seen.join() === all.map((e) => e.node.id).join(), `forward pages = the whole list, got ${seen}`);
    let before = null, back = [];
    for (;;) {
        const c = ok(await q(LIST, { last: 2, before })).viewer.appSessions;
        back.unshift(...c.edges.map((e) => e.node.id));
        expect(!c.pageInfo.hasNextPage, 'backward: hasNextPage false');
        if (!c.pageInfo.hasPreviousPage) break;
        before = c.pageInfo.startCursor;
    }
    expect(back.join() === seen.join(), `backward pages = the whole list, got ${back}`);
    const r = await q(LIST, { first: 2, after: Buffer.from('["BrowserSession","01HQ8Z4ZQ0ABCDEFGHJKMNPQRS"]').toString('base64url') });
    expect(r.errors && r.errors[0].message === 'invalid cursor', `a browser session's cursor: invalid cursor, got ${JSON.stringify(r.body)}`);
    const none = await q(LIST, {});
    expect(none.errors && /Either 'first' or 'last'/.test(none.errors[0].message), `no first/last: MAS's error, got ${JSON.stringify(none.body)}`);
});

await step('appSessions: filters (device, state) and their totalCount', async () => {
    const c = ok(await q(LIST, { first: 10, device: cfg.renamed_device })).viewer.appSessions;
    expect(c.totalCount === 1 && c.edges[0].node.deviceId === cfg.renamed_device, `one session of the device, got ${JSON.stringify(c)}`);
    const fin = ok(await q(LIST, { first: 10, state: 'FINISHED' })).viewer.appSessions;
    const act = ok(await q(LIST, { first: 10, state: 'ACTIVE' })).viewer.appSessions;
    expect(fin.totalCount + act.totalCount === all.length && fin.totalCount >= 1, `finished + active = all, got ${fin.totalCount} + ${act.totalCount}`);
    expect(fin.edges.every((e) => e.node.finishedAt), 'finished ones have finishedAt');
});

await step('browserSessions with lastAuthentication, and viewerSession', async () => {
    const d = ok(await q(`query BrowserSessionList { viewerSession { __typename ... on BrowserSession { id } }
      viewer { __typename ... on User { browserSessions(first: 10, state: ACTIVE) { totalCount edges { cursor node {
        id createdAt finishedAt lastActiveIp lastActiveAt userAgent { name os deviceType } lastAuthentication { id createdAt } user { id username } } } } } } }`));
    const c = d.viewer.browserSessions;
    expect(c.totalCount >= 1, `a browser session, got ${c.totalCount}`);
    const mine = c.edges.find((e) => e.node.id === d.viewerSession.id);
    expect(mine && mine.node.lastAuthentication && /^authentication:/.test(mine.node.lastAuthentication.id), `this session with its password login, got ${JSON.stringify(c)}`);
});

let compatId;
await step('Query.session by device, node() of each kind', async () => {
    const d = ok(await q(`query DeviceRedirect($deviceId: String!, $userId: ID!) { session(deviceId: $deviceId, userId: $userId) {
      __typename ... on CompatSession { id deviceId humanName } ... on Oauth2Session { id } } }`, { deviceId: cfg.renamed_device, userId }));
    expect(d.session && d.session.__typename === 'CompatSession' && d.session.deviceId === cfg.renamed_device, `the compat session, got ${JSON.stringify(d)}`);
    compatId = d.session.id;
    const none = ok(await q(`query DeviceRedirect($deviceId: String!, $userId: ID!) { session(deviceId: $deviceId, userId: $userId) { __typename } }`,
                            { deviceId: 'NOSUCHDEVICE', userId }));
    expect(none.session === null, 'an unknown device: null');
    for (const e of all) {
        const n = ok(await q(`query SessionDetail($id: ID!) { node(id: $id) { __typename id } }`, { id: e.node.id }));
        expect(n.node && n.node.id === e.node.id, `node(${e.node.id}), got ${JSON.stringify(n)}`);
    }
});

await step('another user: alice\'s sessions are null, her device unknown, her sessions NOT_FOUND to change', async () => {
    const n = ok(await q(`query SessionDetail($id: ID!) { node(id: $id) { __typename } }`, { id: compatId }, cfg.other_cookie));
    expect(n.node === null, `node: null, got ${JSON.stringify(n)}`);
    const s = ok(await q(`query DeviceRedirect($deviceId: String!, $userId: ID!) { session(deviceId: $deviceId, userId: $userId) { __typename } }`,
                         { deviceId: cfg.renamed_device, userId }, cfg.other_cookie));
    expect(s.session === null, 'Query.session: null');
    const r = ok(await q(`mutation SetCompatSessionName($sessionId: ID!, $displayName: String!) {
      setCompatSessionName(input: { compatSessionId: $sessionId, humanName: $displayName }) { status } }`,
                         { sessionId: compatId, displayName: 'pwned' }, cfg.other_cookie));
    expect(r.setCompatSessionName.status === 'NOT_FOUND', `rename: NOT_FOUND, got ${JSON.stringify(r)}`);
    const e = ok(await q(`mutation EndCompatSession($id: ID!) { endCompatSession(input: { compatSessionId: $id }) { status compatSession { id } } }`,
                         { id: compatId }, cfg.other_cookie));
    expect(e.endCompatSession.status === 'NOT_FOUND' && e.endCompatSession.compatSession === null, `end: NOT_FOUND, got ${JSON.stringify(e)}`);
});

await step('setCompatSessionName: UPDATED, the name in the answer', async () => {
    const r = ok(await q(`mutation SetCompatSessionName($sessionId: ID!, $displayName: String!) {
      setCompatSessionName(input: { compatSessionId: $sessionId, humanName: $displayName }) { status oauth2Session { id humanName } } }`,
                         { sessionId: compatId, displayName: 'Renamed by GraphQL' }));
    expect(r.setCompatSessionName.status === 'UPDATED' && r.setCompatSessionName.oauth2Session.humanName === 'Renamed by GraphQL',
           `UPDATED, got ${JSON.stringify(r)}`);
    const bad = await q(`mutation { setCompatSessionName(input: { compatSessionId: "oauth2_session:01HQ8Z4ZQ0ABCDEFGHJKMNPQRS", humanName: "x" }) { status } }`);
    expect(bad.errors && bad.errors[0].message === 'invalid id', `an ID of another type: invalid id, got ${JSON.stringify(bad.body)}`);
});

await step('endCompatSession: ENDED with finishedAt; again: ENDED still', async () => {
    const s = ok(await q(`query DeviceRedirect($deviceId: String!, $userId: ID!) { session(deviceId: $deviceId, userId: $userId) { ... on CompatSession { id } } }`,
                         { deviceId: cfg.end_device, userId }));
    expect(s.session, `the session of ${cfg.end_device}`);
    const m = `mutation EndCompatSession($id: ID!) { endCompatSession(input: { compatSessionId: $id }) { status compatSession { id finishedAt } } }`;
    const r = ok(await q(m, { id: s.session.id }));
    expect(r.endCompatSession.status === 'ENDED' && r.endCompatSession.compatSession.finishedAt, `ENDED, got ${JSON.stringify(r)}`);
    const again = ok(await q(m, { id: s.session.id }));
    expect(again.endCompatSession.status === 'ENDED', 'ending again: ENDED');
    const gone = ok(await q(`query DeviceRedirect($deviceId: String!, $userId: ID!) { session(deviceId: $deviceId, userId: $userId) { __typename } }`,
                            { deviceId: cfg.end_device, userId }));
    expect(gone.session === null, 'the device has no active session any more');
});

await step('endBrowserSession of the current session: ENDED, the cookie forgets it, the viewer is anonymous', async () => {
    const d = ok(await q(`query { viewerSession { __typename ... on BrowserSession { id } } }`));
    const r = await q(`mutation EndBrowserSession($id: ID!) { endBrowserSession(input: { browserSessionId: $id }) { status browserSession { id finishedAt } } }`,
                      { id: d.viewerSession.id });
    ok(r);
    expect(r.data.endBrowserSession.status === 'ENDED', `ENDED, got ${JSON.stringify(r.body)}`);
    const sc = [].concat(r.headers['set-cookie'] || []).find((c) => c.startsWith('session='));
    expect(sc, `a new session cookie, got ${JSON.stringify(r.headers['set-cookie'])}`);
    const after = ok(await q(`query { viewer { __typename } }`, undefined, sc.split(';')[0]));
    expect(after.viewer.__typename === 'Anonymous', `anonymous with the new cookie, got ${JSON.stringify(after)}`);
    const old = ok(await q(`query { viewer { __typename } }`));
    expect(old.viewer.__typename === 'Anonymous', 'the old cookie names an ended session: anonymous');
});

console.log(JSON.stringify({ step: 'documents validated against the schema', ok: true, sent: gql.sent }));
process.exit(failed ? 1 : 0);
