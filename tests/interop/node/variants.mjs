// Writes the SQL that Better Auth's own migration (`getMigrations`, what `npx auth migrate` runs)
// produces for deployments that differ from the default: uuid and serial ids, plural and renamed
// tables, additional user fields, another PostgreSQL schema. The output is the test data of
// tests/test_discover.py (tests/interop/data/kysely/<variant>/*.sql); run it again after an upgrade of
// better-auth and commit what changed:
//
//   node variants.mjs ../data/kysely            (PostgreSQL and MariaDB must be reachable)
//
// Each variant is computed on a fresh, empty database of its dialect (created and dropped here), so the
// SQL is the full `CREATE TABLE` set. A variant with `then` is computed twice: first the base options
// are migrated for real, then the SQL of the second options is what the migration adds to that schema
// (an `ALTER TABLE`), as it happens to a deployment that adds fields later.
import fs from "node:fs";
import path from "node:path";

const PG_ADMIN = process.env.IDP_TEST_PG_URL || "postgres://postgres@127.0.0.1:5432/postgres";
const MYSQL_ADMIN = process.env.IDP_TEST_MYSQL_URL || "mysql://root@127.0.0.1:3306/mysql";

const { betterAuth } = await import("better-auth");
const { getMigrations } = await import("better-auth/db/migration");
const plugins = await import("better-auth/plugins");

// Every model under its plural name: what `usePlural: true` makes Better Auth query. getMigrations
// itself ignores an adapter's usePlural (it introspects with `usePlural: false`, get-migration.ts), so a
// Kysely deployment with plural tables has them through `modelName`; the physical result is the same.
const PLURAL = {
  user: { modelName: "users" },
  session: { modelName: "sessions" },
  account: { modelName: "accounts" },
  verification: { modelName: "verifications" },
};

function pluginList({ plural = false } = {}) {
  return [
    plugins.admin(),
    plugins.twoFactor(plural ? { schema: { twoFactor: { modelName: "twoFactors" } } } : {}),
    plugins.magicLink({ sendMagicLink: async () => {} }),
    plugins.organization(
      plural
        ? {
            schema: {
              organization: { modelName: "organizations" },
              member: { modelName: "members" },
              invitation: { modelName: "invitations" },
            },
          }
        : {},
    ),
  ];
}

const ADDITIONAL = {
  additionalFields: {
    tier: { type: "string", required: true },
    plan: { type: "string", required: true, defaultValue: "free" },
    nickname: { type: "string", required: false },
    credits: { type: "number", required: false, defaultValue: 0 },
  },
};

const VARIANTS = [
  // the default, as a control
  { name: "default-pg", dialect: "postgres", options: {} },
  { name: "default-mysql", dialect: "mysql", options: {} },
  { name: "default-sqlite", dialect: "sqlite", options: {} },
  // advanced.database.generateId
  { name: "uuid-pg", dialect: "postgres", options: { advanced: { database: { generateId: "uuid" } } } },
  { name: "uuid-mysql", dialect: "mysql", options: { advanced: { database: { generateId: "uuid" } } } },
  { name: "serial-pg", dialect: "postgres", options: { advanced: { database: { generateId: "serial" } } } },
  { name: "serial-mysql", dialect: "mysql", options: { advanced: { database: { generateId: "serial" } } } },
  { name: "serial-sqlite", dialect: "sqlite", options: { advanced: { database: { generateId: "serial" } } } },
  // plural tables (Kysely: camelCase columns, `twoFactors`)
  { name: "plural-pg", dialect: "postgres", options: PLURAL, plural: true },
  { name: "plural-sqlite", dialect: "sqlite", options: PLURAL, plural: true },
  // renamed model and field, as in Better Auth's docs (`modelName`, `fields`)
  ...["postgres", "mysql", "sqlite"].map((dialect) => ({
    name: `renamed-${dialect === "postgres" ? "pg" : dialect}`,
    dialect,
    options: {
      user: { modelName: "app_users", fields: { email: "email_address", emailVerified: "email_verified" } },
      session: { modelName: "app_sessions", fields: { userId: "user_id" } },
    },
  })),
  // additional user fields, in the first migration
  ...["postgres", "mysql", "sqlite"].map((dialect) => ({
    name: `fields-${dialect === "postgres" ? "pg" : dialect}`,
    dialect,
    options: { user: ADDITIONAL },
  })),
  // additional user fields added to an existing schema (ALTER TABLE ... ADD COLUMN, with defaults)
  ...["postgres", "mysql", "sqlite"].map((dialect) => ({
    name: `fields-added-${dialect === "postgres" ? "pg" : dialect}`,
    dialect,
    options: {},
    then: { user: ADDITIONAL },
  })),
  // database.schemaName: the tables in another PostgreSQL schema
  { name: "schema-pg", dialect: "postgres", options: {}, schemaName: "auth" },
];

async function freshDatabase(dialect, name) {
  if (dialect === "sqlite") {
    const { default: Database } = await import("better-sqlite3");
    const db = new Database(":memory:");
    return { database: db, close: async () => db.close() };
  }
  if (dialect === "postgres") {
    const { default: pg } = await import("pg");
    const admin = new pg.Client({ connectionString: PG_ADMIN });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    const pool = new pg.Pool({ connectionString: PG_ADMIN.replace(/\/[^/]*$/, `/${name}`), max: 2 });
    pool.on("error", () => {}); // a pooled connection ended by the DROP DATABASE below
    return {
      database: pool,
      close: async () => {
        await pool.end();
        await admin.query(`DROP DATABASE "${name}" WITH (FORCE)`);
        await admin.end();
      },
    };
  }
  const mysql = await import("mysql2/promise");
  const admin = await mysql.createConnection({ uri: MYSQL_ADMIN });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  const pool = mysql.createPool({ uri: MYSQL_ADMIN.replace(/\/[^/]*$/, `/${name}`), connectionLimit: 2, timezone: "Z" });
  return {
    database: pool,
    close: async () => {
      await pool.end();
      await admin.query(`DROP DATABASE \`${name}\``);
      await admin.end();
    },
  };
}

async function authOptions(variant, database, extra) {
  let db = database;
  if (variant.schemaName) {
    const { Kysely, PostgresDialect } = await import("kysely");
    db = { db: new Kysely({ dialect: new PostgresDialect({ pool: database }) }), type: "postgres", schemaName: variant.schemaName };
  }
  const options = {
    baseURL: "http://127.0.0.1:3000",
    secret: "variants-secret-0123456789abcdef0123456789abcdef",
    database: db,
    telemetry: { enabled: false },
    logger: { level: "error" },
    emailAndPassword: { enabled: true },
    plugins: pluginList({ plural: variant.plural }),
  };
  for (const [key, value] of Object.entries(extra)) {
    options[key] = value;
  }
  betterAuth(options); // validates the options as the server would
  return options;
}

function mergeUser(a, b) {
  // `then` adds to the base options (the same deployment, one release later)
  const out = { ...a };
  for (const [key, value] of Object.entries(b)) out[key] = { ...(a[key] || {}), ...value };
  return out;
}

const outDir = path.resolve(process.argv[2] || "../data/kysely");
const only = process.argv.slice(3);
let counter = 0;
for (const variant of VARIANTS) {
  if (only.length && !only.includes(variant.name)) continue;
  const name = `idp_variants_${process.pid}_${counter++}`;
  const { database, close } = await freshDatabase(variant.dialect, name);
  try {
    const dir = path.join(outDir, variant.name);
    fs.mkdirSync(dir, { recursive: true });
    const first = await getMigrations(await authOptions(variant, database, variant.options));
    const sql1 = (await first.compileMigrations()) + "\n";
    fs.writeFileSync(path.join(dir, "001_create.sql"), sql1);
    if (variant.then) {
      await first.runMigrations();
      const second = await getMigrations(await authOptions(variant, database, mergeUser(variant.options, variant.then)));
      fs.writeFileSync(path.join(dir, "002_add.sql"), (await second.compileMigrations()) + "\n");
    }
    process.stdout.write(`${variant.name}: ${dir}\n`);
  } finally {
    await close();
  }
}
