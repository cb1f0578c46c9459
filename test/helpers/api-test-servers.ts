import { createSecureServer, type Http2SecureServer, type Http2Session, type ServerHttp2Stream } from 'node:http2';
import type { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, connect as tcpConnect, type AddressInfo, type Server, type Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { createClusterPki } from '../../src/sandbox/pki.js';
import { renderKubeconfig } from '../../src/sandbox/kubeconfig.js';

// Real TLS servers in this process (the sandbox's PKI, client certificates required). A "frozen"
// server is a TCP relay in front of it that stops passing bytes: to the client, exactly a server
// that accepts nothing more and answers nothing, as a SIGSTOPped API server or a black-holed network.
export const pki = createClusterPki('timeouts', '10.96.0.1');
export const tlsOptions = { cert: pki.apiserver.certPem, key: pki.apiserver.keyPem, ca: pki.ca.certPem, requestCert: true, rejectUnauthorized: true };

/** Kubeconfig text with one context per entry (context name: server URL) for servers made with tlsOptions. */
export function kubeconfigText(servers: Record<string, string>): string {
  return renderKubeconfig(Object.entries(servers).map(([context, server]) => ({ context, server, caPem: pki.ca.certPem, client: pki.clients.admin! })));
}

/** A KubeConfig (context "t") for a server made with tlsOptions. */
export function kubeConfig(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigText({ t: server }));
  return kc;
}

export async function listen(server: Http2SecureServer | Server | ReturnType<typeof createHttpsServer>): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A TCP relay to `target` that can stop passing bytes in both directions (and resume). */
export class FreezableRelay {
  private readonly server: Server;
  private readonly pairs: [Socket, Socket][] = [];
  private frozen = false;

  constructor(private readonly targetPort: number) {
    this.server = createTcpServer((client) => {
      const upstream = tcpConnect(this.targetPort, '127.0.0.1');
      this.pairs.push([client, upstream]);
      for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
        from.on('data', (c: Buffer) => {
          if (!this.frozen) to.write(c); // frozen: bytes vanish, as in a black hole
        });
        from.on('error', () => to.destroy());
        from.on('close', () => to.destroy());
      }
    });
  }

  async listen(): Promise<string> {
    return listen(this.server);
  }

  freeze(): void {
    this.frozen = true;
  }

  thaw(): void {
    this.frozen = false;
  }

  close(): void {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.server.close();
  }
}

/** Answers /ok at once; never answers /hang (the stream is kept open, as a stuck API server would). */
export function h2Server(opts: { onStream?: (s: ServerHttp2Stream, path: string) => void; onSession?: (s: Http2Session) => void } = {}): Http2SecureServer {
  const server = createSecureServer(tlsOptions);
  server.on('stream', (stream, headers) => {
    const path = String(headers[':path']);
    opts.onStream?.(stream, path);
    stream.on('error', () => undefined);
    if (path.startsWith('/hang')) return;
    if (path.startsWith('/watch')) {
      stream.respond({ ':status': 200, 'content-type': 'application/json' });
      stream.write('{"type":"ADDED","object":{}}\n');
      return;
    }
    if (path.startsWith('/throttled')) {
      stream.respond({ ':status': 429, 'retry-after': '1' });
      stream.end('{"kind":"Status","code":429}');
      return;
    }
    stream.respond({ ':status': 200, 'content-type': 'application/json' });
    stream.end(JSON.stringify({ ok: path }));
  });
  if (opts.onSession) server.on('session', opts.onSession);
  return server;
}
