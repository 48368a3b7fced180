/**
 * One measurement in a fresh process (so peak RSS is this parse's alone):
 * `parse-one.ts <body name> new|old|none` prints {ms, maxRssMB, outcome}.
 * "old" is what decode.ts did before the limits: yaml's parseAllDocuments
 * then toJS, or JSON.parse then the recursive duplicate scan.
 */
import YAML from "yaml";
import { jsonDuplicates, parseBody } from "../../workers/apiserver/decode.ts";
import { BODIES } from "./bodies.ts";

const [name, mode] = process.argv.slice(2);
const [text, yaml] = BODIES[name];
const start = performance.now();
let outcome = "parsed";
try {
  if (mode === "new") parseBody(text, yaml);
  else if (mode === "old") {
    if (yaml) YAML.parseAllDocuments(text, { uniqueKeys: false })[0]?.toJS({ maxAliasCount: 100 });
    else {
      JSON.parse(text);
      jsonDuplicates(text);
    }
  }
} catch (error) {
  outcome = `refused: ${(error as Error).message.slice(0, 50)}`;
}
const ms = performance.now() - start;
console.log(JSON.stringify({ ms, maxRssMB: process.resourceUsage().maxRSS / 1024, outcome }));
