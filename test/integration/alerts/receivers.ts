import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: unknown;
}

/**
 * A loopback HTTP receiver that records every POST; `failNext(n)` answers the
 * next n with 500; `stallNext(n, ms)` records the next n but answers them only
 * after `ms` (a receiver that accepted and then was too slow to say so).
 */
export interface HttpReceiver {
  url: string;
  received: Received[];
  failNext(n: number): void;
  stallNext(n: number, ms: number): void;
  close(): Promise<void>;
}

/** Listens on `port` (0: any free port). */
export async function httpReceiver(port = 0): Promise<HttpReceiver> {
  const received: Received[] = [];
  let failures = 0;
  let stalls = 0;
  let stallMs = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (failures > 0) {
        failures--;
        res.writeHead(500).end('receiver down');
        return;
      }
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown = null;
      try {
        json = JSON.parse(body);
      } catch {
        /* not JSON */
      }
      received.push({ path: req.url ?? '', headers: req.headers, body, json });
      const answer = () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      if (stalls > 0) {
        stalls--;
        setTimeout(answer, stallMs);
      } else answer();
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    failNext: (n) => {
      failures = n;
    },
    stallNext: (n, ms) => {
      stalls = n;
      stallMs = ms;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface Mail {
  from: string;
  to: string[];
  raw: string;
}

/** A loopback SMTP receiver (no TLS, no auth). */
export async function smtpReceiver(port = 0): Promise<{ url: string; mails: Mail[]; close(): Promise<void> }> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        cb();
      });
    },
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  const bound = (server.server.address() as AddressInfo).port;
  return { url: `smtp://127.0.0.1:${bound}`, mails, close: () => new Promise<void>((r) => server.close(() => r())) };
}
