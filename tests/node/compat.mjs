// Drives matrix-js-sdk 37 through the Matrix compat API of masd-oauth: loginFlows,
// loginRequest with an m.id.user identifier and refresh_token, refreshToken,
// logout (twice: the second is M_UNKNOWN_TOKEN), the legacy loginWithPassword, a wrong password.
//
//   node compat.mjs BASE-URL USER PASSWORD SERVER-NAME
//
// Prints one JSON line per step {step, ok, ...}; exit status 1 when any step failed.
import * as sdk from 'matrix-js-sdk';

const [baseUrl, user, password, serverName] = process.argv.slice(2);
if (!serverName) {
    console.error('usage: node compat.mjs BASE-URL USER PASSWORD SERVER-NAME');
    process.exit(2);
}

let failed = 0;
function report(step, ok, extra = {}) {
    if (!ok) failed++;
    console.log(JSON.stringify({ step, ok, ...extra }));
}
async function step(name, fn) {
    try {
        const extra = await fn();
        report(name, true, extra || {});
    } catch (e) {
        report(name, false, { error: String(e), errcode: e.errcode, httpStatus: e.httpStatus });
    }
}
function expect(cond, what) {
    if (!cond) throw new Error('expected ' + what);
}
// The error a call must fail with: a MatrixError with this errcode and status.
async function expectMatrixError(fn, errcode, status) {
    try {
        await fn();
    } catch (e) {
        expect(e instanceof sdk.MatrixError, `a MatrixError, got ${e?.constructor?.name}: ${e}`);
        expect(e.errcode === errcode, `errcode ${errcode}, got ${e.errcode}`);
        expect(e.httpStatus === status, `status ${status}, got ${e.httpStatus}`);
        return { errcode: e.errcode, httpStatus: e.httpStatus, data: e.data };
    }
    throw new Error(`expected ${errcode}, the call succeeded`);
}

const userId = `@${user}:${serverName}`;
const anon = sdk.createClient({ baseUrl });
let session;

await step('loginFlows', async () => {
    const r = await anon.loginFlows();
    expect(r.flows.some((f) => f.type === 'm.login.password'), 'm.login.password in the flows');
    return { flows: r.flows.map((f) => f.type) };
});

await step('loginRequest m.id.user with refresh_token', async () => {
    const r = await anon.loginRequest({
        type: 'm.login.password',
        identifier: { type: 'm.id.user', user },
        password,
        initial_device_display_name: 'matrix-js-sdk test',
        refresh_token: true,
    });
    expect(r.user_id === userId, `user_id ${userId}, got ${r.user_id}`);
    expect(/^mct_[A-Za-z0-9]{30}_[A-Za-z0-9]{6}$/.test(r.access_token), 'an mct_ access token');
    expect(/^mcr_[A-Za-z0-9]{30}_[A-Za-z0-9]{6}$/.test(r.refresh_token), 'an mcr_ refresh token');
    expect(/^[A-Za-z0-9]{10}$/.test(r.device_id), 'a 10-character device ID');
    expect(r.expires_in_ms === 300000, 'expires_in_ms 300000');
    session = r;
    return { device_id: r.device_id };
});

await step('refreshToken rotates both tokens', async () => {
    const client = sdk.createClient({ baseUrl, accessToken: session.access_token, userId, deviceId: session.device_id });
    const r = await client.refreshToken(session.refresh_token);
    expect(r.access_token !== session.access_token && r.refresh_token !== session.refresh_token, 'new tokens');
    expect(r.expires_in_ms === 300000, 'expires_in_ms 300000');
    const old = session;
    session = { ...session, access_token: r.access_token, refresh_token: r.refresh_token };
    // The spent refresh token is dead: the SDK sees M_UNKNOWN_TOKEN.
    await expectMatrixError(() => client.refreshToken(old.refresh_token), 'M_UNKNOWN_TOKEN', 401);
    // And so is the old access token.
    const stale = sdk.createClient({ baseUrl, accessToken: old.access_token, userId });
    await expectMatrixError(() => stale.logout(), 'M_UNKNOWN_TOKEN', 401);
});

await step('logout, then the dead token is M_UNKNOWN_TOKEN', async () => {
    const client = sdk.createClient({ baseUrl, accessToken: session.access_token, userId, deviceId: session.device_id });
    const r = await client.logout();
    expect(r && Object.keys(r).length === 0, 'an empty object');
    const again = sdk.createClient({ baseUrl, accessToken: session.access_token, userId });
    const e = await expectMatrixError(() => again.logout(), 'M_UNKNOWN_TOKEN', 401);
    expect(e.data.soft_logout === false, 'soft_logout false');
});

await step('legacy loginWithPassword (top-level user)', async () => {
    const client = sdk.createClient({ baseUrl });
    const r = await client.loginWithPassword(user, password);
    expect(r.user_id === userId && r.access_token.startsWith('mct_'), 'a session');
    expect(r.refresh_token === undefined && r.expires_in_ms === undefined, 'no refresh token');
    expect(client.getAccessToken() === r.access_token, 'the SDK took the token');
    await client.logout();
});

await step('wrong password is M_FORBIDDEN', async () => {
    const client = sdk.createClient({ baseUrl });
    await expectMatrixError(() => client.loginWithPassword(user, password + 'x'), 'M_FORBIDDEN', 403);
});

process.exit(failed ? 1 : 0);
