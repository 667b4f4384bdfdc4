// Signs a JWT with a key of a private JWKS file, for tests that craft tokens an IdP would send
// (back-channel logout tokens with one defect each).
//   node tests/node/sign_jwt.mjs KEYS.json ALG '{"claims":…}' ['{"extra header":…}']
// Picks the first key whose alg is ALG (its kid goes in the header) and prints the compact JWS.
import { importJWK, SignJWT } from 'jose';
import fs from 'node:fs';

const [file, alg, claims, header] = process.argv.slice(2);
const jwk = JSON.parse(fs.readFileSync(file, 'utf8')).keys.find((k) => k.alg === alg);
if (!jwk) {
  console.error(`no key for ${alg} in ${file}`);
  process.exit(2);
}
const key = await importJWK(jwk, alg);
const jwt = await new SignJWT(JSON.parse(claims))
  .setProtectedHeader({ alg, kid: jwk.kid, ...JSON.parse(header || '{}') })
  .sign(key);
console.log(jwt);
