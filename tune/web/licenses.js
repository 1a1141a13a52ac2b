// licenses.js writes the licence texts of the packages bundled into
// ../assets/editor.js to ../assets/editor.LICENSES.txt (run by npm run build).
// esbuild is a build tool and is not bundled, so it is left out.
"use strict";
const fs = require("fs");
const path = require("path");

const lock = JSON.parse(fs.readFileSync(path.join(__dirname, "package-lock.json"), "utf8"));
const names = Object.keys(lock.packages)
  .filter((p) => p.startsWith("node_modules/"))
  .map((p) => p.slice("node_modules/".length))
  .filter((n) => n !== "esbuild" && !n.startsWith("@esbuild/"))
  .sort();
let out = "Licences of the packages bundled into editor.js\n\n";
for (const name of names) {
  const dir = path.join(__dirname, "node_modules", name);
  const meta = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  const file = fs.readdirSync(dir).find((f) => /^licen[sc]e/i.test(f));
  out += "=".repeat(72) + "\n" + name + " " + meta.version + " (" + (meta.license || "see text") + ")\n" + "=".repeat(72) + "\n";
  out += file ? fs.readFileSync(path.join(dir, file), "utf8").trim() + "\n\n" : "(no licence file in the package)\n\n";
}
fs.writeFileSync(path.join(__dirname, "..", "assets", "editor.LICENSES.txt"), out);
