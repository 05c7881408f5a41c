// A TCP proxy between the service and a server (MariaDB, Dovecot) that can be cut: cut() drops every
// connection and stops listening (new connections are refused), restore() listens again on the same
// port; cutWhenServerSends(text) drops a connection the moment the server's bytes contain text.
import net from "node:net";
import { once } from "node:events";

export class TcpProxy {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private port_ = 0;
  private cutMarker?: { text: string; cut: () => void };

  private constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetHost, targetPort);
    await proxy.listen();
    return proxy;
  }

  get port(): number {
    return this.port_;
  }

  /** Connections relayed so far are dropped; new ones are refused until restore(). */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await closed;
  }

  /**
   * The next connection whose server-to-client bytes contain `text` is dropped before those bytes
   * reach the client. Resolves when that happened; the proxy goes on listening.
   */
  cutWhenServerSends(text: string): Promise<void> {
    return new Promise((resolve) => (this.cutMarker = { text, cut: resolve }));
  }

  restore(): Promise<void> {
    return this.listen();
  }

  close(): Promise<void> {
    return this.cut();
  }

  private async listen(): Promise<void> {
    const server = net.createServer((client) => this.relay(client));
    server.listen(this.port_, "127.0.0.1");
    await once(server, "listening");
    this.port_ = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  private relay(client: net.Socket): void {
    const upstream = net.connect(this.targetPort, this.targetHost);
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on("error", () => undefined);
      s.once("close", () => {
        this.sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    let tail = "";
    upstream.on("data", (chunk: Buffer) => {
      const marker = this.cutMarker;
      if (!marker) {
        client.write(chunk);
        return;
      }
      const seen = tail + chunk.toString("latin1");
      if (seen.includes(marker.text)) {
        this.cutMarker = undefined;
        client.destroy();
        upstream.destroy();
        marker.cut();
        return;
      }
      tail = seen.slice(-256);
      client.write(chunk);
    });
  }
}
