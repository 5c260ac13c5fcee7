import { readFileSync } from 'node:fs';

/** 1-based line of the line carrying `// @marker` in a scenario file. */
export function lineOf(file: string, marker: string): number {
  const lines = readFileSync(file, 'utf8').split('\n');
  const i = lines.findIndex(
    (l) => l.includes(`// @${marker}`) || (l.trim().startsWith('//') && l.includes(`@${marker}`)),
  );
  if (i < 0) throw new Error(`no @${marker} in ${file}`);
  return i + 1;
}
