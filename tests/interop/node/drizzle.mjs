// Better Auth's Drizzle adapter (`<better-auth>/adapters/drizzle`, drizzle-orm pinned in package.json)
// over one committed Drizzle deployment of tests/interop/data/drizzle: used by auth.mjs when
// IDP_INTEROP_ADAPTER=drizzle, in place of the built-in Kysely adapter.
//
//   IDP_INTEROP_DRIZZLE_SCHEMA  the variant's schema.ts (what Better Auth's CLI generated; loaded as it
//                               is through ts_schema_hooks.mjs)
//   IDP_INTEROP_USE_PLURAL=1    drizzleAdapter(db, { usePlural: true }), as the variant's auth.ts says
//
// The database is the one auth.mjs opened (pg Pool, mysql2 pool, better-sqlite3), created by the test
// from the variant's 0000_init.sql (what drizzle-kit generated); drizzle-kit is not needed here.
import { register } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

register("./ts_schema_hooks.mjs", import.meta.url);

const DRIVERS = {
  postgres: { provider: "pg", module: "drizzle-orm/node-postgres" },
  mysql: { provider: "mysql", module: "drizzle-orm/mysql2" },
  sqlite: { provider: "sqlite", module: "drizzle-orm/better-sqlite3" },
};

export async function drizzleDatabase(s, client, pkg) {
  const file = process.env.IDP_INTEROP_DRIZZLE_SCHEMA;
  if (!file) throw new Error("IDP_INTEROP_ADAPTER=drizzle needs IDP_INTEROP_DRIZZLE_SCHEMA (a schema.ts)");
  const driver = DRIVERS[s.dialect];
  if (!driver) throw new Error(`drizzle: unknown dialect ${s.dialect}`);
  const schema = { ...(await import(pathToFileURL(path.resolve(file)).href)) };
  const { drizzle } = await import(driver.module);
  const options = s.dialect === "mysql" ? { schema, mode: "default" } : { schema };
  const db = drizzle(client, options);
  const { drizzleAdapter } = await import(`${pkg}/adapters/drizzle`);
  return drizzleAdapter(db, {
    provider: driver.provider,
    schema,
    usePlural: process.env.IDP_INTEROP_USE_PLURAL === "1",
  });
}
