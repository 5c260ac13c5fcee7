import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, waitFor } from '../kit/index.js';

/** Debian's rsyslogd, or null when it is not installed (`apt-get install rsyslog rsyslog-openssl`). */
export function rsyslogdBinary(): string | null {
  for (const p of ['/usr/sbin/rsyslogd', '/sbin/rsyslogd']) if (existsSync(p)) return p;
  const found = spawnSync('sh', ['-c', 'command -v rsyslogd'], { encoding: 'utf8' });
  const bin = found.stdout.trim();
  return found.status === 0 && bin !== '' ? bin : null;
}

/** Why rsyslogd cannot take TLS here (no OpenSSL driver or no `openssl` to make a certificate), or null. */
export function tlsUnavailable(): string | null {
  const drivers = ['/usr/lib/x86_64-linux-gnu/rsyslog', '/usr/lib/aarch64-linux-gnu/rsyslog', '/usr/lib/rsyslog'];
  if (!drivers.some((d) => existsSync(path.join(d, 'lmnsd_ossl.so')))) return 'rsyslog-openssl is not installed';
  if (spawnSync('sh', ['-c', 'command -v openssl']).status !== 0) return 'openssl is not installed';
  return null;
}

/** One line rsyslogd wrote: the fields it parsed from an RFC 5424 message. */
export interface SyslogLine {
  protocolVersion: string;
  pri: number;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  structuredData: string;
  msg: string;
}

const FIELDS = '%protocol-version%|%pri%|%hostname%|%app-name%|%procid%|%msgid%|%structured-data%|%msg%';

/**
 * rsyslogd in the foreground with a private configuration: plain TCP and (when available) TLS inputs on loopback
 * ports, each writing the fields it parsed to its own file.
 */
export class TestRsyslog {
  readonly dir: string;
  tcpPort = 0;
  tlsPort = 0;
  udpPort = 0;
  /** The certificate the TLS input presents (self-signed for 127.0.0.1): the sink's `tls.ca`. */
  readonly certFile: string;
  #child: ChildProcess | null = null;
  #stderr = '';

  constructor() {
    this.dir = mkdtempSync(path.join(tmpdir(), 'sg-rsyslog-'));
    this.certFile = path.join(this.dir, 'cert.pem');
  }

  async start(binary: string, tls: boolean): Promise<void> {
    this.tcpPort = await freePort();
    this.tlsPort = tls ? await freePort() : 0;
    this.udpPort = await freePort();
    const key = path.join(this.dir, 'key.pem');
    if (tls) {
      const r = spawnSync(
        'openssl',
        ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1'].concat([
          '-addext',
          'subjectAltName=IP:127.0.0.1',
          '-keyout',
          key,
          '-out',
          this.certFile,
        ]),
        { encoding: 'utf8' },
      );
      if (r.status !== 0) throw new Error(`openssl: ${r.stderr}`);
    }
    const conf = [
      `global(workDirectory="${this.dir}" maxMessageSize="64k"${
        tls
          ? ` defaultNetstreamDriverCAFile="${this.certFile}" defaultNetstreamDriverCertFile="${this.certFile}" defaultNetstreamDriverKeyFile="${key}"`
          : ''
      })`,
      'module(load="imtcp")',
      'module(load="imudp")',
      `template(name="fields" type="string" string="${FIELDS}\\n")`,
      `ruleset(name="tcp") { action(type="omfile" file="${path.join(this.dir, 'tcp.log')}" template="fields") }`,
      `input(type="imtcp" address="127.0.0.1" port="${this.tcpPort}" ruleset="tcp")`,
      `ruleset(name="udp") { action(type="omfile" file="${path.join(this.dir, 'udp.log')}" template="fields") }`,
      `input(type="imudp" address="127.0.0.1" port="${this.udpPort}" ruleset="udp")`,
      ...(tls
        ? [
            `ruleset(name="tls") { action(type="omfile" file="${path.join(this.dir, 'tls.log')}" template="fields") }`,
            `input(type="imtcp" address="127.0.0.1" port="${this.tlsPort}" ruleset="tls" streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode="anon")`,
          ]
        : []),
    ].join('\n');
    const confFile = path.join(this.dir, 'rsyslog.conf');
    writeFileSync(confFile, `${conf}\n`);
    const child = spawn(binary, ['-n', '-f', confFile, '-i', path.join(this.dir, 'rsyslogd.pid')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => (this.#stderr += c));
    this.#child = child;
    // Ready when both ports take connections.
    const { connect } = await import('node:net');
    const listening = (port: number): Promise<boolean> =>
      new Promise((resolve) => {
        const s = connect({ host: '127.0.0.1', port });
        s.once('connect', () => (s.destroy(), resolve(true)));
        s.once('error', () => resolve(false));
      });
    await waitFor(async () => (await listening(this.tcpPort)) && (!tls || (await listening(this.tlsPort))), {
      what: 'rsyslogd to listen',
      timeoutMs: 20_000,
      stopIf: () => (child.exitCode !== null ? `rsyslogd exited ${child.exitCode}: ${this.#stderr}` : null),
      detail: () => this.#stderr,
    });
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** The lines one input wrote so far. */
  lines(input: 'tcp' | 'tls' | 'udp'): SyslogLine[] {
    const file = path.join(this.dir, `${input}.log`);
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [protocolVersion, pri, hostname, appName, procId, msgId, ...rest] = l.split('|');
        // Structured data holds no '|' here (the values are ids, names and addresses); the message is the rest.
        const [structuredData, ...msg] = rest;
        return {
          protocolVersion: protocolVersion!,
          pri: Number(pri),
          hostname: hostname!,
          appName: appName!,
          procId: procId!,
          msgId: msgId!,
          structuredData: structuredData!,
          msg: msg.join('|'),
        };
      });
  }

  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (child !== null && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
