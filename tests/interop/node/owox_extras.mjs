// Test-only additions for the lockout tests (tests/interop/test_interop_lockout.py): more of OWOX Data
// Marts' server than the Better Auth handler alone, so that every way back in after `idp ban` can be
// tried against the real thing. Off unless asked for; nothing here changes what the other tests see.
//
//   IDP_INTEROP_OWOX_ROUTES=1  server.mjs also answers GET /auth/magic-link-success/:role (and the legacy
//                              ?role= form) as OWOX's PageService.magicLinkSuccess does
//   IDP_INTEROP_OAUTH=1        auth.mjs adds a generic OAuth provider "interop" (genericOAuth plugin) whose
//                              authorization code IS the identity: base64url(JSON {sub, email, name}).
//                              The test reads `state` from POST /sign-in/oauth2 and calls
//                              /oauth2/callback/interop?code=..&state=.. itself; no provider is contacted.
//                              Stands in for the social providers OWOX's cloud variant configures
//                              (packages/idp-owox-better-auth), which write the same `account` rows.
import { createDecipheriv, randomUUID, scrypt } from "node:crypto";
import { promisify } from "node:util";

import { jwtVerify } from "jose";

export const OAUTH_PROVIDER_ID = "interop";
const OWOX_ORG = { id: "owox_data_marts_organization", name: "OWOX Data Marts", slug: "owox-data-marts" };

export function oauthPlugin(plugins) {
  return plugins.genericOAuth({
    config: [
      {
        providerId: OAUTH_PROVIDER_ID,
        clientId: "interop-client",
        clientSecret: "interop-client-secret",
        authorizationUrl: "http://127.0.0.1:9/never-contacted/authorize",
        tokenUrl: "http://127.0.0.1:9/never-contacted/token", // getToken answers instead
        scopes: ["openid", "email"],
        getToken: async ({ code }) => ({ accessToken: code, tokenType: "Bearer" }),
        getUserInfo: async (tokens) => {
          const who = JSON.parse(Buffer.from(tokens.accessToken, "base64url").toString("utf8"));
          return { id: who.sub, email: who.email, name: who.name || who.email, emailVerified: true };
        },
      },
    ],
  });
}

// OWOX's CryptoService.decrypt (packages/idp-better-auth/src/services/crypto-service.ts), as in
// roletoken.mjs: HS256 JWT (iss idp-better-auth) around base64("<salt>:<iv>:<aes-256-cbc hex>").
async function decryptRole(token, secret) {
  const { payload: claims } = await jwtVerify(token, new TextEncoder().encode(secret), {
    algorithms: ["HS256"],
    issuer: "idp-better-auth",
  });
  const [saltHex, ivHex, encrypted] = Buffer.from(String(claims.payload), "base64").toString("utf8").split(":");
  const key = await promisify(scrypt)(secret, Buffer.from(saltHex, "hex"), 32);
  const decipher = createDecipheriv("aes-256-cbc", key, Buffer.from(ivHex, "hex"));
  return decipher.update(encrypted, "hex", "utf8") + decipher.final("utf8");
}

// OWOX's store writes the membership with raw SQL next to Better Auth's adapter
// (store/SqliteDatabaseStore.ts, MysqlDatabaseStore.ts: addUserToOrganization,
// createDefaultOrganizationForUser); PostgreSQL is not an OWOX database but idp supports it, so the
// same statements run there. Identifiers are written "quoted" (backticks on MySQL), values as `?`.
function sqlRunner(dialect, database) {
  if (dialect === "sqlite") {
    return async (sql, params) => {
      const stmt = database.prepare(sql);
      return stmt.reader ? stmt.all(...params) : (stmt.run(...params), []);
    };
  }
  if (dialect === "postgres") {
    return async (sql, params) => {
      let n = 0;
      return (await database.query(sql.replace(/\?/g, () => `$${++n}`), params)).rows;
    };
  }
  return async (sql, params) => {
    const [rows] = await database.query(sql.replace(/"/g, "`"), params);
    return Array.isArray(rows) ? rows : [];
  };
}

async function addUserToOrganization(run, userId, role) {
  const now = new Date();
  const stamp = run.dialect === "sqlite" ? now.toISOString() : now;
  const org = await run('SELECT "id" FROM "organization" WHERE "slug" = ? LIMIT 1', [OWOX_ORG.slug]);
  if (org.length === 0) {
    await run(
      'INSERT INTO "organization" ("id", "name", "slug", "metadata", "createdAt") VALUES (?, ?, ?, ?, ?)',
      [OWOX_ORG.id, OWOX_ORG.name, OWOX_ORG.slug, JSON.stringify({ isDefault: true, createdBy: userId }), stamp],
    );
  }
  const where = '"userId" = ? AND "organizationId" = ?';
  const existing = await run(`SELECT "role" FROM "member" WHERE ${where}`, [userId, OWOX_ORG.id]);
  if (existing.length) {
    await run(`UPDATE "member" SET "role" = ? WHERE ${where}`, [role, userId, OWOX_ORG.id]);
  } else {
    await run(
      'INSERT INTO "member" ("id", "organizationId", "userId", "role", "createdAt") VALUES (?, ?, ?, ?, ?)',
      [randomUUID(), OWOX_ORG.id, userId, role, stamp],
    );
  }
}

function redirect(res, location) {
  res.writeHead(302, { location });
  res.end();
}

// GET /auth/magic-link-success/:role and /auth/magic-link-success?role= : PageService.magicLinkSuccess
// (packages/idp-better-auth/src/services/page-service.ts, OWOX Data Marts c1b02da4): an error from the
// verify step goes to the sign-in page; otherwise it needs a session and a role token that decrypts,
// names an unnamed user, then gives the session's user the token's role in the organization (update or
// insert), and sends them to /auth/setup-password. Any failure there: /auth/sign-in?error=Something went wrong.
export function owoxRoutes({ auth, options, settings: s }) {
  const run = sqlRunner(s.dialect, options.database);
  run.dialect = s.dialect;
  return async (req, res) => {
    const url = new URL(req.url, s.baseURL);
    if (req.method !== "GET" || !/^\/auth\/magic-link-success(\/[^/]*)?$/.test(url.pathname)) return false;
    try {
      if (url.searchParams.get("error")) {
        redirect(res, `/auth/sign-in?error=Magic link verification failed: ${url.searchParams.get("error")}`);
        return true;
      }
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
      const session = await auth.api.getSession({ headers });
      const segment = url.pathname.split("/")[3];
      const encryptedRole = segment ? decodeURIComponent(segment) : url.searchParams.get("role") || "";
      if (!session || !session.user || !encryptedRole) {
        redirect(res, "/auth/sign-in?error=Invalid magic link");
        return true;
      }
      let role;
      try {
        role = await decryptRole(encryptedRole, s.secret);
      } catch {
        redirect(res, "/auth/sign-in?error=Invalid magic link");
        return true;
      }
      if (!session.user.name && session.user.email) {
        await run('UPDATE "user" SET "name" = ? WHERE "id" = ?', [session.user.email.split("@")[0], session.user.id]);
      }
      await addUserToOrganization(run, session.user.id, role);
      redirect(res, "/auth/setup-password");
    } catch (error) {
      process.stderr.write(`owox_extras.mjs: magic-link-success: ${error?.message || error}\n`);
      redirect(res, "/auth/sign-in?error=Something went wrong");
    }
    return true;
  };
}
