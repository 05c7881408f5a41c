// A bare SMTP listener that keeps the client's command lines exactly as they crossed the wire
// (the test sink, smtp-server, decodes punycode in the envelope it reports).
import net from "node:net";

export interface WireRecorder {
  port: number;
  /** Command lines (not message data), in order, without CRLF. */
  commands: string[];
  /** Resolves once a message was accepted. */
  accepted: Promise<void>;
  close(): Promise<void>;
}

export async function recordSmtpWire(): Promise<WireRecorder> {
  const commands: string[] = [];
  let accept!: () => void;
  const accepted = new Promise<void>((resolve) => (accept = resolve));
  const server = net.createServer((socket) => {
    let buffer = "";
    let inData = false;
    socket.write("220 wire ESMTP\r\n");
    socket.on("data", (chunk: Buffer) => {
      buffer += chunk.toString("latin1");
      for (let nl = buffer.indexOf("\r\n"); nl >= 0; nl = buffer.indexOf("\r\n")) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 2);
        if (inData) {
          if (line === ".") {
            inData = false;
            socket.write("250 queued\r\n");
            accept();
          }
          continue;
        }
        commands.push(line);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "EHLO") socket.write("250-wire\r\n250 8BITMIME\r\n");
        else if (verb === "DATA") (inData = true), socket.write("354 go on\r\n");
        else if (verb === "QUIT") socket.end("221 bye\r\n");
        else socket.write("250 ok\r\n");
      }
    });
    socket.on("error", () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    commands,
    accepted,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
