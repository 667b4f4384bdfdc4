// Runs a real OIDC client library's discovery against masd-discovery.
//
//   node discovery.mjs openid-client|oauth4webapi ISSUER-URL
//
// Prints one JSON line: {ok: true, issuer, endpoints...} when the library accepted the document
// (issuer match and all its other checks), or {ok: false, code, message} when it rejected it.
// Exit status 0 in both cases (the caller decides which outcome it expects), 2 on misuse.
import * as client from 'openid-client';
import * as oauth from 'oauth4webapi';

const [lib, issuerArg] = process.argv.slice(2);
if (!lib || !issuerArg) {
    console.error('usage: node discovery.mjs openid-client|oauth4webapi ISSUER-URL');
    process.exit(2);
}
const issuer = new URL(issuerArg);

function summary(md, extra = {}) {
    return {
        ok: true,
        issuer: md.issuer,
        authorization_endpoint: md.authorization_endpoint,
        token_endpoint: md.token_endpoint,
        jwks_uri: md.jwks_uri,
        userinfo_endpoint: md.userinfo_endpoint,
        revocation_endpoint: md.revocation_endpoint,
        introspection_endpoint: md.introspection_endpoint,
        registration_endpoint: md.registration_endpoint,
        ...extra,
    };
}

try {
    let out;
    if (lib === 'openid-client') {
        const config = await client.discovery(issuer, 'masd-test-client', undefined, undefined, {
            execute: [client.allowInsecureRequests],
            timeout: 10,
        });
        const md = config.serverMetadata();
        out = summary(md, { supportsPKCE_S256: md.supportsPKCE('S256') });
    } else if (lib === 'oauth4webapi') {
        const response = await oauth.discoveryRequest(issuer, {
            algorithm: 'oidc',
            [oauth.allowInsecureRequests]: true,
            signal: AbortSignal.timeout(10000),
        });
        const md = await oauth.processDiscoveryResponse(issuer, response);
        out = summary(md);
    } else {
        console.error(`unknown library ${lib}`);
        process.exit(2);
    }
    console.log(JSON.stringify(out));
} catch (e) {
    console.log(JSON.stringify({ ok: false, code: e.code ?? null, name: e.name, message: e.message, cause: String(e.cause ?? '') }));
}
