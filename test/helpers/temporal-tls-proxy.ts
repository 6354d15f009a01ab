import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';

/**
 * A TLS front for the stack's plaintext Temporal dev server, so the tests prove mTLS and
 * API keys against a real server (the dev server has neither):
 *
 * - `mtls`: a TLS server that requires a client certificate signed by the test CA, then
 *   pipes the decrypted bytes to the dev server (gRPC over HTTP/2 passes through as is).
 * - `api-key`: an HTTP/2 TLS server that checks `authorization: Bearer <key>` on every
 *   stream and forwards headers, data and trailers to the dev server; a missing or wrong
 *   key gets gRPC status 16 (UNAUTHENTICATED), as Temporal Cloud answers.
 *
 * The certificates are made per run with openssl in a temp dir (testPki); nothing secret
 * is committed.
 */

export interface TestPki {
  dir: string;
  /** The CA that signed the server and client certificates. */
  caCert: string;
  /** Another CA, which signed nothing the proxy uses: "the wrong CA". */
  otherCaCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A client certificate signed by the other CA: the proxy refuses it. */
  strangerCert: string;
  strangerKey: string;
  remove(): void;
}

/** Makes a CA, a server certificate for 127.0.0.1/localhost and client certificates, with openssl. */
export function testPki(): TestPki {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdr-temporal-pki-'));
  const f = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = (name: string) =>
    openssl(
      'req',
      '-x509',
      ...ecKey,
      '-keyout',
      f(`${name}.key`),
      '-out',
      f(`${name}.crt`),
      '-days',
      '2',
      '-subj',
      `/CN=kafka-dr test ${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    );
  const leaf = (name: string, signer: string, cn: string, ext: string) => {
    fs.writeFileSync(f(`${name}.ext`), `${ext}\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n`);
    openssl('req', ...ecKey, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${cn}`);
    openssl(
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      '-CA',
      f(`${signer}.crt`),
      '-CAkey',
      f(`${signer}.key`),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      f(`${name}.ext`),
      '-out',
      f(`${name}.crt`),
    );
  };
  ca('ca');
  ca('other-ca');
  leaf('server', 'ca', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth');
  leaf('client', 'ca', 'kafka-dr-worker', 'extendedKeyUsage=clientAuth');
  leaf('stranger', 'other-ca', 'kafka-dr-stranger', 'extendedKeyUsage=clientAuth');
  return {
    dir,
    caCert: f('ca.crt'),
    otherCaCert: f('other-ca.crt'),
    serverCert: f('server.crt'),
    serverKey: f('server.key'),
    clientCert: f('client.crt'),
    clientKey: f('client.key'),
    strangerCert: f('stranger.crt'),
    strangerKey: f('stranger.key'),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

export interface TemporalTlsProxy {
  /** host:port to give TEMPORAL_ADDRESS. */
  address: string;
  /** Connections (mtls) or streams (api-key) let through, and refused. */
  stats: { forwarded: number; refused: number };
  close(): Promise<void>;
}

export interface ProxyOptions {
  mode: 'mtls' | 'api-key';
  pki: TestPki;
  /** The dev server, host:port. */
  upstream: string;
  /** api-key mode: the only key accepted. */
  apiKey?: string;
}

function hostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i), port: Number(address.slice(i + 1)) };
}

export async function startTemporalTlsProxy(options: ProxyOptions): Promise<TemporalTlsProxy> {
  const { pki } = options;
  const stats = { forwarded: 0, refused: 0 };
  const sockets = new Set<net.Socket>();
  let server: net.Server;
  let closeUpstream = () => undefined as void;

  if (options.mode === 'mtls') {
    const up = hostPort(options.upstream);
    server = tls.createServer(
      {
        key: fs.readFileSync(pki.serverKey),
        cert: fs.readFileSync(pki.serverCert),
        ca: fs.readFileSync(pki.caCert),
        requestCert: true,
        rejectUnauthorized: true,
        ALPNProtocols: ['h2'],
      },
      (socket) => {
        stats.forwarded++;
        const upstream = net.connect(up.port, up.host);
        sockets.add(upstream);
        socket.pipe(upstream).pipe(socket);
        const end = () => {
          socket.destroy();
          upstream.destroy();
          sockets.delete(upstream);
        };
        socket.on('error', end).on('close', end);
        upstream.on('error', end).on('close', end);
      },
    );
    server.on('tlsClientError', () => stats.refused++);
  } else {
    const apiKey = options.apiKey;
    if (!apiKey) throw new Error('api-key mode needs apiKey');
    let session: http2.ClientHttp2Session | undefined;
    const upstreamSession = () => {
      if (!session || session.closed || session.destroyed) {
        const s = http2.connect(`http://${options.upstream}`);
        s.on('error', () => undefined).on('close', () => {
          if (session === s) session = undefined;
        });
        session = s;
      }
      return session;
    };
    closeUpstream = () => session?.destroy();
    const h2 = http2.createSecureServer({ key: fs.readFileSync(pki.serverKey), cert: fs.readFileSync(pki.serverCert) });
    h2.on('stream', (stream, headers) => {
      stream.on('error', () => undefined);
      if (headers.authorization !== `Bearer ${apiKey}`) {
        stats.refused++;
        // Trailers-only response, as a gRPC server answers a call it refuses outright.
        stream.respond(
          { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '16', 'grpc-message': 'invalid API key' },
          { endStream: true },
        );
        return;
      }
      stats.forwarded++;
      // The proxy terminates auth: the dev server never sees the key.
      const { authorization: _key, ':scheme': _scheme, ':authority': _authority, ...forward } = headers;
      const req = upstreamSession().request(forward, { endStream: false });
      req.on('error', () => undefined);
      let trailers: http2.IncomingHttpHeaders | undefined;
      req.on('response', (responseHeaders, flags) => {
        if (stream.destroyed) return;
        const endStream = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
        stream.respond(responseHeaders, endStream ? { endStream: true } : { waitForTrailers: true });
      });
      req.on('trailers', (t) => (trailers = t));
      stream.on('wantTrailers', () =>
        stream.sendTrailers(trailers ?? { 'grpc-status': '13', 'grpc-message': 'proxy: upstream sent no trailers' }),
      );
      req.on('data', (chunk: Buffer) => {
        if (!stream.destroyed && !stream.writableEnded) stream.write(chunk);
      });
      req.on('end', () => {
        if (!stream.destroyed && !stream.writableEnded) stream.end();
      });
      stream.pipe(req);
      // A call cancelled on either side (long polls at worker shutdown) is cancelled on the other.
      stream.on('close', () => {
        if (!req.closed) req.close(http2.constants.NGHTTP2_CANCEL);
      });
      req.on('close', () => {
        if (!stream.closed && req.rstCode !== undefined && req.rstCode !== http2.constants.NGHTTP2_NO_ERROR) stream.close(req.rstCode);
      });
    });
    h2.on('session', (s) => s.on('error', () => undefined));
    server = h2;
  }
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    address: `127.0.0.1:${port}`,
    stats,
    close: async () => {
      closeUpstream();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
