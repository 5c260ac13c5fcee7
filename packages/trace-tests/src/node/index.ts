/**
 * The Node.js side of trace-based tests: triggers (HTTP, gRPC) with trace propagation and the outbound network policy.
 * Used by the hub and by the remote runner (`spyglass runner`); not for the browser.
 */
export { grpcTrigger } from './grpc-trigger.js';
export type { GrpcTriggerOptions, GrpcTriggerRequest } from './grpc-trigger.js';
export { httpTrigger, normaliseUrl } from './http-trigger.js';
export type { HttpTriggerOptions, HttpTriggerRequest } from './http-trigger.js';
export { DEFAULT_DENIED_NETWORKS, NetworkPolicy } from './network.js';
export type { NetworkPolicyOptions } from './network.js';
export { propagationHeaders } from './propagation.js';
