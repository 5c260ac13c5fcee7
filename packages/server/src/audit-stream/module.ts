import { auditStreamOperations } from '@spyglass/protocol';
import { defineModule } from '../platform/module.js';
import { auditStreamConfigSection, type SinkConfig } from './config.js';
import { AuditStreamer } from './streamer.js';
import type { Transport } from './transports.js';

/** Tuning tests pass (`deps.modules.auditStream`). */
export interface AuditStreamOptions {
  /** Transports per sink (default: syslog, HTTP and Splunk over the network). */
  createTransport?: (sink: SinkConfig) => Transport;
}

/** The singleton job (and lease) that sends the audit log. */
export const STREAM_JOB = 'audit.stream';

/**
 * Audit streaming: the audit log sent to syslog (RFC 5424 over UDP, TCP, TLS), HTTP JSON receivers and Splunk's HTTP
 * Event Collector, at least once and in order, from a per-sink cursor in the database, by the one replica holding
 * the `audit.stream` lease. ADR 0011.
 */
export const auditStreamModule = defineModule({
  name: 'auditStream',
  config: auditStreamConfigSection,
  register(ctx) {
    const { hub, config } = ctx;
    const options = (ctx.options ?? {}) as AuditStreamOptions;
    const streamer = new AuditStreamer({
      db: hub.storage.db,
      sinks: config.sinks,
      log: ctx.log,
      registry: hub.metrics.registry,
      gapSettleMs: config.gapSettleMs,
      ...(options.createTransport === undefined ? {} : { createTransport: options.createTransport }),
    });
    if (config.sinks.length > 0) {
      ctx.log.info(
        { sinks: config.sinks.map((s) => ({ name: s.name, type: s.type })) },
        'audit streaming to %d sink(s)',
        config.sinks.length,
      );
    }
    // Every replica may run the retention sweep: each tells what it deletes before a sink got it.
    const unobserve = hub.audit.addSweepObserver((events) => streamer.onSweep(events));

    ctx.jobs.add({ name: STREAM_JOB, everyMs: config.intervalMs, singleton: true, run: (now) => streamer.run(now) });
    // A replica that lost the lease closes its connections to the sinks (the job no longer runs here).
    ctx.jobs.add({
      name: 'audit.stream-guard',
      everyMs: Math.max(config.intervalMs, 1000),
      run() {
        if (streamer.hasOpenTransports && !ctx.jobs.isLeader(STREAM_JOB)) streamer.closeTransports();
      },
    });

    ctx.operation(auditStreamOperations.listSinks, async () => ({
      sender: config.sinks.length === 0 ? null : await ctx.jobs.leaseHolder(STREAM_JOB),
      sinks: await streamer.status(),
    }));

    ctx.onClose(() => {
      unobserve();
      streamer.closeTransports();
    });
  },
});
