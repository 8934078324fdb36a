// Better Auth with its api-key plugin, for the api-key interop tests (tests/interop/test_interop_apikey.py).
//
//   node apikey.mjs sql       prints the statements the server's own migration would run (nothing changes)
//   node apikey.mjs migrate   applies them (what `npx auth migrate` does)
//   node apikey.mjs serve     answers JSON commands, one per stdin line, one JSON answer per stdout line:
//       {"op": "verify", "key": K, "permissions": {...}?}   -> auth.api.verifyApiKey (the server-only check)
//       {"op": "create", "userId": U, "name": N, "expiresIn": S?, "prefix": P?, "permissions": {...}?,
//        "metadata": {...}?, "remaining": R?}               -> auth.api.createApiKey, called server-side
//       {"op": "session", "key": K}                         -> auth.api.getSession with the x-api-key header
//                                                              (enableSessionForAPIKeys)
//     answers {"ok": true, "result": ...} or {"ok": false, "status": ..., "error": ...}
//
// Settings from the environment:
//   IDP_APIKEY_VERSION   1.7 (better-auth 1.7.25 + @better-auth/api-key 1.7.5, this folder) |
//                        1.6 (better-auth 1.6.25 + @better-auth/api-key 1.6.25, ./v1.6)
//   IDP_INTEROP_DIALECT  sqlite | postgres | mysql
//   IDP_INTEROP_DB       SQLite file path, or a postgres:// / mysql:// URL
//
// The plugin runs with its defaults except enableMetadata (so that create can take metadata) and
// enableSessionForAPIKeys (so that the session op works); the admin plugin is there so the user table has
// the `banned` column a deployment of idp has.
import readline from "node:readline";

const version = process.env.IDP_APIKEY_VERSION || "1.7";
const dialect = process.env.IDP_INTEROP_DIALECT || "sqlite";
const dbUrl = process.env.IDP_INTEROP_DB;
const SECRET = "interop-secret-0123456789abcdef0123456789abcdef";

const lib = await import(version === "1.6" ? "./v1.6/load.mjs" : "./load.mjs");

async function openDatabase() {
  if (dialect === "sqlite") {
    const { default: Database } = await import("better-sqlite3");
    const db = new Database(dbUrl);
    db.pragma("journal_mode = WAL");
    db.pragma("busy_timeout = 5000");
    return { database: db, close: async () => db.close() };
  }
  if (dialect === "postgres") {
    const { default: pg } = await import("pg");
    const pool = new pg.Pool({ connectionString: dbUrl, max: 4 });
    return { database: pool, close: async () => pool.end() };
  }
  if (dialect === "mysql") {
    const mysql = await import("mysql2/promise");
    const pool = mysql.createPool({ uri: dbUrl, connectionLimit: 4, timezone: "Z" });
    return { database: pool, close: async () => pool.end() };
  }
  throw new Error(`unknown dialect ${dialect}`);
}

const { database, close } = await openDatabase();
const options = {
  baseURL: "http://127.0.0.1:3000",
  basePath: "/api/auth",
  secret: SECRET,
  database,
  telemetry: { enabled: false },
  logger: { level: "error" },
  rateLimit: { enabled: false },
  emailAndPassword: { enabled: true },
  plugins: [
    lib.plugins.admin(),
    lib.apiKeyPlugin.apiKey({ enableMetadata: true, enableSessionForAPIKeys: true }),
  ],
};
const auth = lib.betterAuth.betterAuth(options);

function failure(error) {
  return {
    ok: false,
    status: error?.status ?? error?.statusCode ?? null,
    error: error?.body ?? { message: String(error?.message ?? error) },
  };
}

async function answer(command) {
  if (command.op === "verify") {
    const body = { key: command.key };
    if (command.permissions) body.permissions = command.permissions;
    return { ok: true, result: await auth.api.verifyApiKey({ body }) };
  }
  if (command.op === "create") {
    const { op: _op, ...body } = command;
    return { ok: true, result: await auth.api.createApiKey({ body }) };
  }
  if (command.op === "session") {
    const headers = new Headers({ "x-api-key": command.key });
    return { ok: true, result: await auth.api.getSession({ headers }) };
  }
  throw new Error(`unknown op ${command.op}`);
}

const action = process.argv[2] || "serve";
try {
  if (action === "sql" || action === "migrate") {
    const m = await lib.migration.getMigrations(options);
    if (action === "migrate") await m.runMigrations();
    else {
      const hasWork = m.toBeCreated.length || m.toBeAdded.length || (m.toBeAddedIndexes?.length ?? 0);
      process.stdout.write(hasWork ? (await m.compileMigrations()) + "\n" : "");
    }
  } else if (action === "serve") {
    process.stdout.write(JSON.stringify({ ready: version }) + "\n");
    const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
    for await (const line of lines) {
      if (!line.trim()) continue;
      let out;
      try {
        out = await answer(JSON.parse(line));
      } catch (error) {
        out = failure(error);
      }
      process.stdout.write(JSON.stringify(out) + "\n");
    }
  } else {
    throw new Error(`unknown action ${action}`);
  }
} finally {
  await close();
}
