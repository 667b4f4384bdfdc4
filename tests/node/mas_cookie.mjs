// MAS's private cookies, built from their description alone with Node's crypto (not masd's code),
// so that tests/unit/test_cookie.c proves masd reads and writes the same format:
//   key   = bytes 32..63 of HKDF-SHA256-Expand(PRK = secret, info, 64)   (RFC 5869 §2.3)
//   value = base64(nonce(12) || AES-256-GCM(key, nonce, plaintext, aad = cookie name) || tag(16))
//
//   node mas_cookie.mjs seal SECRET-HEX NAME PLAINTEXT    prints the value
//   node mas_cookie.mjs open SECRET-HEX NAME VALUE        prints the plaintext, or exits 1
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";

const INFO = Buffer.from("COOKIE;SIGNED:HMAC-SHA256;PRIVATE:AEAD-AES-256-GCM");
const [mode, secretHex, name, arg] = process.argv.slice(2);
const prk = Buffer.from(secretHex, "hex");
const t1 = createHmac("sha256", prk).update(Buffer.concat([INFO, Buffer.from([1])])).digest();
const t2 = createHmac("sha256", prk).update(Buffer.concat([t1, INFO, Buffer.from([2])])).digest();
const key = t2; // the second half of the 64 bytes

if (mode === "seal") {
    const nonce = randomBytes(12);
    const c = createCipheriv("aes-256-gcm", key, nonce);
    c.setAAD(Buffer.from(name));
    const body = Buffer.concat([c.update(Buffer.from(arg)), c.final()]);
    process.stdout.write(Buffer.concat([nonce, body, c.getAuthTag()]).toString("base64"));
} else if (mode === "open") {
    const raw = Buffer.from(arg, "base64");
    if (raw.toString("base64") !== arg || raw.length < 28) process.exit(1);
    const d = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
    d.setAAD(Buffer.from(name));
    d.setAuthTag(raw.subarray(raw.length - 16));
    try {
        process.stdout.write(Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]));
    } catch {
        process.exit(1);
    }
} else {
    process.exit(2);
}
