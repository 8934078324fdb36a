// Cross-check for tests/crypto/test_bcrypt.py: the two bcrypt hashers Better Auth deployments plug into
// `emailAndPassword.password.hash/verify` (bcryptjs, pure JS, and bcrypt, the native binding).
// stdin: {"verify": [{"password", "hash"}], "hash": ["password", ...]}
// stdout: {"<lib>": {"verify": [bool, ...], "hashes": ["$2b$...", ...]}} for each library.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const libraries = { bcryptjs: require("bcryptjs"), bcrypt: require("bcrypt") };

let input = "";
for await (const chunk of process.stdin) input += chunk;
const job = JSON.parse(input);

const out = {};
for (const [name, lib] of Object.entries(libraries)) {
  const verify = [];
  for (const { password, hash } of job.verify) verify.push(await lib.compare(password, hash));
  const hashes = [];
  for (const password of job.hash) hashes.push(await lib.hash(password, 10));
  out[name] = { verify, hashes };
}
process.stdout.write(JSON.stringify(out));
