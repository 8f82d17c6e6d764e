// `node --import ./test/support/load-recorder.mjs ...`: writes the URL of every module the
// process resolves, one a line, to the file named by ONHAND_LOAD_LOG (test/cli/onhand-binary.test.ts
// reads it to prove what `onhand --help` and `serve` do not load).
import { register } from 'node:module';

if (process.env.ONHAND_LOAD_LOG) {
  register('./load-recorder-hooks.mjs', import.meta.url, { data: { log: process.env.ONHAND_LOAD_LOG } });
}
