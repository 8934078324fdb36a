// The server's own migration (what `npx auth migrate` runs), for the profile in the environment.
//   node schema.mjs sql       prints the statements it would run on that database (nothing changes)
//   node schema.mjs migrate   applies them
import { createAuth } from "./auth.mjs";

const action = process.argv[2] || "sql";
const { options, close, load } = await createAuth();
const { getMigrations } = await load("db/migration");
try {
  const m = await getMigrations(options);
  if (action === "sql") {
    const hasWork = m.toBeCreated.length || m.toBeAdded.length || (m.toBeAddedIndexes?.length ?? 0);
    process.stdout.write(hasWork ? (await m.compileMigrations()) + "\n" : "");
  } else if (action === "migrate") {
    await m.runMigrations();
  } else {
    throw new Error(`unknown action ${action}`);
  }
} finally {
  await close();
}
