#!/usr/bin/env node
// The `keybridge` command: runs the TypeScript sources through tsx, so a checkout
// works right after `npm install` with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../sidecar/src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
