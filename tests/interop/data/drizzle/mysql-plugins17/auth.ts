import { betterAuth } from "better-auth";
import { drizzleAdapter } from "better-auth/adapters/drizzle";
import { admin, twoFactor, magicLink, organization } from "better-auth/plugins";

// The CLI only reads the options; the database object is never queried by `generate`.
const db = {} as any;

export const auth = betterAuth({
  database: drizzleAdapter(db, { provider: "mysql"}),
  emailAndPassword: { enabled: true },
  plugins: [
    admin(),
    twoFactor(),
    magicLink({ sendMagicLink: async () => {} }),
    organization(),
  ],
});
