/**
 * The hub image cannot be built in CI (no container engine), so its key properties are checked on the Dockerfile
 * text: multi-stage, a non-root runtime user, a health check, the right port and bind address, a data volume, no
 * secrets, no build tools or sources in the runtime stage.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOCKERFILE = readFileSync(new URL('Dockerfile', import.meta.url), 'utf8');
const DOCKERIGNORE = readFileSync(new URL('../../.dockerignore', import.meta.url), 'utf8');

interface Instruction {
  op: string;
  args: string;
}

/** Instructions with line continuations joined and comments dropped. */
function instructions(text: string): Instruction[] {
  const joined = text.replace(/\\\r?\n/g, ' ');
  return joined
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const m = /^(\S+)\s*(.*)$/.exec(l)!;
      return { op: m[1]!.toUpperCase(), args: m[2]! };
    });
}

/** Stages by name, each with its instructions (FROM included). */
function stages(list: Instruction[]): { name: string; from: string; body: Instruction[] }[] {
  const out: { name: string; from: string; body: Instruction[] }[] = [];
  for (const ins of list) {
    if (ins.op === 'FROM') {
      const m = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args)!;
      out.push({ name: m[2] ?? `stage${out.length}`, from: m[1]!, body: [ins] });
    } else if (out.length > 0) {
      out[out.length - 1]!.body.push(ins);
    }
  }
  return out;
}

const all = instructions(DOCKERFILE);
const stageList = stages(all);
const runtime = stageList[stageList.length - 1]!;
const inRuntime = (op: string): Instruction[] => runtime.body.filter((i) => i.op === op);

describe('deploy/docker/Dockerfile', () => {
  it('is multi-stage: build with dev dependencies, production dependencies apart, a slim runtime last', () => {
    expect(stageList.map((s) => s.name)).toEqual(['build', 'deps', 'runtime']);
    const build = stageList[0]!.body.map((i) => i.args).join('\n');
    expect(build).toMatch(/npm ci\b/);
    expect(build).not.toMatch(/--omit=dev/);
    expect(build).toMatch(/python3 make g\+\+/);
    expect(build).toMatch(/npm rebuild better-sqlite3/);
    expect(build).toMatch(/tsc -b packages\/server/);
    const deps = stageList[1]!.body.map((i) => i.args).join('\n');
    expect(deps).toMatch(/npm ci --omit=dev/);
    expect(deps).toMatch(/--workspace @spyglass\/server/);
  });

  it('runtime stage copies built output only: no sources, compilers or dev dependencies', () => {
    const runtimeText = runtime.body.map((i) => `${i.op} ${i.args}`).join('\n');
    expect(runtimeText).not.toMatch(/apt-get|g\+\+|python3|npm (ci|install)/);
    for (const copy of inRuntime('COPY')) {
      expect(copy.args, 'runtime COPY must come from an earlier stage').toMatch(/^--from=(build|deps)\s/);
      expect(copy.args).not.toMatch(/\/src\/packages\/\w+\/src\b/);
    }
    expect(runtimeText).toMatch(/COPY --from=deps \/prod\/node_modules/);
    expect(runtimeText).toMatch(/packages\/server\/dist/);
    expect(runtimeText).toMatch(/packages\/web\/dist/);
  });

  it('runs as a fixed non-root user', () => {
    const users = inRuntime('USER');
    expect(users).toHaveLength(1);
    const user = users[0]!.args.split(':')[0]!;
    expect(user).toMatch(/^\d+$/);
    expect(Number(user)).toBeGreaterThanOrEqual(1000);
    // USER comes after every RUN, so nothing later runs as root.
    const lastRun = runtime.body.map((i) => i.op).lastIndexOf('RUN');
    expect(runtime.body.indexOf(users[0]!)).toBeGreaterThan(lastRun);
  });

  it('has a HEALTHCHECK on /healthz, listens on 0.0.0.0:4000 and keeps state on a volume', () => {
    const health = inRuntime('HEALTHCHECK');
    expect(health).toHaveLength(1);
    expect(health[0]!.args).toMatch(/\/healthz/);
    expect(health[0]!.args).toMatch(/--interval=\d+s/);
    expect(inRuntime('EXPOSE').map((i) => i.args)).toEqual(['4000']);
    const env = inRuntime('ENV')
      .map((i) => i.args)
      .join(' ');
    expect(env).toMatch(/SPYGLASS_HOST=0\.0\.0\.0/);
    expect(env).toMatch(/SPYGLASS_PORT=4000/);
    expect(env).toMatch(/SPYGLASS_DATA_DIR=\/var\/lib\/spyglass/);
    expect(env).toMatch(/NODE_ENV=production/);
    expect(inRuntime('VOLUME').map((i) => i.args)).toEqual(['["/var/lib/spyglass"]']);
    const entry = inRuntime('ENTRYPOINT');
    expect(entry.map((i) => JSON.parse(i.args))).toEqual([['node', 'packages/server/dist/main.js']]);
    expect(existsSync(`${ROOT}packages/server/src/main.ts`)).toBe(true);
  });

  it('carries no secrets', () => {
    for (const ins of all) {
      if (ins.op === 'ENV' || ins.op === 'ARG' || ins.op === 'LABEL') {
        expect(ins.args, `${ins.op} ${ins.args}`).not.toMatch(
          /(PASSWORD|SECRET|TOKEN|API_KEY|DATABASE_URL|REDIS_URL)\s*=?/i,
        );
      }
      expect(ins.args, `${ins.op} ${ins.args}`).not.toMatch(/:\/\/[^/\s:]+:[^@\s]+@/);
      expect(`${ins.op} ${ins.args}`).not.toMatch(/COPY\s+.*\.env\b|--mount=type=secret/);
    }
  });

  it('.dockerignore keeps dependencies, build output, VCS data and local secrets out of the context', () => {
    const lines = DOCKERIGNORE.split('\n').map((l) => l.trim());
    for (const pattern of ['.git', '**/node_modules', '**/dist', '.spyglass', '**/.env', '**/*.pem']) {
      expect(lines, pattern).toContain(pattern);
    }
  });
});
