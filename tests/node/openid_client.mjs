// openid-client 6 as a confidential (or public) relying party of masd, one step per call
// (tests/integration/openid-client.sh consents with curl between the steps); every ID token is
// verified with the npm `jose` package (5.10, as jose5: jose 6 dropped ES256K) against the
// issuer's jwks_uri (/oauth2/keys.json), for the algorithm the client registered.
//
//   node openid_client.mjs CMD JSON
//     JSON: {base, client_id, auth, ...}; auth is "none", "basic:SECRET" or "pkjwt:JWK-FILE" (a
//     private JWK; the client signs its assertions with it, RFC 7523)
//   authurl   {redirect, scope}                     → {url, verifier, state, nonce}
//   exchange  {callback, verifier, state, nonce, alg, kid}
//             → the token response, with id_token_header and id_token_claims as jose verified them
//   userinfo  {access_token, sub}                   → the userinfo claims
//   userinfo_jwt {access_token, sub, alg, kid}      → {header, claims} of the signed userinfo
//   refresh   {refresh_token}                       → the token response
//   revoke    {token, hint}                         → {revoked: true}
//   cc        {scope?}                              → the client_credentials token response
// Errors print {"error", "error_description", "status"} and exit 1. The test CA comes from
// NODE_EXTRA_CA_CERTS.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as jose from 'jose5';
import * as client from 'openid-client';

const [cmd, arg] = process.argv.slice(2);
const a = JSON.parse(arg || '{}');
const BASE = a.base.replace(/\/$/, '');

async function clientAuth() {
    if (!a.auth || a.auth === 'none') return client.None();
    if (a.auth.startsWith('basic:')) return client.ClientSecretBasic(a.auth.slice(6));
    if (a.auth.startsWith('pkjwt:')) {
        const jwk = JSON.parse(readFileSync(a.auth.slice(6), 'utf8'));
        // openid-client wants a CryptoKey (jose 5's importJWK gives a KeyObject on Node)
        const key = await crypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: jwk.crv }, false, ['sign']);
        return client.PrivateKeyJwt({ key, kid: jwk.kid });
    }
    throw new Error(`unknown auth ${a.auth}`);
}
async function configure() {
    const meta = a.alg ? { id_token_signed_response_alg: a.alg } : undefined;
    return client.discovery(new URL(BASE + '/'), a.client_id, meta, await clientAuth());
}
function plain(tokens) {
    const t = { ...tokens };
    delete t[Symbol.for('openid-client.claims')];
    return t;
}
// at_hash / c_hash (OIDC Core §3.1.3.6): the left half of the alg's SHA-2 of the value.
function halfHash(alg, value) {
    const bits = alg === 'ES256K' ? 256 : Number(alg.slice(2));
    const d = createHash(`sha${bits}`).update(value).digest();
    return d.subarray(0, d.length / 2).toString('base64url');
}

let out;
const config = await configure().catch((e) => { fail(e); });
try {
    if (cmd === 'authurl') {
        const verifier = client.randomPKCECodeVerifier();
        const state = client.randomState();
        const nonce = client.randomNonce();
        const url = client.buildAuthorizationUrl(config, { redirect_uri: a.redirect, scope: a.scope, state, nonce,
            code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
        out = { url: url.href, verifier, state, nonce };
    } else if (cmd === 'exchange') {
        const callback = new URL(a.callback);
        const t = await client.authorizationCodeGrant(config, callback,
            { pkceCodeVerifier: a.verifier, expectedState: a.state, expectedNonce: a.nonce, idTokenExpected: true });
        // openid-client checked the claims; the signature is jose's, against keys.json.
        const jwks = jose.createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri));
        const v = await jose.jwtVerify(t.id_token, jwks, { issuer: config.serverMetadata().issuer,
            audience: a.client_id, algorithms: [a.alg || 'RS256'] });
        const problems = [];
        if (a.kid && v.protectedHeader.kid !== a.kid) problems.push(`kid ${a.kid}, got ${v.protectedHeader.kid}`);
        if (v.payload.at_hash !== halfHash(v.protectedHeader.alg, t.access_token)) problems.push('at_hash');
        if (v.payload.c_hash !== halfHash(v.protectedHeader.alg, callback.searchParams.get('code'))) problems.push('c_hash');
        if (v.payload.nonce !== a.nonce) problems.push('nonce');
        if (problems.length) throw Object.assign(new Error(problems.join(', ')), { error: 'id_token' });
        out = { ...plain(t), id_token_header: v.protectedHeader, id_token_claims: v.payload };
    } else if (cmd === 'userinfo') {
        out = await client.fetchUserInfo(config, a.access_token, a.sub);
    } else if (cmd === 'userinfo_jwt') {
        // The signed variant (userinfo_signed_response_alg): application/jwt, verified by jose.
        const r = await fetch(config.serverMetadata().userinfo_endpoint, { headers: { authorization: `Bearer ${a.access_token}` } });
        const body = await r.text();
        if (r.status !== 200 || !(r.headers.get('content-type') || '').startsWith('application/jwt'))
            throw Object.assign(new Error(`${r.status} ${r.headers.get('content-type')} ${body.slice(0, 200)}`), { error: 'userinfo', status: r.status });
        const jwks = jose.createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri));
        const v = await jose.jwtVerify(body, jwks, { issuer: config.serverMetadata().issuer, audience: a.client_id,
            algorithms: [a.alg], subject: a.sub });
        if (a.kid && v.protectedHeader.kid !== a.kid) throw Object.assign(new Error(`kid ${a.kid}, got ${v.protectedHeader.kid}`), { error: 'userinfo' });
        out = { header: v.protectedHeader, claims: v.payload };
    } else if (cmd === 'refresh') {
        out = plain(await client.refreshTokenGrant(config, a.refresh_token));
    } else if (cmd === 'revoke') {
        await client.tokenRevocation(config, a.token, a.hint ? { token_type_hint: a.hint } : {});
        out = { revoked: true };
    } else if (cmd === 'cc') {
        out = plain(await client.clientCredentialsGrant(config, a.scope === undefined ? {} : { scope: a.scope }));
    } else {
        throw new Error(`unknown command ${cmd}`);
    }
} catch (e) {
    fail(e);
}
console.log(JSON.stringify(out));

function fail(e) {
    console.log(JSON.stringify({ error: e.error ?? e.code ?? 'exception', error_description: e.error_description ?? e.message,
        status: e.status ?? e.cause?.status }));
    process.exit(1);
}
