// `node --import ./register.mjs app.ts`: compiles TypeScript as it loads, keeping each file's own URL and attaching an
// inline source map — what tsx, ts-node and babel's require hook do. V8 then runs code whose lines are not the file's.
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
