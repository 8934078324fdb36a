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
    magicLinkTtl: Number(process.env.IDP_INTEROP_MAGIC_LINK_TTL || (profile === "owox" ? 3600 : 300)),
  };
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

export async function createAuth(s = settings()) {
  const pkg = { "1.6": "better-auth-16", "1.4": "better-auth-14" }[s.version] || "better-auth";
  const { betterAuth } = await import(pkg);
  const plugins = await import(`${pkg}/plugins`);
  const { createAccessControl } = await import(`${pkg}/plugins/access`);
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
    const { defaultStatements, adminAc, userAc } = await import(`${pkg}/plugins/admin/access`);
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
  // IDP_INTEROP_ADAPTER (drizzle | kysely) and IDP_INTEROP_MODEL_NAMES: see orm.mjs
  if (process.env.IDP_INTEROP_ADAPTER) await (await import("./orm.mjs")).configureOrm(s, options, database, pkg);
  const auth = betterAuth(options);
  return { auth, options, close, pkg };
}
