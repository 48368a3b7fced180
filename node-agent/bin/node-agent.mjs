#!/usr/bin/env node
// `npx node-agent ...`: runs the TypeScript CLI through tsx's loader API.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli.ts");
await main(process.argv.slice(2));
