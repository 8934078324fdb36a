// The ORM side of a deployment for the interop matrix (tests/interop/test_interop_matrix_orm.py):
// applied by auth.mjs to the options it built, before betterAuth(options), when IDP_INTEROP_ADAPTER is set.
//
//   IDP_INTEROP_ADAPTER=drizzle   Better Auth's Drizzle adapter over a committed schema.ts (drizzle.mjs)
//   IDP_INTEROP_ADAPTER=kysely    the built-in Kysely adapter (the database auth.mjs opened), for the
//                                 Prisma deployments: Prisma's engines cannot be downloaded here, so the
//                                 server runs Kysely over the SQL Prisma's migration creates
//   IDP_INTEROP_MODEL_NAMES       "user=User,session=Session,twoFactor=TwoFactor,...": each model's
//                                 modelName (core models in options.<model>, plugin models in the
//                                 plugin's schema), what a Prisma schema without @@map needs
export async function configureOrm(s, options, database, pkg) {
  const adapter = process.env.IDP_INTEROP_ADAPTER;
  if (adapter === "drizzle") {
    options.database = await (await import("./drizzle.mjs")).drizzleDatabase(s, database, pkg);
  } else if (adapter !== "kysely") {
    throw new Error(`IDP_INTEROP_ADAPTER: unknown adapter ${adapter}`);
  }
  const names = (process.env.IDP_INTEROP_MODEL_NAMES || "").split(",").filter(Boolean);
  for (const pair of names) {
    const [model, modelName] = pair.split("=");
    if (["user", "session", "account", "verification"].includes(model)) {
      options[model] = { ...(options[model] || {}), modelName };
      continue;
    }
    const plugin = options.plugins.find((p) => p.schema && p.schema[model]);
    if (!plugin) throw new Error(`IDP_INTEROP_MODEL_NAMES: no plugin has the model ${model}`);
    plugin.schema[model].modelName = modelName;
  }
}
