// The profile's GraphQL mutations and fields (services/human/gql_profile.c) as MAS's account
// frontend sends them, with a browser session's cookie through nginx; every document validated
// against masd's introspected schema by tests/node/gql_client.mjs. The homeserver stand-in and
// the test's SMTP server are checked for what each change must cause there.
//
//   node account_graphql.mjs CONFIG-JSON
//     {base, cookie, other_cookie, other_user_id, username, password, new_password, mail_dir, hs}
//
// Prints one JSON line per step {step, ok, ...}; exit status 1 when any step failed.
import { readFileSync, readdirSync } from 'node:fs';
import { GraphQLClient } from './gql_client.mjs';

const cfg = JSON.parse(process.argv[2] || '{}');
const BASE = cfg.base.replace(/\/$/, '');
const gql = await GraphQLClient.connect({ url: `${BASE}/graphql` });
let cookie = cfg.cookie;

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
async function q(document, variables) {
    const r = await gql.request(document, { variables, cookie, origin: BASE });
    if (r.headers['set-cookie']) cookie = r.headers['set-cookie'][0].split(';')[0];
    return r;
}
// The mutation's payload, or a throw with what came instead.
async function m(document, variables, field) {
    const r = await q(document, variables);
    if (r.status !== 200 || r.errors) throw new Error(`${field}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.data[field];
}
async function homeserver(cond) {
    let u = null;
    for (let i = 0; i < 100; i++) {
        u = (await (await fetch(`${cfg.hs}_standin/state`)).json()).users[cfg.username];
        if (u && cond(u)) return u;
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the homeserver's ${cfg.username}: ${JSON.stringify(u)}`);
}
async function mailedCode(address) {
    for (let i = 0; i < 100; i++) {
        const files = readdirSync(cfg.mail_dir).filter((f) => f.endsWith('.eml')).sort((a, b) => parseInt(b) - parseInt(a));
        for (const f of files) {
            const msg = readFileSync(`${cfg.mail_dir}/${f}`, 'utf8');
            const to = msg.match(/^To: .*$/m);
            if (to && to[0].includes(address)) return msg.match(/^Subject: (\d{6}) /m)[1];
        }
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no e-mail to ${address}`);
}

const SET_NAME = `mutation SetDisplayName($userId: ID!, $displayName: String) {
  setDisplayName(input: { userId: $userId, displayName: $displayName }) { status user { id } } }`;
const MATRIX = 'query { viewer { __typename ... on User { id matrix { mxid displayName deactivated } } } }';

let userId;
await step('viewer.matrix: the user as the homeserver has it', async () => {
    const r = await q(MATRIX);
    expect(r.status === 200 && !r.errors, `no error, got ${JSON.stringify(r.body)}`);
    userId = r.data.viewer.id;
    expect(r.data.viewer.matrix.mxid === `@${cfg.username}:example.com`, `the mxid, got ${JSON.stringify(r.data.viewer)}`);
    expect(r.data.viewer.matrix.deactivated === false, 'not deactivated');
});

await step('setDisplayName: SET on the homeserver; "" is INVALID; null clears it', async () => {
    let p = await m(SET_NAME, { userId, displayName: 'Erin Example' }, 'setDisplayName');
    expect(p.status === 'SET' && p.user.id === userId, `SET, got ${JSON.stringify(p)}`);
    await homeserver((u) => u.display_name === 'Erin Example');
    const r = await q(MATRIX);
    expect(r.data.viewer.matrix.displayName === 'Erin Example', 'matrix.displayName');
    p = await m(SET_NAME, { userId, displayName: '' }, 'setDisplayName');
    expect(p.status === 'INVALID', `INVALID, got ${JSON.stringify(p)}`);
    p = await m(SET_NAME, { userId, displayName: null }, 'setDisplayName');
    expect(p.status === 'SET', `SET, got ${JSON.stringify(p)}`);
    await homeserver((u) => u.display_name === null);
});

await step("setDisplayName for another user: Unauthorized, and nothing sent", async () => {
    const r = await q(SET_NAME, { userId: cfg.other_user_id, displayName: 'pwned' });
    expect(r.errors && r.errors[0].message === 'Unauthorized', `Unauthorized, got ${JSON.stringify(r.body)}`);
});

const START = `mutation StartEmail($email: String!, $password: String) {
  startEmailAuthentication(input: { email: $email, password: $password }) {
    status violations authentication { id email completedAt } } }`;
const COMPLETE = `mutation Complete($id: ID!, $code: String!) {
  completeEmailAuthentication(input: { id: $id, code: $code }) { status } }`;
const email = `${cfg.username}@example.org`;
let authId;
await step('startEmailAuthentication: the password re-check (missing: an error; wrong: INCORRECT_PASSWORD), then STARTED', async () => {
    let r = await q(START, { email });
    expect(r.errors && /password/.test(r.errors[0].message), `an error about the password, got ${JSON.stringify(r.body)}`);
    let p = await m(START, { email, password: 'wrong' }, 'startEmailAuthentication');
    expect(p.status === 'INCORRECT_PASSWORD', `INCORRECT_PASSWORD, got ${JSON.stringify(p)}`);
    p = await m(START, { email: 'nope', password: cfg.password }, 'startEmailAuthentication');
    expect(p.status === 'INVALID_EMAIL_ADDRESS', `INVALID_EMAIL_ADDRESS, got ${JSON.stringify(p)}`);
    p = await m(START, { email, password: cfg.password }, 'startEmailAuthentication');
    expect(p.status === 'STARTED' && p.authentication.email === email && p.authentication.completedAt === null,
           `STARTED, got ${JSON.stringify(p)}`);
    authId = p.authentication.id;
    expect(/^user_email_authentication:[0-9A-Z]{26}$/.test(authId), `its ID, got ${authId}`);
});

await step('userEmailAuthentication and node(id): the browser session that started it sees it', async () => {
    const r = await q(`query A($id: ID!) { userEmailAuthentication(id: $id) { id email }
      node(id: $id) { __typename ... on UserEmailAuthentication { email } } }`, { id: authId });
    expect(!r.errors && r.data.userEmailAuthentication.email === email && r.data.node.email === email,
           `both, got ${JSON.stringify(r.body)}`);
});

await step("another browser session (another user's) neither sees it nor completes it", async () => {
    const other = { cookie: cfg.other_cookie, origin: BASE };
    let r = await gql.request(`query A($id: ID!) { userEmailAuthentication(id: $id) { id } node(id: $id) { id } }`,
                              { ...other, variables: { id: authId } });
    expect(!r.errors && r.data.userEmailAuthentication === null && r.data.node === null, `nulls, got ${JSON.stringify(r.body)}`);
    r = await gql.request(COMPLETE, { ...other, variables: { id: authId, code: await mailedCode(email) } });
    expect(!r.errors && r.data.completeEmailAuthentication.status === 'INVALID_CODE', `INVALID_CODE, got ${JSON.stringify(r.body)}`);
    r = await gql.request(`mutation Resend($id: ID!) { resendEmailAuthenticationCode(input: { id: $id }) { status } }`,
                          { ...other, variables: { id: authId } });
    expect(r.errors && r.errors[0].message === 'Unauthorized', `Unauthorized, got ${JSON.stringify(r.body)}`);
});

await step('completeEmailAuthentication: a wrong code, another sent (RESENT), the mailed one (COMPLETED); the homeserver gets the address', async () => {
    let p = await m(COMPLETE, { id: authId, code: '000000' }, 'completeEmailAuthentication');
    expect(p.status === 'INVALID_CODE', `INVALID_CODE, got ${JSON.stringify(p)}`);
    p = await m(`mutation Resend($id: ID!) { resendEmailAuthenticationCode(input: { id: $id }) { status } }`,
                { id: authId }, 'resendEmailAuthenticationCode');
    expect(p.status === 'RESENT', `RESENT, got ${JSON.stringify(p)}`);
    p = await m(COMPLETE, { id: authId, code: await mailedCode(email) }, 'completeEmailAuthentication');
    expect(p.status === 'COMPLETED', `COMPLETED, got ${JSON.stringify(p)}`);
    await homeserver((u) => u.emails.includes(email));
});

await step('removeEmail: INCORRECT_PASSWORD, then REMOVED (with the address and the user); the homeserver drops it', async () => {
    const r = await q('query { viewer { ... on User { emails(first: 10) { edges { node { id email } } } } } }');
    const node = r.data.viewer.emails.edges.map((e) => e.node).find((n) => n.email === email);
    expect(node, `the address listed, got ${JSON.stringify(r.body)}`);
    const RM = `mutation Remove($id: ID!, $password: String) {
      removeEmail(input: { userEmailId: $id, password: $password }) { status email { id email } user { id } } }`;
    let p = await m(RM, { id: node.id, password: 'wrong' }, 'removeEmail');
    expect(p.status === 'INCORRECT_PASSWORD', `INCORRECT_PASSWORD, got ${JSON.stringify(p)}`);
    p = await m(RM, { id: node.id, password: cfg.password }, 'removeEmail');
    expect(p.status === 'REMOVED' && p.email.email === email && p.user.id === userId, `REMOVED, got ${JSON.stringify(p)}`);
    await homeserver((u) => u.emails.length === 0);
    p = await m(RM, { id: node.id, password: cfg.password }, 'removeEmail');
    expect(p.status === 'NOT_FOUND', `NOT_FOUND, got ${JSON.stringify(p)}`);
});

await step('setPassword: WRONG_PASSWORD, INVALID_NEW_PASSWORD, then ALLOWED', async () => {
    const SP = `mutation SetPassword($userId: ID!, $current: String, $next: String!) {
      setPassword(input: { userId: $userId, currentPassword: $current, newPassword: $next }) { status } }`;
    let p = await m(SP, { userId, current: 'wrong', next: cfg.new_password }, 'setPassword');
    expect(p.status === 'WRONG_PASSWORD', `WRONG_PASSWORD, got ${JSON.stringify(p)}`);
    p = await m(SP, { userId, current: cfg.password, next: 'abc' }, 'setPassword');
    expect(p.status === 'INVALID_NEW_PASSWORD', `INVALID_NEW_PASSWORD, got ${JSON.stringify(p)}`);
    p = await m(SP, { userId, current: cfg.password, next: cfg.new_password }, 'setPassword');
    expect(p.status === 'ALLOWED', `ALLOWED, got ${JSON.stringify(p)}`);
});

await step('work outside the transaction: two display names by alias, each sent in order; User.matrix after them', async () => {
    const r = await q(`mutation Two($userId: ID!) {
      a: setDisplayName(input: { userId: $userId, displayName: "First" }) { status }
      b: setDisplayName(input: { userId: $userId, displayName: "Second" }) { status user { matrix { displayName } } } }`, { userId });
    expect(r.status === 200 && !r.errors, `no error, got ${JSON.stringify(r.body)}`);
    expect(r.data.a.status === 'SET' && r.data.b.status === 'SET', `SET twice, got ${JSON.stringify(r.data)}`);
    expect(r.data.b.user.matrix.displayName === 'Second', `the homeserver's name after both, got ${JSON.stringify(r.data.b)}`);
    await homeserver((u) => u.display_name === 'Second');
});

await step('work outside the transaction: password changes that undo each other\'s check are an error, and change nothing', async () => {
    const r = await q(`mutation Chain($userId: ID!, $now: String!) {
      a: setPassword(input: { userId: $userId, currentPassword: $now, newPassword: "chain one two three four" }) { status }
      b: setPassword(input: { userId: $userId, currentPassword: "chain one two three four", newPassword: "chain five six seven eight" }) { status } }`,
                      { userId, now: cfg.new_password });
    expect(r.status === 200 && r.data === null && r.errors && /one at a time/.test(r.errors[0].message), `the error, got ${r.status} ${JSON.stringify(r.body)}`);
    const p = await m(`mutation SetPassword($userId: ID!, $current: String, $next: String!) {
      setPassword(input: { userId: $userId, currentPassword: $current, newPassword: $next }) { status } }`,
                      { userId, current: cfg.new_password, next: cfg.new_password }, 'setPassword');
    expect(p.status === 'ALLOWED', `the password is still the one before, got ${JSON.stringify(p)}`);
});

await step('allowUserCrossSigningReset: the homeserver is asked', async () => {
    const p = await m(`mutation X($userId: ID!) { allowUserCrossSigningReset(input: { userId: $userId }) { user { id } } }`,
                      { userId }, 'allowUserCrossSigningReset');
    expect(p.user.id === userId, `the user, got ${JSON.stringify(p)}`);
});

await step('deactivateUser: INCORRECT_PASSWORD, then DEACTIVATED; signed out; the homeserver deletes the user', async () => {
    const D = `mutation D($password: String) { deactivateUser(input: { hsErase: true, password: $password }) { status } }`;
    let p = await m(D, { password: cfg.password }, 'deactivateUser');
    expect(p.status === 'INCORRECT_PASSWORD', `INCORRECT_PASSWORD (the old one), got ${JSON.stringify(p)}`);
    p = await m(D, { password: cfg.new_password }, 'deactivateUser');
    expect(p.status === 'DEACTIVATED', `DEACTIVATED, got ${JSON.stringify(p)}`);
    await homeserver((u) => u.deactivated && u.erased);
    const r = await q('query { viewer { __typename } }');
    expect(r.data && r.data.viewer.__typename === 'Anonymous', `Anonymous, got ${JSON.stringify(r.body)}`);
});

console.log(JSON.stringify({ documents: gql.sent }));
process.exit(failed ? 1 : 0);
