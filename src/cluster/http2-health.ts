import type { ClientHttp2Session } from 'node:http2';

/**
 * HTTP/2 connection health as client-go does it (golang.org/x/net/http2 ReadIdleTimeout and
 * PingTimeout): a connection that has read nothing for `readIdleTimeoutMs` is sent a PING, and
 * one whose PING goes unanswered for `pingTimeoutMs` is declared dead.
 *
 * Why: a TCP connection to an API server that was frozen, restarted behind a load balancer or cut
 * off by a firewall can look open for many minutes; without this, a request (or a watch) on it waits
 * until the kernel gives up. A dead connection is declared after at most readIdle + ping timeout.
 */
export interface SessionHealthOptions {
  /** Nothing read for this long: send a PING. client-go: 30 s. */
  readIdleTimeoutMs: number;
  /** A PING unanswered for this long: the connection is dead. client-go: 15 s. */
  pingTimeoutMs: number;
}

export class SessionHealth {
  private lastRead = Date.now();
  private pingTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  /** `onDead` runs at most once, with why the connection is considered dead. */
  constructor(private readonly session: ClientHttp2Session, private readonly opts: SessionHealthOptions, private readonly onDead: (why: string) => void) {
    this.scheduleIdleCheck(opts.readIdleTimeoutMs);
  }

  /** Something arrived from the server (response headers, data, a PING answer): it is alive. */
  sawRead(): void {
    this.lastRead = Date.now();
  }

  /** A request timed out on this connection: check it now rather than at the next idle check. */
  checkNow(): void {
    this.ping(`a request on it timed out`);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.pingTimer);
    clearTimeout(this.idleTimer);
  }

  private scheduleIdleCheck(ms: number): void {
    // unref: an idle connection's health check never keeps the process alive.
    this.idleTimer = setTimeout(() => this.idleCheck(), Math.max(1, ms)).unref();
  }

  private idleCheck(): void {
    if (this.stopped) return;
    const idle = Date.now() - this.lastRead;
    const left = this.opts.readIdleTimeoutMs - idle;
    if (left > 0) return this.scheduleIdleCheck(left);
    this.ping(`nothing read for ${seconds(idle)}`);
    this.scheduleIdleCheck(this.opts.readIdleTimeoutMs);
  }

  private ping(why: string): void {
    if (this.stopped || this.pingTimer || this.session.destroyed) return;
    this.pingTimer = setTimeout(() => {
      // Timers run before I/O: after the event loop was busy, an answer may be waiting unread. Read it first.
      setImmediate(() => {
        if (this.stopped || !this.pingTimer) return;
        this.stop();
        this.onDead(`no answer to an HTTP/2 PING within ${seconds(this.opts.pingTimeoutMs)} (sent because ${why})`);
      });
    }, this.opts.pingTimeoutMs).unref();
    try {
      // Queued by node until the session is connected; a connection that never completes fails the same way.
      this.session.ping((err) => {
        if (err || this.stopped) return; // cancelled: the session is closing anyway
        clearTimeout(this.pingTimer);
        this.pingTimer = undefined;
        this.lastRead = Date.now();
      });
    } catch {
      // The session is being destroyed: its own close handling fails its streams.
      clearTimeout(this.pingTimer);
      this.pingTimer = undefined;
    }
  }
}

export function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(ms < 10_000 ? 1 : 0))} s`;
}
