// better-auth 1.7.25 and @better-auth/api-key 1.7.5 as installed in this folder (see apikey.mjs).
export * as betterAuth from "better-auth";
export * as plugins from "better-auth/plugins";
export * as migration from "better-auth/db/migration";
export * as apiKeyPlugin from "@better-auth/api-key";
