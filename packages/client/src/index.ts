export { SpyglassClient } from './client.js';
export type { ClientOptions, PageParams } from './client.js';
export { SpyglassClientError, isSpyglassClientError } from './errors.js';
export { LiveStream } from './stream.js';
export type { StreamListener, StreamOpenOptions, Subscription } from './stream.js';
