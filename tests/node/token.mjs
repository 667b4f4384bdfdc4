// openid-client 6 against masd's token endpoint, one step per call (tests/integration/token.sh
// drives the browser half with curl between the steps):
//   token.mjs authurl BASE CLIENT_ID REDIRECT SCOPE          → {"url", "verifier", "state"}
//   token.mjs exchange BASE CLIENT_ID CALLBACK VERIFIER STATE → the token response (PKCE, public client)
//   token.mjs refresh BASE CLIENT_ID REFRESH_TOKEN            → the token response
//   token.mjs cc BASE CLIENT_ID SECRET [SCOPE]                → client_credentials, client_secret_basic
// The answer is printed as JSON on stdout; an error prints {"error", "error_description",
// "status"} and exits 1. The CA of the test certificate comes from NODE_EXTRA_CA_CERTS.
import * as client from 'openid-client';

const [cmd, base, clientId, ...rest] = process.argv.slice(2);

async function configFor(secret) {
    return client.discovery(new URL(base + '/'), clientId, undefined,
        secret === undefined ? client.None() : client.ClientSecretBasic(secret));
}

function out(tokens) {
    const t = { ...tokens };
    delete t[Symbol.for('openid-client.claims')];
    console.log(JSON.stringify(t));
}

try {
    if (cmd === 'authurl') {
        const [redirect, scope] = rest;
        const config = await configFor();
        const verifier = client.randomPKCECodeVerifier();
        const challenge = await client.calculatePKCECodeChallenge(verifier);
        const state = client.randomState();
        const url = client.buildAuthorizationUrl(config, { redirect_uri: redirect, scope, state,
            code_challenge: challenge, code_challenge_method: 'S256' });
        console.log(JSON.stringify({ url: url.href, verifier, state }));
    } else if (cmd === 'exchange') {
        const [callback, verifier, state] = rest;
        const config = await configFor();
        out(await client.authorizationCodeGrant(config, new URL(callback),
            { pkceCodeVerifier: verifier, expectedState: state }));
    } else if (cmd === 'refresh') {
        const config = await configFor();
        out(await client.refreshTokenGrant(config, rest[0]));
    } else if (cmd === 'cc') {
        const [secret, scope] = rest;
        const config = await configFor(secret);
        out(await client.clientCredentialsGrant(config, scope === undefined ? {} : { scope }));
    } else {
        throw new Error(`unknown command ${cmd}`);
    }
} catch (e) {
    console.log(JSON.stringify({ error: e.error ?? e.code ?? 'exception', error_description: e.error_description ?? e.message,
        status: e.status ?? e.cause?.status }));
    process.exit(1);
}
