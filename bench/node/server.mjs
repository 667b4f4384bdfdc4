// The reference OAuth server of masd's benchmarks: oidc-provider (a certified OpenID Provider for
// Node.js) with one confidential client (client_secret_basic), the client_credentials grant,
// token introspection and revocation, its default in-memory adapter, and an access log (one line
// per request, written through a buffered stream, as nginx and masd log).
//
//   node bench/node/server.mjs PORT ACCESS_LOG
//
// Prints "listening on 127.0.0.1:PORT" when ready. Routes: /.well-known/openid-configuration,
// /token (client_credentials), /token/introspection, /token/revocation.
import fs from 'node:fs';
import crypto from 'node:crypto';
import Provider from 'oidc-provider';

const [port, logFile] = process.argv.slice(2);
if (!port || !logFile) {
    console.error('usage: server.mjs PORT ACCESS_LOG');
    process.exit(2);
}
export const CLIENT_ID = 'bench-client';
export const CLIENT_SECRET = 'bench-client-secret-0123456789';

const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const provider = new Provider(`http://127.0.0.1:${port}`, {
    clients: [{
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        id_token_signed_response_alg: 'ES256',
    }],
    jwks: { keys: [privateKey.export({ format: 'jwk' })] },
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        introspection: { enabled: true },
        revocation: { enabled: true },
    },
    scopes: ['openid', 'api'],
    ttl: { ClientCredentials: 24 * 3600 },
});
provider.proxy = false;

const log = fs.createWriteStream(logFile, { flags: 'a' });
provider.use(async (ctx, next) => {
    const t0 = process.hrtime.bigint();
    await next();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    log.write(`${new Date().toISOString()} ${ctx.ip} "${ctx.method} ${ctx.path}" ${ctx.status} ${ctx.length ?? '-'} ${ms.toFixed(3)}ms\n`);
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));

const server = provider.listen(Number(port), '127.0.0.1', () => {
    console.log(`listening on 127.0.0.1:${port}`);
});
server.keepAliveTimeout = 65000;
for (const sig of ['SIGTERM', 'SIGINT'])
    process.on(sig, () => { log.end(); server.close(); process.exit(0); });
