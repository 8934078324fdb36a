// Module hooks (node:module register) that let Node 20 import the committed Drizzle schemas
// tests/interop/data/drizzle/<variant>/schema.ts as they are: what Better Auth's CLI generates there is
// plain JavaScript in a .ts file (no type annotations), so it is loaded as an ES module unchanged, and
// its bare imports ("drizzle-orm", "drizzle-orm/pg-core") resolve from this folder's node_modules
// (the data folder has none). Only .ts files under tests/interop/data are touched.
import { readFile } from "node:fs/promises";

const here = new URL("./", import.meta.url).href;
const dataDir = new URL("../data/", import.meta.url).href;

function isSchema(url) {
  return typeof url === "string" && url.startsWith(dataDir) && url.endsWith(".ts");
}

export async function resolve(specifier, context, next) {
  const bare = !specifier.startsWith(".") && !specifier.startsWith("/") && !specifier.includes(":");
  if (bare && isSchema(context.parentURL)) return next(specifier, { ...context, parentURL: here });
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (isSchema(url)) {
    // a type annotation would be a SyntaxError here, naming the file: nothing is silently rewritten
    return { format: "module", source: await readFile(new URL(url), "utf8"), shortCircuit: true };
  }
  return next(url, context);
}
