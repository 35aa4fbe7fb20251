#!/usr/bin/env node
// The `vigil` command's entry. It is a file of its own, present before the TypeScript build, so that `npm install`
// links `node_modules/.bin/vigil` on a fresh clone (npm links no bin whose file is missing) and `npx vigil` works as
// soon as `npm start` or `npm run build` has built dist/.
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(
    'vigil: the CLI is not built yet; run `npm run build` (or `npm start`) in the repository first\n',
  );
  process.exit(1);
}
await import(main.href);
