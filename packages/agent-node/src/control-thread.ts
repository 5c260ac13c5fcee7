/**
 * The agent's control thread (see control.ts): the WebSocket to the hub, the checks of the hub's frames and the read
 * of the cached policy, off the app's thread and heap. It posts checked frames and the socket's events to the app's
 * thread, and keeps the socket's state and counters in the memory both share.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Connection, type ConnectionStats } from './connection.js';
import { SLOT, type ControlCommand, type ControlData, type ControlMessage } from './control.js';
import { errorDetail } from './debug-log.js';
import { readPolicyCache } from './policy-read.js';

const data = workerData as ControlData;
const shared = new Int32Array(data.shared);
const port = parentPort;

function post(msg: ControlMessage): void {
  try {
    port?.postMessage(msg);
  } catch {
    // The app's thread is gone: the process is ending.
  }
}

const log = Object.assign(
  (message: string, err?: unknown): void => {
    if (!data.debug) return;
    post({ t: 'log', message: `${message}${errorDetail(err)}` });
  },
  { enabled: data.debug },
);

/** Counters in shared memory: the app's thread reads them for the agent's stats. */
function sharedCounter(slot: number): PropertyDescriptor {
  return {
    enumerable: true,
    get: () => Atomics.load(shared, slot),
    set: (v: number) => Atomics.store(shared, slot, v),
  };
}
const stats = Object.defineProperties({} as ConnectionStats, {
  connects: sharedCounter(SLOT.CONNECTS),
  disconnects: sharedCounter(SLOT.DISCONNECTS),
  framesIn: sharedCounter(SLOT.FRAMES_IN),
  framesOut: sharedCounter(SLOT.FRAMES_OUT),
  badFrames: sharedCounter(SLOT.BAD_FRAMES),
});

if (data.policyCache !== undefined) {
  const cached = readPolicyCache(data.policyCache);
  if (cached !== undefined) post({ t: 'policy', policy: cached });
}

let gen = 0;
const connection = new Connection({
  url: data.url,
  key: data.key,
  minDelayMs: data.minDelayMs,
  maxDelayMs: data.maxDelayMs,
  maxFrameBytes: data.maxFrameBytes,
  log,
  stats,
  // The app's thread builds the hello when it hears of the open socket.
  hello: () => undefined,
  onFrame: (frame) => post({ t: 'frame', frame }),
  onOpen: () => {
    gen++;
    Atomics.store(shared, SLOT.OPEN, 1);
    Atomics.store(shared, SLOT.BUFFERED, 0);
    post({ t: 'open', gen });
  },
  onClose: (code, reason) => {
    Atomics.store(shared, SLOT.OPEN, 0);
    Atomics.store(shared, SLOT.BUFFERED, 0);
    post({ t: 'close', code, reason });
  },
  onError: (message) => post({ t: 'error', message }),
});

const written = (): void => {
  Atomics.store(shared, SLOT.BUFFERED, connection.buffered);
};

port?.on('message', (cmd: ControlCommand) => {
  switch (cmd.t) {
    case 'send':
      // A frame meant for an earlier socket is dropped: the hub of this one has not heard its hello.
      if (cmd.gen === gen) connection.sendText(cmd.text, written);
      Atomics.store(shared, SLOT.BUFFERED, connection.buffered);
      Atomics.add(shared, SLOT.TAKEN, cmd.n);
      Atomics.notify(shared, SLOT.TAKEN);
      break;
    case 'welcome':
      if (cmd.gen === gen) connection.welcome();
      break;
    case 'stop':
      connection.stop();
      Atomics.store(shared, SLOT.OPEN, 0);
      port.close();
      break;
  }
});

connection.start();
