// The real Better Auth server for the interop tests: the package's own Node handler
// (`toNodeHandler` from `<better-auth package>/node`) on 127.0.0.1 only.
//
//   IDP_INTEROP_PORT   the port to listen on (chosen by the pytest fixture); everything else as in
//                      auth.mjs (IDP_INTEROP_PROFILE, _DIALECT, _DB, _BASE_URL, _SECRET, ...)
//
// One test-only route outside the auth base path: GET /__interop/captured answers what the server
// would have e-mailed (magic links and reset links it issued itself), as JSON.
//
// With IDP_INTEROP_OWOX_ROUTES=1 it also answers OWOX's GET /auth/magic-link-success/:role
// (owox_extras.mjs).
//
// Prints one line `listening <baseURL>` on stdout once it accepts connections; errors go to stderr.
// SIGTERM / SIGINT close the server and the database pool, then exit 0.
import http from "node:http";

import { captured, createAuth, settings } from "./auth.mjs";

const s = settings();
const port = Number(process.env.IDP_INTEROP_PORT);
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write("server.mjs: IDP_INTEROP_PORT must be a port number\n");
  process.exit(2);
}

const { auth, options, close, pkg, load } = await createAuth(s);
const { toNodeHandler } = await load("node");
const handler = toNodeHandler(auth);
const extraRoutes =
  process.env.IDP_INTEROP_OWOX_ROUTES === "1"
    ? (await import("./owox_extras.mjs")).owoxRoutes({ auth, options, settings: s })
    : null;

const server = http.createServer((req, res) => {
  if (req.url === "/__interop/captured") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(captured));
    return;
  }
  const handled = extraRoutes ? extraRoutes(req, res) : Promise.resolve(false);
  handled.then((done) => (done ? undefined : handler(req, res))).catch((error) => {
    process.stderr.write(`server.mjs: ${req.method} ${req.url}: ${error?.stack || error}\n`);
    if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
    res.end("internal error");
  });
});

let stopping = false;
async function stop(signal) {
  if (stopping) return;
  stopping = true;
  server.closeAllConnections?.();
  server.close();
  try {
    await close();
  } catch (error) {
    process.stderr.write(`server.mjs: closing the database after ${signal}: ${error}\n`);
  }
  process.exit(0);
}
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGINT"));

server.on("error", (error) => {
  process.stderr.write(`server.mjs: ${error?.stack || error}\n`);
  process.exit(1);
});
server.listen(port, "127.0.0.1", () => {
  process.stdout.write(`listening ${s.baseURL} (${s.profile} ${pkg}, ${s.dialect})\n`);
});
