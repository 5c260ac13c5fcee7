import { SpyglassClient } from '@spyglass/client';
import type { Command } from 'commander';
import { Output } from './output.js';
import { UsageError } from './parse.js';
import { effectiveSettings } from './settings.js';

export interface Io {
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/** What every command handler gets: output, settings and (lazily) a client. */
export class Context {
  readonly io: Io;
  readonly out: Output;

  constructor(io: Io, command: Command) {
    this.io = io;
    const opts = command.optsWithGlobals<{ json?: boolean }>();
    this.out = new Output({ json: opts.json === true, stdout: io.stdout, stderr: io.stderr, env: io.env });
  }

  get hubUrl(): string {
    const url = effectiveSettings(this.io.env).url;
    if (url === undefined)
      throw new UsageError('no hub configured: run `spyglass login --url URL …` or set SPYGLASS_URL');
    return url.replace(/\/+$/, '');
  }

  client(): SpyglassClient {
    const baseUrl = this.hubUrl;
    const s = effectiveSettings(this.io.env);
    if (s.token === undefined) throw new UsageError('not signed in: run `spyglass login` or set SPYGLASS_TOKEN');
    return new SpyglassClient({ baseUrl, token: s.token, headers: { 'user-agent': 'spyglass-cli' } });
  }
}
