/**
 * The worker thread that reads and indexes large source maps off the app's thread (see `MapIndexer`): one request
 * at a time, answered with the index, its arrays transferred.
 */
import { parentPort } from 'node:worker_threads';
import { buildIndex, mapText, transferList, type MapRef } from './map-index.js';

parentPort?.on('message', (msg: { id: number; ref: MapRef }) => {
  try {
    const text = mapText(msg.ref);
    if (text === null) {
      parentPort?.postMessage({ id: msg.id, index: null });
      return;
    }
    const index = buildIndex(text, msg.ref.mapUrl);
    parentPort?.postMessage({ id: msg.id, index }, transferList(index));
  } catch (err) {
    parentPort?.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) });
  }
});
