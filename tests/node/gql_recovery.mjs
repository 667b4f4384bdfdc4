// Account recovery through /graphql as MAS's account frontend does it at
// /account/password/recovery (frontend/src/routes/password.recovery.index.tsx): the ticket's
// state (Query.userRecoveryTicket), the e-mail again (resendRecoveryEmail) and the new password
// (setPasswordByRecovery). Every document is validated against masd's introspected schema
// (gql_client.mjs).
//
//   node gql_recovery.mjs CONFIG-JSON
//     {base, ticket, username, email, password, cookie}   cookie: a signed-in browser's session
//
// Prints one JSON line per step {step, ok, ...}; exit status 1 when any step failed.
import { GraphQLClient } from './gql_client.mjs';

const cfg = JSON.parse(process.argv[2] || '{}');
const BASE = cfg.base.replace(/\/$/, '');
const gql = await GraphQLClient.connect({ url: BASE + '/graphql' });
const origin = new URL(BASE).origin;

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

const TICKET = `query PasswordRecovery($ticket: String!) {
  userRecoveryTicket(ticket: $ticket) { id createdAt status username email }
}`;
const RECOVER = `mutation RecoverPassword($ticket: String!, $newPassword: String!) {
  setPasswordByRecovery(input: { ticket: $ticket, newPassword: $newPassword }) { status }
}`;
const RESEND = `mutation ResendRecoveryEmail($ticket: String!) {
  resendRecoveryEmail(input: { ticket: $ticket }) { status progressUrl }
}`;
const ask = (doc, variables, extra = {}) => gql.request(doc, { variables, origin, ...extra });
const UNKNOWN = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef';

await step('userRecoveryTicket: VALID, with the username and the address', async () => {
    const r = await ask(TICKET, { ticket: cfg.ticket });
    const t = r.data?.userRecoveryTicket;
    expect(r.status === 200 && !r.errors, `200 without errors, got ${r.status} ${JSON.stringify(r.body)}`);
    expect(t && t.status === 'VALID' && t.username === cfg.username && t.email === cfg.email, `VALID, got ${JSON.stringify(t)}`);
    expect(/^user_recovery_ticket:[0-9A-Z]{26}$/.test(t.id), `MAS's node ID, got ${t.id}`);
});

await step('userRecoveryTicket of an unknown ticket: null', async () => {
    const r = await ask(TICKET, { ticket: UNKNOWN });
    expect(r.data && r.data.userRecoveryTicket === null && !r.errors, `null, got ${JSON.stringify(r.body)}`);
});

await step('resendRecoveryEmail: SENT, progressUrl the absolute progress page', async () => {
    const r = await ask(RESEND, { ticket: cfg.ticket });
    const p = r.data?.resendRecoveryEmail;
    expect(p && p.status === 'SENT', `SENT, got ${JSON.stringify(r.body)}`);
    expect(new RegExp(`^${BASE}/recover/progress/[0-9A-Z]{26}$`).test(p.progressUrl), `an absolute URL, got ${p.progressUrl}`);
    const unknown = await ask(RESEND, { ticket: UNKNOWN });
    expect(unknown.data?.resendRecoveryEmail?.status === 'NO_SUCH_RECOVERY_TICKET', `NO_SUCH_RECOVERY_TICKET, got ${JSON.stringify(unknown.body)}`);
    expect(unknown.data.resendRecoveryEmail.progressUrl === null, 'no progressUrl');
});

await step('setPasswordByRecovery from a signed-in browser: an error, nothing changed', async () => {
    const r = await ask(RECOVER, { ticket: cfg.ticket, newPassword: cfg.password }, { cookie: cfg.cookie });
    expect(r.errors && /only for anonymous users/.test(JSON.stringify(r.errors)), `the error, got ${JSON.stringify(r.body)}`);
});

await step('setPasswordByRecovery: a weak password is INVALID_NEW_PASSWORD, an unknown ticket NO_SUCH_RECOVERY_TICKET', async () => {
    const weak = await ask(RECOVER, { ticket: cfg.ticket, newPassword: 'abc' });
    expect(weak.data?.setPasswordByRecovery?.status === 'INVALID_NEW_PASSWORD', `INVALID_NEW_PASSWORD, got ${JSON.stringify(weak.body)}`);
    const unknown = await ask(RECOVER, { ticket: UNKNOWN, newPassword: cfg.password });
    expect(unknown.data?.setPasswordByRecovery?.status === 'NO_SUCH_RECOVERY_TICKET', `NO_SUCH_RECOVERY_TICKET, got ${JSON.stringify(unknown.body)}`);
});

await step('setPasswordByRecovery: ALLOWED once, then RECOVERY_TICKET_ALREADY_USED; the ticket is CONSUMED', async () => {
    const r = await ask(RECOVER, { ticket: cfg.ticket, newPassword: cfg.password });
    expect(r.data?.setPasswordByRecovery?.status === 'ALLOWED', `ALLOWED, got ${JSON.stringify(r.body)}`);
    const again = await ask(RECOVER, { ticket: cfg.ticket, newPassword: cfg.password + ' again' });
    expect(again.data?.setPasswordByRecovery?.status === 'RECOVERY_TICKET_ALREADY_USED', `ALREADY_USED, got ${JSON.stringify(again.body)}`);
    const t = await ask(TICKET, { ticket: cfg.ticket });
    expect(t.data?.userRecoveryTicket?.status === 'CONSUMED', `CONSUMED, got ${JSON.stringify(t.body)}`);
});

await step('every document was validated against the introspected schema', async () => {
    expect(gql.sent >= 10, `10 documents, got ${gql.sent}`);
    return { documents: gql.sent };
});

process.exit(failed ? 1 : 0);
