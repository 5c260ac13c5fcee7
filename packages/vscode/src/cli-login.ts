import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

/** The login `spyglass login` stored (`$XDG_CONFIG_HOME/spyglass/config.json`), when it has a URL and a token. */
export function readCliLogin(
  env: NodeJS.ProcessEnv = process.env,
): { url: string; token: string; file: string } | null {
  const base =
    env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME !== ''
      ? env.XDG_CONFIG_HOME
      : path.join(env.HOME ?? homedir(), '.config');
  const file = path.join(base, 'spyglass', 'config.json');
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { url?: unknown; token?: unknown };
    if (typeof parsed.url === 'string' && typeof parsed.token === 'string' && parsed.url !== '' && parsed.token !== '')
      return { url: parsed.url, token: parsed.token, file };
  } catch {
    // No stored login, or not one this version understands.
  }
  return null;
}
