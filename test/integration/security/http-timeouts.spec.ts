import { connect, type Socket } from 'node:net';
import { loadConfig } from '../../../src/config/config';
import { useTestServer } from '../../utils/fixture';

const s = useTestServer({ HTTP_HEADERS_TIMEOUT_MS: '500', HTTP_REQUEST_TIMEOUT_MS: '1000', HTTP_KEEP_ALIVE_TIMEOUT_MS: '300' });

interface Outcome {
  /** What the server wrote before closing. */
  received: string;
  /** ms from the first byte sent to the close. */
  closedAfterMs: number;
}

/**
 * A real slow client: writes `head` at once, then one byte of `trickle` every
 * 50 ms (cycling), and resolves when the server closes the socket.
 */
function slowClient(port: number, head: string, trickle: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const sock: Socket = connect(port, '127.0.0.1');
    const started = Date.now();
    let received = '';
    let i = 0;
    let timer: NodeJS.Timeout | undefined;
    sock.on('connect', () => {
      sock.write(head);
      timer = setInterval(() => {
        if (!sock.destroyed && sock.writable) sock.write(trickle[i++ % trickle.length]);
      }, 50);
    });
    sock.on('data', (d) => (received += d.toString('latin1')));
    sock.on('error', () => undefined); // a reset after the 408 is a close too
    // A bound on the whole exchange (not on inactivity, which the trickle defeats): Node's own defaults hold such a socket 60 s or more.
    const guard = setTimeout(() => {
      clearInterval(timer);
      sock.destroy();
      reject(new Error(`the server held the socket for 15 s; got ${JSON.stringify(received)}`));
    }, 15_000);
    sock.on('close', () => {
      clearInterval(timer);
      clearTimeout(guard);
      resolve({ received, closedAfterMs: Date.now() - started });
    });
  });
}

describe('HTTP server timeouts', () => {
  it('answers 408 and closes a client that sends its headers byte by byte and never finishes', async () => {
    const out = await slowClient(s.app.port, 'POST /graphql HTTP/1.1\r\nHost: x\r\n', 'X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n');
    expect(out.received).toMatch(/^HTTP\/1\.1 408 /);
    // HTTP_HEADERS_TIMEOUT_MS=500, checked every 125 ms: far below Node's default of 60 s.
    expect(out.closedAfterMs).toBeLessThan(5_000);
  });

  it('answers 408 and closes a client whose body trickles in past HTTP_REQUEST_TIMEOUT_MS', async () => {
    const out = await slowClient(
      s.app.port,
      'POST /graphql HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{"query":"',
      'a',
    );
    expect(out.received).toMatch(/^HTTP\/1\.1 408 /);
    expect(out.closedAfterMs).toBeGreaterThanOrEqual(900);
    expect(out.closedAfterMs).toBeLessThan(6_000);
  });

  it('closes an idle keep-alive connection after HTTP_KEEP_ALIVE_TIMEOUT_MS', async () => {
    const out = await new Promise<Outcome>((resolve, reject) => {
      const sock = connect(s.app.port, '127.0.0.1');
      let received = '';
      let answeredAt = 0;
      sock.on('connect', () => sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n'));
      sock.on('data', (d) => {
        received += d.toString('latin1');
        if (!answeredAt && received.includes('"status"')) answeredAt = Date.now();
      });
      sock.on('error', reject);
      sock.on('close', () => resolve({ received, closedAfterMs: Date.now() - answeredAt }));
      sock.setTimeout(4_000, () => {
        sock.destroy();
        reject(new Error('the idle keep-alive connection stayed open for 4 s (Node keeps it 5 s by default)'));
      });
    });
    expect(out.received).toMatch(/^HTTP\/1\.1 200 /);
    expect(out.closedAfterMs).toBeLessThan(3_000);
  });

  it('refuses, at start, a headers timeout longer than the request timeout', () => {
    expect(() => loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '5000', HTTP_REQUEST_TIMEOUT_MS: '1000' })).toThrow(
      /HTTP_HEADERS_TIMEOUT_MS=5000 is invalid: expected at most HTTP_REQUEST_TIMEOUT_MS \(1000\)/,
    );
    expect(loadConfig({}).http).toEqual({ headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000 });
  });
});
