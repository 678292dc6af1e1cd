// Free TCP ports on the loopback interface, chosen by the kernel.
import { createServer } from 'node:net';

/**
 * A port that was free a moment ago. The components of the test bed take their ports as flags,
 * so the port is released before they bind it; another process could take it in between, in
 * which case the component fails to start and its log says so.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port assigned'));
      });
    });
  });
}
