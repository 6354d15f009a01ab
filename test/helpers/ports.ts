import * as net from 'node:net';

/**
 * `n` distinct free loopback ports. The listeners stay open until all are picked: one
 * closed at once lets the kernel hand the same port out again, and the stack refuses two
 * components on one port (a red CI run of c8d9626 got 37647 twice).
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = net.createServer();
      servers.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => resolve());
      });
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))));
  }
}

/** One free loopback port, for a server the caller starts at once. */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port!;
}

/** A loopback port nothing listens on (bound, then released): a cluster or Connect worker that is down. */
export const closedPort = freePort;
