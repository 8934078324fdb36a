// stdin: {"config": {signerKey, saltSeparator, rounds, memCost}, "checks": [{"password", "hash"}]}
// stdout: [bool, ...]: firebase-scrypt.mjs's answer for each check (tests/test_providers.py)
import { firebaseScryptVerifier } from "./firebase-scrypt.mjs";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const { config, checks } = JSON.parse(input);
const verify = firebaseScryptVerifier(config);
const answers = [];
for (const { password, hash } of checks) answers.push(await verify(hash, password));
process.stdout.write(JSON.stringify(answers));
