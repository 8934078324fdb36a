// A `password.verify` helper for Firebase's modified scrypt, as docs/import-from-providers.md shows it
// (tests/test_providers.py checks that the page carries this code and that it verifies Firebase's
// published test vector). `idp import --from firebase` records such a hash as
// "$firebase-scrypt$<salt base64>$<passwordHash base64>"; the parameters are the project's
// (Firebase console > Authentication > Users > ⋮ > Password hash parameters).
// Algorithm (github.com/firebase/scrypt): key = scrypt(password, salt + saltSeparator, N = 2^memCost,
// r = rounds, p = 1, 64 bytes); hash = AES-256-CTR(key[0..32], IV = 16 zero bytes) over the signer key.
import { createCipheriv, scrypt, timingSafeEqual } from "node:crypto";

export function firebaseScryptVerifier({ signerKey, saltSeparator, rounds, memCost }) {
  const signer = Buffer.from(signerKey, "base64");
  const separator = Buffer.from(saltSeparator, "base64");
  return async function verifyFirebaseScrypt(stored, password) {
    const [, scheme, salt, expected] = stored.split("$");
    if (scheme !== "firebase-scrypt" || expected === undefined) return false;
    const key = await new Promise((resolve, reject) =>
      scrypt(
        password,
        Buffer.concat([Buffer.from(salt, "base64"), separator]),
        64,
        { N: 2 ** memCost, r: rounds, p: 1, maxmem: 256 * 1024 * 1024 },
        (error, derived) => (error ? reject(error) : resolve(derived)),
      ),
    );
    const cipher = createCipheriv("aes-256-ctr", key.subarray(0, 32), Buffer.alloc(16, 0));
    const actual = Buffer.concat([cipher.update(signer), cipher.final()]);
    const wanted = Buffer.from(expected, "base64");
    return actual.length === wanted.length && timingSafeEqual(actual, wanted);
  };
}
