// A preload that does nothing: the A/A control of the idle-overhead measurement (`run.mjs idle --control`).
export {};
