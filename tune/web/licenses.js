// licenses.js writes the licence texts of the packages bundled into
// ../assets/editor.js to ../assets/editor.LICENSES.txt, and those bundled
// into ../assets/chart.js (uPlot) to ../assets/chart.LICENSES.txt (run by
// npm run build). esbuild is a build tool and is not bundled, so it is left
// out.
"use strict";
const fs = require("fs");
const path = require("path");

const lock = JSON.parse(fs.readFileSync(path.join(__dirname, "package-lock.json"), "utf8"));
const names = Object.keys(lock.packages)
  .filter((p) => p.startsWith("node_modules/"))
  .map((p) => p.slice("node_modules/".length))
  .filter((n) => n !== "esbuild" && !n.startsWith("@esbuild/"))
  .sort();
const chart = new Set(["uplot"]);

function write(file, title, list) {
  let out = "Licences of the packages bundled into " + title + "\n\n";
  for (const name of list) {
    const dir = path.join(__dirname, "node_modules", name);
    const meta = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
    const lic = fs.readdirSync(dir).find((f) => /^licen[sc]e/i.test(f));
    out += "=".repeat(72) + "\n" + name + " " + meta.version + " (" + (meta.license || "see text") + ")\n" + "=".repeat(72) + "\n";
    out += lic ? fs.readFileSync(path.join(dir, lic), "utf8").trim() + "\n\n" : "(no licence file in the package)\n\n";
  }
  fs.writeFileSync(path.join(__dirname, "..", "assets", file), out);
}
write("editor.LICENSES.txt", "editor.js", names.filter((n) => !chart.has(n)));
write("chart.LICENSES.txt", "chart.js and chart.css", names.filter((n) => chart.has(n)));
