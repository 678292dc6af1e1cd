/**
 * The webhook under load, alone in its own process: the real HTTPS server on 127.0.0.1, calling
 * the placement service whose URL is the first argument. Tells its parent the port and CA,
 * reports its CPU time when asked, and stops when told to.
 */
import { startHarness } from '../test-support/harness.js';

const placementUrl = process.argv[2];
if (!placementUrl) throw new Error('usage: webhook-process <placement-url>');
const harness = await startHarness({ placementUrl });
process.send?.({ port: harness.server.port, ca: harness.certs.caPem });
let mark = process.cpuUsage();
process.on('message', (msg: unknown) => {
  // 'mark' starts a measurement; 'cpu' answers with the CPU time (user + system, µs) since.
  if (msg === 'mark') mark = process.cpuUsage();
  if (msg === 'cpu') {
    const used = process.cpuUsage(mark);
    process.send?.({ cpuMicros: used.user + used.system });
  }
  if (msg === 'stop') {
    void harness.close().then(() => process.exit(0));
  }
});
