// Runs one browser scenario: `node e2e/run.mjs <scenario>` with ROOM_BIN naming the server.
// Meant to run inside a private network namespace (see tests/browser.rs), so the calls' media
// stays on loopback.

import { launchBrowser, opened, startServer } from './lib.mjs';
import { SCENARIOS } from './scenarios.mjs';

const name = process.argv[2];
const scenario = SCENARIOS[name];
if (!scenario) {
  console.error(`unknown scenario ${name}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  process.exit(2);
}

const server = await startServer(scenario.args);
const { browser, close } = await launchBrowser();
let failed = false;
try {
  await scenario.run({ browser, server });
  // A scenario that passed with script errors on a page did not pass.
  const problems = opened.flatMap((person) => person.problems);
  if (problems.length > 0) throw new Error(`errors on the pages:\n${problems.join('\n')}`);
  console.log(`ok: ${name}`);
} catch (err) {
  failed = true;
  console.error(`FAILED: ${name}: ${err.stack || err}`);
  console.error(`server log (last 40 lines):\n${server.log.slice(-40).join('\n')}`);
} finally {
  await close();
  server.stop();
}
process.exit(failed ? 1 : 0);
