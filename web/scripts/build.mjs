// Build the dashboard into dist/. tsc compiles src/ together with the typed client
// (../clients/typescript/src) into dist/static/js; then the CSS, socket.io-client's browser
// ES module build and index.html are copied beside them. No bundler: the import map in
// index.html resolves the two bare imports, "@mindwire/client" and "socket.io-client".
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(web, "dist");
const socketIo = join(web, "node_modules", "socket.io-client", "dist");
const tsc = join(web, "node_modules", "typescript", "bin", "tsc");

if (!existsSync(tsc)) throw new Error("TypeScript is not installed: run `npm ci` in web/ first");
rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, "-p", join(web, "tsconfig.json")], { stdio: "inherit" });

const copies = [
  [join(web, "static", "app.css"), join(dist, "static", "app.css")],
  [join(socketIo, "socket.io.esm.min.js"), join(dist, "static", "vendor", "socket.io.esm.min.js")],
  [
    join(socketIo, "socket.io.esm.min.js.map"),
    join(dist, "static", "vendor", "socket.io.esm.min.js.map"),
  ],
  // Last: the server serves the dashboard as soon as index.html exists.
  [join(web, "static", "index.html"), join(dist, "index.html")],
];
for (const [source, target] of copies) {
  if (!existsSync(source)) throw new Error(`missing ${source}: run \`npm ci\` in web/ first`);
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(source, target);
}
console.log(`dashboard built in ${dist}`);
