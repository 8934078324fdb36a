import { betterAuth } from "better-auth";
import { prismaAdapter } from "better-auth/adapters/prisma";
import { admin, twoFactor, magicLink, organization } from "better-auth/plugins";

// The CLI only reads the options; the Prisma client is never queried by `generate`.
const prisma = {} as any;

export const auth = betterAuth({
  database: prismaAdapter(prisma, { provider: "postgresql" }),
  emailAndPassword: { enabled: true },
  plugins: [
    admin(),
    twoFactor(),
    magicLink({ sendMagicLink: async () => {} }),
    organization(),
  ],
});
