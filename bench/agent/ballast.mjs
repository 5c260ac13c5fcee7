// A preload that runs nothing and only keeps what the idle agent keeps on the heap: about 8 MB of small, long-lived
// objects (the agent's modules, their schemas and its state, measured after a full GC). With it in place of the agent
// (`run.mjs idle --preload bench/agent/ballast.mjs`) the idle measurement reads what that much more heap costs a
// service by itself, with no code of the agent's at all.
// `SPYGLASS_BENCH_BALLAST_MB` sets another size (shop-gc.mjs passes it on), e.g. an app's own state for `--both`.
const MB = Number(process.env.SPYGLASS_BENCH_BALLAST_MB ?? 8);
// About 145 bytes a record (object, string, one-element array), measured with `process.memoryUsage()`.
globalThis[Symbol.for('spyglass.bench.ballast')] = Array.from({ length: Math.round((MB * 1048576) / 145) }, (_, i) => ({
  n: i,
  s: `record ${i}`,
  a: [i],
}));
