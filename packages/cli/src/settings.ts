import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

/** What `spyglass login` stores: the hub URL and an API token. */
export interface StoredSettings {
  url?: string;
  token?: string;
  email?: string;
}

export function settingsPath(env: NodeJS.ProcessEnv): string {
  const base =
    env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME !== ''
      ? env.XDG_CONFIG_HOME
      : path.join(env.HOME ?? homedir(), '.config');
  return path.join(base, 'spyglass', 'config.json');
}

export function readSettings(env: NodeJS.ProcessEnv): StoredSettings {
  try {
    const parsed: unknown = JSON.parse(readFileSync(settingsPath(env), 'utf8'));
    return typeof parsed === 'object' && parsed !== null ? parsed : {};
  } catch {
    return {};
  }
}

/** Writes the settings readable by the owner only (the file holds a token). */
export function writeSettings(env: NodeJS.ProcessEnv, settings: StoredSettings): string {
  const file = settingsPath(env);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

/** Stored settings overridden by `SPYGLASS_URL` / `SPYGLASS_TOKEN`. */
export function effectiveSettings(env: NodeJS.ProcessEnv): StoredSettings {
  const stored = readSettings(env);
  return {
    ...stored,
    ...(env.SPYGLASS_URL ? { url: env.SPYGLASS_URL } : {}),
    ...(env.SPYGLASS_TOKEN ? { token: env.SPYGLASS_TOKEN } : {}),
  };
}
