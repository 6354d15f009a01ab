import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A reverse proxy on 127.0.0.1 in front of a real Connect REST API, for faults the
 * real Connect will not produce on demand (a 409 mid-rebalance, a 500, a hang).
 * Everything not faulted is forwarded unchanged, so the activity under test still
 * talks to the real Connect. Point a registry entry's `url` at `proxy.url`.
 */

export interface ProxiedRequest {
  method: string;
  /** Path with query string, as the client sent it. */
  path: string;
}

/** Which requests a fault applies to: method and/or path (exact string, or a RegExp on the path), or a predicate. */
export type RequestMatch = { method?: string; path?: string | RegExp } | ((req: ProxiedRequest) => boolean);

export interface LoggedRequest extends ProxiedRequest {
  /** Status sent to the client; 0 when the client gave up before the answer (e.g. its timeout). */
  status: number;
  /** 'injected' when the proxy answered itself, 'forwarded' when the real Connect did. */
  by: 'injected' | 'forwarded';
}

interface FailRule {
  matches: (req: ProxiedRequest) => boolean;
  remaining: number;
  status: number;
  body: unknown;
}

interface DelayRule {
  matches: (req: ProxiedRequest) => boolean;
  ms: number;
}

function matcher(match: RequestMatch | undefined): (req: ProxiedRequest) => boolean {
  if (match === undefined) return () => true;
  if (typeof match === 'function') return match;
  return (req) => {
    if (match.method && match.method.toUpperCase() !== req.method) return false;
    const pathOnly = req.path.split('?', 1)[0]!;
    if (typeof match.path === 'string' && match.path !== pathOnly) return false;
    if (match.path instanceof RegExp && !match.path.test(pathOnly)) return false;
    return true;
  };
}

/** Connect's own error body shape, so the client parses an injected fault like a real one. */
export const connectErrorBody = (status: number, message: string) => ({ error_code: status, message });

export class FaultProxy {
  /** Every request seen, in order. */
  readonly log: LoggedRequest[] = [];
  private failRules: FailRule[] = [];
  private delayRules: DelayRule[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly server: http.Server,
    private readonly target: URL,
    /** The proxy's base URL (http://127.0.0.1:<random port>). */
    readonly url: string,
  ) {}

  static async start(targetUrl: string): Promise<FaultProxy> {
    const server = http.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const proxy = new FaultProxy(server, new URL(targetUrl), `http://127.0.0.1:${port}`);
    server.on('request', (req, res) => proxy.handle(req, res));
    return proxy;
  }

  /** The next `n` matching requests get `status` with `body` (default: a Connect-shaped error). */
  failNext(n: number, status: number, body?: unknown, match?: RequestMatch): this {
    this.failRules.push({
      matches: matcher(match),
      remaining: n,
      status,
      body: body ?? connectErrorBody(status, `fault-proxy: injected ${status}`),
    });
    return this;
  }

  /** Every matching request gets `status`, until `reset()`. */
  alwaysFail(status: number, body?: unknown, match?: RequestMatch): this {
    return this.failNext(Number.POSITIVE_INFINITY, status, body, match);
  }

  /** Matching requests wait `ms` before being forwarded (or not at all, when the client gave up meanwhile). */
  delay(ms: number, match?: RequestMatch): this {
    this.delayRules.push({ matches: matcher(match), ms });
    return this;
  }

  /** Drops every fault; the log stays. */
  reset(): void {
    this.failRules = [];
    this.delayRules = [];
  }

  /** The logged requests that match. */
  requests(match?: RequestMatch): LoggedRequest[] {
    const m = matcher(match);
    return this.log.filter((r) => m(r));
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const request: ProxiedRequest = { method: req.method ?? 'GET', path: req.url ?? '/' };
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const rule = this.failRules.find((r) => r.remaining > 0 && r.matches(request));
      if (rule) {
        rule.remaining -= 1;
        this.answer(request, res, rule.status, rule.body);
        return;
      }
      const delay = this.delayRules.find((r) => r.matches(request));
      if (!delay) {
        this.forward(request, req, res, body);
        return;
      }
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        // The client timed out and hung up: forwarding now would change Connect for nobody.
        if (res.destroyed || req.socket.destroyed) {
          this.log.push({ ...request, status: 0, by: 'forwarded' });
          return;
        }
        this.forward(request, req, res, body);
      }, delay.ms);
      this.timers.add(timer);
    });
  }

  private answer(request: ProxiedRequest, res: http.ServerResponse, status: number, body: unknown): void {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    this.log.push({ ...request, status, by: 'injected' });
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  private forward(request: ProxiedRequest, req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
    // The body was buffered (for delays), so it goes out with a length, not chunked.
    const headers: http.OutgoingHttpHeaders = { ...req.headers, host: this.target.host, 'content-length': String(body.length) };
    delete headers['transfer-encoding'];
    const upstream = http.request(
      { host: this.target.hostname, port: this.target.port, method: request.method, path: request.path, headers },
      (up) => {
        this.log.push({ ...request, status: up.statusCode ?? 0, by: 'forwarded' });
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      this.answer(request, res, 502, connectErrorBody(502, `fault-proxy: upstream ${this.target.host} failed: ${err.message}`));
    });
    upstream.end(body);
  }
}
