// Builds a real Better Auth instance configured as one of the two deployments idp supports.
// Shared by server.mjs (the HTTP server the interop tests talk to) and schema.mjs (the server's own
// migration, used as the reference for `idp migrate`).
//
//   profile "owox":        better-auth 1.6.25 configured as OWOX Data Marts configures it
//   profile "better-auth": better-auth 1.7.x with email+password, admin, magic link and two-factor
//
// Options come from the environment so that Python fixtures can drive it:
//   IDP_INTEROP_PROFILE   owox | better-auth
//   IDP_INTEROP_VERSION   1.6 | 1.7 (default: 1.6 for owox, 1.7 for better-auth)
//   IDP_INTEROP_DIALECT   sqlite | postgres | mysql
//   IDP_INTEROP_DB        SQLite file path, or a postgres:// / mysql:// URL
//   IDP_INTEROP_BASE_URL  the server's base URL (http://127.0.0.1:<port>)
//   IDP_INTEROP_SECRET    the server's secret (or IDP_INTEROP_SECRETS for the versioned form)
//   IDP_INTEROP_ORGANIZATION=1  adds the organization plugin to the better-auth profile
//   IDP_INTEROP_OAUTH=1   adds a generic OAuth provider "interop" (owox_extras.mjs) to either profile
//   IDP_INTEROP_VARIANT   comma-separated deployment variants of the better-auth profile (the interop
//                         matrix, tests/interop/test_interop_matrix_kysely.py): see applyVariant below
//   IDP_INTEROP_VERSION=1.5  loads better-auth from ../node_v15 (its own package.json); drivers from here

import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
//   IDP_INTEROP_PASSWORD_HASH=bcrypt|argon2id  emailAndPassword.password hooks with that hasher, as
//                         docs/import-from-providers.md shows them (bcryptjs from ../node_bcrypt,
//                         argon2id from @noble/hashes); Better Auth's scrypt when unset

export const captured = { magicLinks: [], resetLinks: [] };

export function settings() {
  const profile = process.env.IDP_INTEROP_PROFILE || "better-auth";
  const version = process.env.IDP_INTEROP_VERSION || (profile === "owox" ? "1.6" : "1.7");
  return {
    profile,
    version,
    dialect: process.env.IDP_INTEROP_DIALECT || "sqlite",
    db: process.env.IDP_INTEROP_DB,
    baseURL: process.env.IDP_INTEROP_BASE_URL || "http://127.0.0.1:3000",
    secret: process.env.IDP_INTEROP_SECRET || "interop-secret-0123456789abcdef0123456789abcdef",
    secrets: process.env.IDP_INTEROP_SECRETS,
    organization: process.env.IDP_INTEROP_ORGANIZATION === "1",
    oauth: process.env.IDP_INTEROP_OAUTH === "1",
    variant: (process.env.IDP_INTEROP_VARIANT || "").split(",").filter(Boolean),
    magicLinkTtl: Number(process.env.IDP_INTEROP_MAGIC_LINK_TTL || (profile === "owox" ? 3600 : 300)),
    passwordHash: process.env.IDP_INTEROP_PASSWORD_HASH || "",
  };
}

// emailAndPassword.password for a server that verifies another hasher than Better Auth's scrypt
async function passwordHooks(kind) {
  if (kind === "bcrypt") {
    const url = new URL("../node_bcrypt/node_modules/bcryptjs/index.js", import.meta.url);
    const { default: bcrypt } = await import(url.href);
    return {
      hash: (password) => bcrypt.hash(password, 10),
      verify: ({ hash, password }) => bcrypt.compare(password, hash),
    };
  }
  if (kind === "argon2id") {
    const { argon2idAsync } = await import("@noble/hashes/argon2.js");
    const { randomBytes, timingSafeEqual } = await import("node:crypto");
    const b64 = (bytes) => Buffer.from(bytes).toString("base64").replace(/=+$/, "");
    return {
      hash: async (password) => {
        const salt = randomBytes(16);
        const key = await argon2idAsync(password, salt, { t: 2, m: 19456, p: 1, dkLen: 32 });
        return `$argon2id$v=19$m=19456,t=2,p=1$${b64(salt)}$${b64(key)}`;
      },
      verify: async ({ hash, password }) => {
        const [, id, version, params, salt, key] = hash.split("$");
        if (id !== "argon2id" || version !== "v=19" || key === undefined) return false;
        const p = Object.fromEntries(params.split(",").map((kv) => kv.split("=")).map(([k, v]) => [k, Number(v)]));
        const wanted = Buffer.from(key, "base64");
        const actual = await argon2idAsync(password, Buffer.from(salt, "base64"), {
          t: p.t, m: p.m, p: p.p, dkLen: wanted.length,
        });
        return timingSafeEqual(Buffer.from(actual), wanted);
      },
    };
  }
  throw new Error(`unknown IDP_INTEROP_PASSWORD_HASH ${kind}`);
}

async function openDatabase(s) {
  if (s.dialect === "sqlite") {
    const { default: Database } = await import("better-sqlite3");
    const db = new Database(s.db);
    db.pragma("journal_mode = WAL");
    db.pragma("busy_timeout = 5000");
    return { database: db, close: async () => db.close() };
  }
  if (s.dialect === "postgres") {
    const { default: pg } = await import("pg");
    const pool = new pg.Pool({ connectionString: s.db, max: 4 });
    return { database: pool, close: async () => pool.end() };
  }
  if (s.dialect === "mysql") {
    const mysql = await import("mysql2/promise");
    const pool = mysql.createPool({ uri: s.db, connectionLimit: 4, timezone: "Z" });
    return { database: pool, close: async () => pool.end() };
  }
  throw new Error(`unknown dialect ${s.dialect}`);
}

// `load("plugins")` imports `<better-auth package>/plugins` of the configured version; 1.5 lives in
// ../node_v15/node_modules (resolved through its package.json's exports, as a bare import there would be).
function loader(s) {
  const pkg = { "1.6": "better-auth-16", "1.4": "better-auth-14" }[s.version] || "better-auth";
  if (s.version !== "1.5") return { pkg, load: (sub = "") => import(sub ? `${pkg}/${sub}` : pkg) };
  const require = createRequire(new URL("../node_v15/package.json", import.meta.url));
  const load = (sub = "") => import(pathToFileURL(require.resolve(sub ? `better-auth/${sub}` : "better-auth")).href);
  return { pkg: "better-auth@1.5", load };
}

export async function createAuth(s = settings()) {
  const { pkg, load } = loader(s);
  const { betterAuth } = await load();
  const plugins = await load("plugins");
  const { createAccessControl } = await load("plugins/access");
  const { database, close } = await openDatabase(s);
  const sendMagicLink = async ({ email, url, token }) => {
    captured.magicLinks.push({ email, url, token });
  };
  const common = {
    baseURL: s.baseURL,
    database,
    telemetry: { enabled: false },
    logger: { level: "error" },
    rateLimit: { enabled: false },
  };
  if (s.secrets) common.secrets = s.secrets.split(",").map((item) => {
    const [version, value] = item.split(":");
    return { version: Number(version), value };
  });
  else common.secret = s.secret;

  let options;
  if (s.profile === "owox") {
    // packages/idp-better-auth/src/auth/auth-config.ts (OWOX Data Marts 0.31.0)
    const ac = createAccessControl({ project: ["create", "update", "delete", "view"] });
    const roles = {
      admin: ac.newRole({ project: ["create", "update", "delete", "view"] }),
      editor: ac.newRole({ project: ["create", "update", "delete", "view"] }),
      viewer: ac.newRole({ project: ["view"] }),
    };
    options = {
      ...common,
      basePath: "/auth/better-auth",
      trustedOrigins: [s.baseURL],
      emailAndPassword: { enabled: true, requireEmailVerification: false },
      session: { expiresIn: 604800, updateAge: 86400 },
      advanced: {
        cookies: {
          session_token: {
            name: "refreshToken",
            attributes: { httpOnly: true, secure: s.baseURL.startsWith("https://") },
          },
        },
      },
      plugins: [
        plugins.magicLink({ sendMagicLink, expiresIn: s.magicLinkTtl, disableSignUp: false }),
        plugins.organization({
          ac,
          roles,
          allowUserToCreateOrganization: false,
          organizationLimit: 1,
          sendInvitationEmail: async () => {},
        }),
      ],
    };
  } else {
    const { defaultStatements, adminAc, userAc } = await load("plugins/admin/access");
    const ac = createAccessControl(defaultStatements);
    const adminPlugins = [
      plugins.admin({
        ac,
        roles: { admin: adminAc, editor: userAc, viewer: userAc, user: userAc },
        defaultRole: "user",
        adminRoles: ["admin"],
      }),
      plugins.magicLink({ sendMagicLink, expiresIn: s.magicLinkTtl }),
      plugins.twoFactor({ issuer: "Better Auth" }),
    ];
    if (s.organization) adminPlugins.push(plugins.organization());
    options = {
      ...common,
      basePath: "/api/auth",
      trustedOrigins: [s.baseURL],
      emailAndPassword: {
        enabled: true,
        sendResetPassword: async ({ user, url, token }) => {
          captured.resetLinks.push({ email: user.email, url, token });
        },
      },
      plugins: adminPlugins,
    };
  }
  if (s.oauth) options.plugins.push((await import("./owox_extras.mjs")).oauthPlugin(plugins));
  if (s.variant.length) await applyVariant(options, s, { plugins, sendMagicLink });
  // IDP_INTEROP_ADAPTER (drizzle | kysely) and IDP_INTEROP_MODEL_NAMES: see orm.mjs
  if (process.env.IDP_INTEROP_ADAPTER) await (await import("./orm.mjs")).configureOrm(s, options, database, pkg);
  if (s.passwordHash) options.emailAndPassword = { ...options.emailAndPassword, password: await passwordHooks(s.passwordHash) };
  const auth = betterAuth(options);
  return { auth, options, close, pkg, load };
}

// The deployment variants of the interop matrix, applied to the better-auth profile's options (each
// as a real application configures Better Auth; names as in variants.mjs):
//   uuid, serial        advanced.database.generateId
//   plural              every model under its plural name (modelName; twoFactor -> twoFactors)
//   renamed             user -> app_users (email -> email_address, emailVerified -> email_verified),
//                       session -> app_sessions (userId -> user_id)
//   fields              user.additionalFields: tier (required), plan (required, default "free"),
//                       nickname (optional), credits (number, default 0)
//   schema              PostgreSQL: the tables in schema "auth" (database.schemaName)
//   no-admin, no-2fa    without the admin / two-factor plugin
//   hashed-link         magicLink({ storeToken: "hashed" })
//   secondary           secondaryStorage only (an in-memory Map in this process): sessions and
//                       verification values are not in the database
//   both                secondaryStorage with database copies (session.storeSessionInDatabase,
//                       verification.storeInDatabase)
//   bcrypt              emailAndPassword.password.hash/verify with bcryptjs (../node_bcrypt)
export async function applyVariant(options, s, { plugins, sendMagicLink }) {
  for (const variant of s.variant) {
    if (variant === "uuid" || variant === "serial") {
      options.advanced = { ...options.advanced, database: { ...options.advanced?.database, generateId: variant } };
    } else if (variant === "plural") {
      for (const model of ["user", "session", "account", "verification"]) {
        options[model] = { ...options[model], modelName: `${model}s` };
      }
      const twoFactor = options.plugins.find((p) => p.id === "two-factor");
      if (twoFactor) twoFactor.schema.twoFactor.modelName = "twoFactors";
    } else if (variant === "renamed") {
      options.user = { ...options.user, modelName: "app_users", fields: { email: "email_address", emailVerified: "email_verified" } };
      options.session = { ...options.session, modelName: "app_sessions", fields: { userId: "user_id" } };
    } else if (variant === "fields") {
      options.user = {
        ...options.user,
        additionalFields: {
          tier: { type: "string", required: true },
          plan: { type: "string", required: true, defaultValue: "free" },
          nickname: { type: "string", required: false },
          credits: { type: "number", required: false, defaultValue: 0 },
        },
      };
    } else if (variant === "schema") {
      const { Kysely, PostgresDialect } = await import("kysely");
      const db = new Kysely({ dialect: new PostgresDialect({ pool: options.database }) });
      options.database = { db, type: "postgres", schemaName: "auth" };
    } else if (variant === "no-admin" || variant === "no-2fa") {
      const id = variant === "no-admin" ? "admin" : "two-factor";
      options.plugins = options.plugins.filter((p) => p.id !== id);
    } else if (variant === "hashed-link") {
      options.plugins = options.plugins.map((p) =>
        p.id === "magic-link" ? plugins.magicLink({ sendMagicLink, expiresIn: s.magicLinkTtl, storeToken: "hashed" }) : p,
      );
    } else if (variant === "secondary" || variant === "both") {
      const store = new Map();
      options.secondaryStorage = {
        get: async (key) => {
          const entry = store.get(key);
          if (!entry) return null;
          if (entry.until && entry.until <= Date.now()) {
            store.delete(key);
            return null;
          }
          return entry.value;
        },
        set: async (key, value, ttl) => {
          store.set(key, { value, until: ttl ? Date.now() + ttl * 1000 : 0 });
        },
        delete: async (key) => {
          store.delete(key);
        },
      };
      if (variant === "both") {
        options.session = { ...options.session, storeSessionInDatabase: true };
        options.verification = { ...options.verification, storeInDatabase: true };
      }
    } else if (variant === "bcrypt") {
      const require = createRequire(new URL("../node_bcrypt/package.json", import.meta.url));
      const bcrypt = (await import(pathToFileURL(require.resolve("bcryptjs")).href)).default;
      options.emailAndPassword = {
        ...options.emailAndPassword,
        password: {
          hash: (password) => bcrypt.hash(password, 10),
          verify: ({ hash, password }) => bcrypt.compare(password, hash),
        },
      };
    } else {
      throw new Error(`unknown IDP_INTEROP_VARIANT ${variant}`);
    }
  }
}
