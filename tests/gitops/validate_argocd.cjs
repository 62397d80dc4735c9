// Validates Argo CD documents with the models of @kubernetes-models/argo-cd (ajv validators
// generated from Argo CD's CRDs). Usage: node validate_argocd.cjs <node_modules dir>
// stdin: a JSON array of documents; stdout: a JSON array, null or the error of each document.
"use strict";
const path = require("path");
const { createRequire } = require("module");

const modules = process.argv[2];
const load = createRequire(path.join(path.resolve(modules), "noop.js"));
const kinds = load("@kubernetes-models/argo-cd/argoproj.io/v1alpha1");

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const results = JSON.parse(input).map((doc) => {
    const Model = kinds[doc.kind];
    if (!Model) {
      return `not an Argo CD kind: ${doc.kind}`;
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
