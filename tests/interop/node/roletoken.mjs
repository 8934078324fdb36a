// Decrypts an OWOX role token (the last path segment of the magic link's callbackURL) the way OWOX
// Data Marts' CryptoService.decrypt does (packages/idp-better-auth/src/services/crypto-service.ts):
// an HS256 JWT signed with the raw secret, issuer "idp-better-auth", whose claim `payload` is
// base64("<saltHex>:<ivHex>:<ciphertextHex>"), AES-256-CBC with key = scrypt(secret, salt, 32)
// (Node's defaults N=16384, r=8, p=1). OWOX verifies the JWT with jsonwebtoken; jose does the same
// checks here (signature, algorithm, exp, iss).
//
//   IDP_INTEROP_SECRET=<secret> node roletoken.mjs <token>
// prints {"role": "...", "claims": {...}} on stdout, or an error on stderr with exit code 1.
import { createDecipheriv, scrypt } from "node:crypto";
import { promisify } from "node:util";

import { jwtVerify } from "jose";

const token = process.argv[2];
const secret = process.env.IDP_INTEROP_SECRET;
if (!token || !secret) {
  process.stderr.write("usage: IDP_INTEROP_SECRET=<secret> node roletoken.mjs <token>\n");
  process.exit(2);
}

try {
  const { payload: claims } = await jwtVerify(token, new TextEncoder().encode(secret), {
    algorithms: ["HS256"],
    issuer: "idp-better-auth",
    requiredClaims: ["exp", "payload"],
  });
  if (typeof claims.payload !== "string") throw new Error("claim `payload` is not a string");
  const parts = Buffer.from(claims.payload, "base64").toString("utf8").split(":");
  if (parts.length !== 3 || parts.some((p) => !p)) throw new Error("payload is not <salt>:<iv>:<ciphertext>");
  const [saltHex, ivHex, encrypted] = parts;
  const key = await promisify(scrypt)(secret, Buffer.from(saltHex, "hex"), 32);
  const decipher = createDecipheriv("aes-256-cbc", key, Buffer.from(ivHex, "hex"));
  const role = decipher.update(encrypted, "hex", "utf8") + decipher.final("utf8");
  process.stdout.write(JSON.stringify({ role, claims }) + "\n");
} catch (error) {
  process.stderr.write(`roletoken.mjs: ${error?.message || error}\n`);
  process.exit(1);
}
