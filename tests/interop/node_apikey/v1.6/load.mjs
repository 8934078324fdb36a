// better-auth 1.6.25 and @better-auth/api-key 1.6.25 as installed in this folder: imported from here so
// that the plugin resolves `better-auth` and `@better-auth/core` to 1.6.25, not to ../node_modules.
export * as betterAuth from "better-auth";
export * as plugins from "better-auth/plugins";
export * as migration from "better-auth/db/migration";
export * as apiKeyPlugin from "@better-auth/api-key";
