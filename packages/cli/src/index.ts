export { EXIT, run } from './cli.js';
export { parseDuration, parseLocation, parseTags, UsageError } from './parse.js';
export type { Location } from './parse.js';
export { effectiveSettings, readSettings, settingsPath, writeSettings } from './settings.js';
export type { StoredSettings } from './settings.js';
