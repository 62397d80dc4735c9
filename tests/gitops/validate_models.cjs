// Validates documents with the models of a @kubernetes-models package (ajv validators generated
// from the CRDs). Usage: node validate_models.cjs <node_modules dir> <module of the kinds>
// stdin: a JSON array of documents; stdout: a JSON array, null or the error of each document.
"use strict";
const path = require("path");
const { createRequire } = require("module");

const [modules, kindsModule] = process.argv.slice(2);
const load = createRequire(path.join(path.resolve(modules), "noop.js"));
const kinds = load(kindsModule);

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const results = JSON.parse(input).map((doc) => {
    const Model = kinds[doc.kind];
    if (!Model) {
      return `not a kind of ${kindsModule}: ${doc.kind}`;
    }
    try {
      new Model(doc).validate();
      return null;
    } catch (error) {
      return String(error.message || error);
    }
  });
  process.stdout.write(JSON.stringify(results));
});
