/**
 * The webhook under load, in its own process (its own CPU): the real HTTPS server on 127.0.0.1
 * with the placement double on real HTTP beside it. Tells its parent the port and CA, and stops
 * when told to.
 */
import { startHarness } from '../test-support/harness.js';

const harness = await startHarness({ holdCapacity: false });
process.send?.({ port: harness.server.port, ca: harness.certs.caPem });
process.on('message', (msg: unknown) => {
  if (msg === 'stop') {
    void harness.close().then(() => process.exit(0));
  }
});
