#!/usr/bin/env node
// Builds the values table of deploy/helm/spyglass/README.md from values.schema.json (descriptions, types) and
// values.yaml (defaults), so the three never drift apart. A test compares the README with this output.
//
//   node deploy/helm/tools/values-table.mjs           print the table
//   node deploy/helm/tools/values-table.mjs --write   rewrite the table in the README
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const chart = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../spyglass');
export const START = '<!-- values-table:start -->';
export const END = '<!-- values-table:end -->';

function typeOf(node) {
  if (node.enum !== undefined) return node.enum.map((v) => `\`${JSON.stringify(v)}\``).join(' \\| ');
  if (Array.isArray(node.type)) return node.type.join(' \\| ');
  if (node.type !== undefined) return node.type;
  if (node.const !== undefined) return JSON.stringify(node.const);
  return 'any';
}

function show(value) {
  if (value === undefined) return '';
  const text = JSON.stringify(value);
  return `\`${text.replaceAll('|', '\\|')}\``;
}

function markdown(text) {
  return text.replaceAll('|', '\\|').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

function rows(schema, values, prefix, out) {
  for (const [key, node] of Object.entries(schema.properties ?? {})) {
    if (key === 'global') continue;
    const name = prefix === '' ? key : `${prefix}.${key}`;
    const value = values?.[key];
    if (node.type === 'object' && node.properties !== undefined && node.additionalProperties === false) {
      rows(node, value, name, out);
      continue;
    }
    out.push(`| \`${name}\` | ${typeOf(node)} | ${show(value)} | ${markdown(node.description ?? '')} |`);
  }
  return out;
}

export function valuesTable() {
  const schema = JSON.parse(readFileSync(path.join(chart, 'values.schema.json'), 'utf8'));
  const values = parse(readFileSync(path.join(chart, 'values.yaml'), 'utf8'));
  return ['| key | type | default | description |', '|---|---|---|---|', ...rows(schema, values, '', [])].join('\n');
}

export function readmeTable() {
  const readme = readFileSync(path.join(chart, 'README.md'), 'utf8');
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error('README.md has no values-table markers');
  return { readme, start, end, table: readme.slice(start + START.length, end).trim() };
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const table = valuesTable();
  if (process.argv.includes('--write')) {
    const { readme, start, end } = readmeTable();
    writeFileSync(
      path.join(chart, 'README.md'),
      `${readme.slice(0, start + START.length)}\n${table}\n${readme.slice(end)}`,
    );
  } else {
    process.stdout.write(`${table}\n`);
  }
}
