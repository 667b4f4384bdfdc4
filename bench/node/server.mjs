// The reference OAuth server of masd's benchmarks: oidc-provider (a certified OpenID Provider for
// Node.js) with one confidential client (client_secret_basic), the client_credentials grant,
// token introspection and revocation, its default in-memory adapter, and an access log (one line
// per request, written through a buffered stream, as nginx and masd log).
//
//   node bench/node/server.mjs PORT ACCESS_LOG [REFRESH_COUNT REFRESH_FILE]
//
// With REFRESH_COUNT, the refresh_token grant (bench/token.sh): before listening, it mints that
// many grants of the client, each with a refresh token (scope "api offline_access", as an
// authorization_code exchange leaves them), through its own models, and writes the refresh
// tokens to REFRESH_FILE, one per line. Refresh tokens rotate on every use (rotateRefreshToken:
// true, as MAS and masd do). The in-memory adapter then keeps everything (a Map instead of its
// 1000-entry LRU, which would drop the minted tokens): no eviction, no expiry sweeps.
//
// Prints "listening on 127.0.0.1:PORT" when ready. Routes: /.well-known/openid-configuration,
// /token (client_credentials), /token/introspection, /token/revocation.
import fs from 'node:fs';
import crypto from 'node:crypto';
import Provider from 'oidc-provider';
import { setStorage } from 'oidc-provider/lib/adapters/memory_adapter.js';

const [port, logFile, refreshCount, refreshFile] = process.argv.slice(2);
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
        grant_types: ['client_credentials', 'refresh_token'],
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
    scopes: ['openid', 'api', 'offline_access'],
    ttl: { ClientCredentials: 24 * 3600, RefreshToken: 24 * 3600, Grant: 24 * 3600 },
    rotateRefreshToken: true,
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

if (refreshCount) {
    setStorage(new Map());
    const client = await provider.Client.find(CLIENT_ID);
    const out = [];
    for (let i = 0; i < Number(refreshCount); i++) {
        const grant = new provider.Grant({ accountId: `user${i % 1000}`, clientId: CLIENT_ID });
        grant.addOIDCScope('api offline_access');
        const grantId = await grant.save();
        const rt = new provider.RefreshToken({
            accountId: grant.accountId, client, grantId, scope: 'api offline_access', gty: 'authorization_code',
        });
        out.push(await rt.save());
    }
    fs.writeFileSync(refreshFile, out.join('\n') + '\n');
}

const server = provider.listen(Number(port), '127.0.0.1', () => {
    console.log(`listening on 127.0.0.1:${port}`);
});
server.keepAliveTimeout = 65000;
for (const sig of ['SIGTERM', 'SIGINT'])
    process.on(sig, () => { log.end(); server.close(); process.exit(0); });
