import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { connect as tlsConnect } from 'node:tls';
import type { AuditEvent } from '@spyglass/protocol';
import {
  FACILITIES,
  type HttpSinkConfig,
  type SinkConfig,
  type SplunkSinkConfig,
  type SyslogSinkConfig,
} from './config.js';
import { httpBatch, octetCounted, rfc5424, splunkBatch, type SyslogHeader } from './format.js';

/** Delivers batches to one sink. `send` resolves once the sink acknowledged the batch, and rejects otherwise. */
export interface Transport {
  /** Where it sends, for status and logs (no credentials). */
  readonly target: string;
  send(events: readonly AuditEvent[]): Promise<void>;
  close(): void;
}

/** Rejects with `what` timed out after `ms` unless `p` settles first. */
function within<T>(p: Promise<T>, ms: number, what: string, onTimeout?: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout?.();
      reject(new Error(`${what}: no answer within ${ms} ms`));
    }, ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

export function createTransport(sink: SinkConfig): Transport {
  switch (sink.type) {
    case 'syslog':
      return sink.protocol === 'udp' ? new UdpSyslog(sink) : new StreamSyslog(sink);
    case 'http':
    case 'splunk':
      return new HttpTransport(sink);
  }
}

function syslogHeader(sink: SyslogSinkConfig): SyslogHeader {
  return {
    facility: typeof sink.facility === 'number' ? sink.facility : FACILITIES[sink.facility]!,
    hostname: sink.hostname ?? hostname(),
    appName: sink.appName,
    procId: String(process.pid),
  };
}

/**
 * Syslog over TCP or TLS, octet-counted frames on one long-lived connection. A batch is acknowledged when its bytes
 * were written and flushed to the socket; a connection that failed is dropped and made again at the next attempt.
 */
class StreamSyslog implements Transport {
  readonly target: string;
  readonly #sink: SyslogSinkConfig;
  readonly #header: SyslogHeader;
  #socket: Socket | null = null;
  #ca: Buffer | undefined;

  constructor(sink: SyslogSinkConfig) {
    this.#sink = sink;
    this.#header = syslogHeader(sink);
    this.target = `${sink.protocol}://${sink.host}:${sink.port}`;
  }

  async #connect(): Promise<Socket> {
    const s = this.#sink;
    if (s.protocol === 'tls' && s.tls.ca !== undefined && this.#ca === undefined) this.#ca = await readFile(s.tls.ca);
    const socket =
      s.protocol === 'tls'
        ? tlsConnect({
            host: s.host,
            port: s.port,
            // SNI takes host names only (RFC 6066); an address is checked against the certificate's IP entries.
            ...(s.tls.serverName !== undefined || isIP(s.host) === 0 ? { servername: s.tls.serverName ?? s.host } : {}),
            rejectUnauthorized: !s.tls.insecure,
            ...(this.#ca === undefined ? {} : { ca: this.#ca }),
          })
        : netConnect({ host: s.host, port: s.port });
    const ready = new Promise<void>((resolve, reject) => {
      socket.once(s.protocol === 'tls' ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    try {
      await within(ready, s.timeoutMs, `connecting to ${this.target}`, () => socket.destroy());
    } catch (err) {
      socket.destroy();
      throw err;
    }
    socket.setKeepAlive(true, 30_000);
    // The receiver sends nothing; a close or error from here on makes the next attempt connect again.
    socket.on('data', () => {});
    const drop = (): void => {
      if (this.#socket === socket) this.#socket = null;
      socket.destroy();
    };
    socket.on('error', drop);
    socket.on('end', drop);
    socket.on('close', drop);
    return socket;
  }

  async send(events: readonly AuditEvent[]): Promise<void> {
    this.#socket ??= await this.#connect();
    const socket = this.#socket;
    const bytes = Buffer.concat(events.map((e) => octetCounted(rfc5424(e, this.#header))));
    let onError: (err: Error) => void = () => {};
    let onClose: () => void = () => {};
    const written = new Promise<void>((resolve, reject) => {
      onError = reject;
      onClose = () => reject(new Error(`${this.target} closed the connection`));
      socket.on('error', onError);
      socket.on('close', onClose);
      socket.write(bytes, (err) => (err ? reject(err) : resolve()));
    });
    try {
      await within(written, this.#sink.timeoutMs, `writing to ${this.target}`);
    } catch (err) {
      if (this.#socket === socket) this.#socket = null;
      socket.destroy();
      throw err;
    } finally {
      socket.off('error', onError);
      socket.off('close', onClose);
    }
  }

  close(): void {
    this.#socket?.destroy();
    this.#socket = null;
  }
}

/** Syslog over UDP: one message a datagram. UDP acknowledges nothing: a batch counts as sent once handed to the OS. */
class UdpSyslog implements Transport {
  readonly target: string;
  readonly #sink: SyslogSinkConfig;
  readonly #header: SyslogHeader;
  #socket: UdpSocket | null = null;

  constructor(sink: SyslogSinkConfig) {
    this.#sink = sink;
    this.#header = syslogHeader(sink);
    this.target = `udp://${sink.host}:${sink.port}`;
  }

  async send(events: readonly AuditEvent[]): Promise<void> {
    const type = this.#sink.host.includes(':') ? 'udp6' : 'udp4';
    if (this.#socket === null) {
      const socket = createSocket(type);
      socket.on('error', () => {
        if (this.#socket === socket) this.#socket = null;
        socket.close();
      });
      this.#socket = socket;
    }
    const socket = this.#socket;
    for (const e of events) {
      const msg = Buffer.from(rfc5424(e, this.#header), 'utf8');
      await within(
        new Promise<void>((resolve, reject) =>
          socket.send(msg, this.#sink.port, this.#sink.host, (err) => (err ? reject(err) : resolve())),
        ),
        this.#sink.timeoutMs,
        `sending to ${this.target}`,
      );
    }
  }

  close(): void {
    this.#socket?.close();
    this.#socket = null;
  }
}

const SPLUNK_PATH = '/services/collector/event';

/** HTTP JSON batches, or Splunk's HTTP Event Collector: any 2xx answer acknowledges the batch. */
class HttpTransport implements Transport {
  readonly target: string;
  readonly #sink: HttpSinkConfig | SplunkSinkConfig;
  readonly #url: URL;
  readonly #host = hostname();
  #ca: Buffer | undefined;

  constructor(sink: HttpSinkConfig | SplunkSinkConfig) {
    this.#sink = sink;
    const url = new URL(sink.url);
    if (sink.type === 'splunk' && !url.pathname.endsWith(SPLUNK_PATH)) {
      url.pathname = `${url.pathname.replace(/\/+$/, '')}${SPLUNK_PATH}`;
    }
    this.#url = url;
    const shown = new URL(url);
    shown.username = '';
    shown.password = '';
    shown.search = '';
    this.target = shown.toString();
  }

  async #token(): Promise<string | undefined> {
    const s = this.#sink;
    if (s.tokenFile !== undefined) return (await readFile(s.tokenFile, 'utf8')).trim();
    return s.token;
  }

  async send(events: readonly AuditEvent[]): Promise<void> {
    const s = this.#sink;
    if (s.tls.ca !== undefined && this.#ca === undefined) this.#ca = await readFile(s.tls.ca);
    const token = await this.#token();
    const body =
      s.type === 'splunk'
        ? splunkBatch(events, { host: this.#host, source: s.source, sourcetype: s.sourcetype, index: s.index })
        : httpBatch(events);
    const headers: Record<string, string | number> = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    };
    if (token !== undefined && token !== '') {
      headers.authorization = `${s.type === 'splunk' ? 'Splunk' : s.scheme} ${token}`;
    }
    const https = this.#url.protocol === 'https:';
    const request = https ? httpsRequest : httpRequest;
    let req: ReturnType<typeof httpRequest> | undefined;
    const answered = new Promise<{ status: number; text: string }>((resolve, reject) => {
      req = request(
        this.#url,
        {
          method: 'POST',
          headers,
          ...(https
            ? { rejectUnauthorized: !s.tls.insecure, ...(this.#ca === undefined ? {} : { ca: this.#ca }) }
            : {}),
          ...(https && s.tls.serverName !== undefined ? { servername: s.tls.serverName } : {}),
        },
        (res: IncomingMessage) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            if (text.length < 500) text += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    const { status, text } = await within(answered, s.timeoutMs, `POST ${this.target}`, () => req?.destroy());
    if (status < 200 || status > 299) {
      throw new Error(`POST ${this.target} answered ${status}${text === '' ? '' : `: ${text.slice(0, 200)}`}`);
    }
  }

  close(): void {}
}
