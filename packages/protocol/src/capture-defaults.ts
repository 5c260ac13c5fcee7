/** What a snapshot captures, per field (the output type of `captureLimitsSchema`, which a test holds equal). */
export interface CaptureLimitValues {
  maxFrames: number;
  maxExpandedFrames: number;
  maxDepth: number;
  maxProperties: number;
  maxStringLength: number;
  maxArrayItems: number;
  maxBytes: number;
}

/** What a snapshot captures when its action sets no limit (the defaults of `captureLimitsSchema`). */
export const DEFAULT_CAPTURE_LIMITS: Readonly<CaptureLimitValues> = Object.freeze({
  maxFrames: 20,
  maxExpandedFrames: 5,
  maxDepth: 3,
  maxProperties: 50,
  maxStringLength: 256,
  maxArrayItems: 50,
  maxBytes: 65536,
});
