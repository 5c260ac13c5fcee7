import type { LiveStream, Subscription } from '@spyglass/client';
import type { ServiceSelector, StreamServerMessage } from '@spyglass/protocol';
import { createContext, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import { api } from './api';

export type StreamState = 'idle' | 'connecting' | 'open' | 'reconnecting';

type Listener = (message: StreamServerMessage) => void;

const serviceKey = (s: ServiceSelector): string => `${s.pool}\u0000${s.service}`;

/**
 * A subscription to another channel of the stream whose filter is lists of strings, e.g. `{ channel: 'traces',
 * filter: { services: ['*'] } }`. Each value is counted on its own, so two views that share one keep it followed.
 */
export interface ChannelSubscription {
  channel: string;
  filter: Record<string, string[]>;
}

const valueKey = (channel: string, field: string, value: string): string => JSON.stringify([channel, field, value]);

/**
 * One live stream for the whole console. Pages add and remove subscriptions (counted, so two views of the same
 * action share one) and listen to every message; the stream reconnects with backoff and subscribes again.
 */
export class StreamManager {
  #stream: LiveStream | null = null;
  #state: StreamState = 'idle';
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #stopped = false;
  /** Bumped by stop(): a connection attempt of an older generation is discarded. */
  #generation = 0;
  readonly #actions = new Map<string, number>();
  readonly #services = new Map<string, { selector: ServiceSelector; count: number }>();
  /** Values followed on other channels, by `valueKey`. */
  readonly #channelValues = new Map<string, { channel: string; field: string; value: string; count: number }>();
  readonly #listeners = new Set<Listener>();
  readonly #stateListeners = new Set<(s: StreamState) => void>();

  get state(): StreamState {
    return this.#state;
  }

  onState(fn: (s: StreamState) => void): () => void {
    this.#stateListeners.add(fn);
    return () => this.#stateListeners.delete(fn);
  }

  on(fn: Listener): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #setState(s: StreamState): void {
    this.#state = s;
    for (const fn of this.#stateListeners) fn(s);
  }

  /** Follows actions and services until the returned function is called. */
  subscribe(sub: Subscription): () => void {
    const added: Subscription = { actionIds: [], services: [] };
    for (const id of sub.actionIds ?? []) {
      const n = this.#actions.get(id) ?? 0;
      this.#actions.set(id, n + 1);
      if (n === 0) added.actionIds?.push(id);
    }
    for (const s of sub.services ?? []) {
      const k = serviceKey(s);
      const e = this.#services.get(k);
      if (e === undefined) {
        this.#services.set(k, { selector: s, count: 1 });
        added.services?.push(s);
      } else e.count++;
    }
    this.#ensure();
    if (this.#state === 'open' && ((added.actionIds?.length ?? 0) > 0 || (added.services?.length ?? 0) > 0)) {
      this.#stream?.subscribe(added).catch(() => undefined);
    }
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const removed: Subscription = { actionIds: [], services: [] };
      for (const id of sub.actionIds ?? []) {
        const n = (this.#actions.get(id) ?? 1) - 1;
        if (n <= 0) {
          this.#actions.delete(id);
          removed.actionIds?.push(id);
        } else this.#actions.set(id, n);
      }
      for (const s of sub.services ?? []) {
        const k = serviceKey(s);
        const e = this.#services.get(k);
        if (e === undefined) continue;
        if (--e.count <= 0) {
          this.#services.delete(k);
          removed.services?.push(s);
        }
      }
      if (this.#state === 'open' && ((removed.actionIds?.length ?? 0) > 0 || (removed.services?.length ?? 0) > 0)) {
        this.#stream?.unsubscribe(removed).catch(() => undefined);
      }
    };
  }

  /** Follows values on another channel until the returned function is called. */
  subscribeChannel(sub: ChannelSubscription): () => void {
    const added: Record<string, string[]> = {};
    for (const [field, values] of Object.entries(sub.filter)) {
      for (const value of values) {
        const k = valueKey(sub.channel, field, value);
        const e = this.#channelValues.get(k);
        if (e === undefined) {
          this.#channelValues.set(k, { channel: sub.channel, field, value, count: 1 });
          (added[field] ??= []).push(value);
        } else e.count++;
      }
    }
    this.#ensure();
    if (this.#state === 'open' && Object.keys(added).length > 0) {
      this.#stream?.subscribeChannel(sub.channel, added).catch(() => undefined);
    }
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const removed: Record<string, string[]> = {};
      for (const [field, values] of Object.entries(sub.filter)) {
        for (const value of values) {
          const k = valueKey(sub.channel, field, value);
          const e = this.#channelValues.get(k);
          if (e === undefined) continue;
          if (--e.count <= 0) {
            this.#channelValues.delete(k);
            (removed[field] ??= []).push(value);
          }
        }
      }
      if (this.#state === 'open' && Object.keys(removed).length > 0) {
        this.#stream?.unsubscribeChannel(sub.channel, removed).catch(() => undefined);
      }
    };
  }

  /** Everything followed on other channels, one filter per channel (sent again after a reconnection). */
  #channelFilters(): Map<string, Record<string, string[]>> {
    const out = new Map<string, Record<string, string[]>>();
    for (const e of this.#channelValues.values()) {
      const filter = out.get(e.channel) ?? {};
      (filter[e.field] ??= []).push(e.value);
      out.set(e.channel, filter);
    }
    return out;
  }

  #ensure(): void {
    if (this.#stopped || this.#stream !== null || this.#state === 'connecting' || this.#timer !== null) return;
    this.#connect();
  }

  #connect(): void {
    this.#setState(this.#attempt === 0 ? 'connecting' : 'reconnecting');
    const generation = this.#generation;
    api.stream().then(
      (stream) => {
        if (this.#stopped || generation !== this.#generation) {
          void stream.close();
          return;
        }
        this.#stream = stream;
        this.#attempt = 0;
        stream.on((m) => {
          for (const fn of this.#listeners) fn(m);
        });
        void stream.closed.then(() => {
          if (this.#stream !== stream) return;
          this.#stream = null;
          this.#retry();
        });
        this.#setState('open');
        const actionIds = [...this.#actions.keys()];
        const services = [...this.#services.values()].map((e) => e.selector);
        if (actionIds.length + services.length > 0) stream.subscribe({ actionIds, services }).catch(() => undefined);
        for (const [channel, filter] of this.#channelFilters()) {
          stream.subscribeChannel(channel, filter).catch(() => undefined);
        }
      },
      () => {
        if (generation === this.#generation) this.#retry();
      },
    );
  }

  #retry(): void {
    if (this.#stopped) return;
    this.#setState('reconnecting');
    const delay = Math.min(10_000, 500 * 2 ** this.#attempt++);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#connect();
    }, delay);
  }

  /** Allows connecting again after `stop()` (React runs effects twice in development). */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#attempt = 0;
    if (this.#actions.size + this.#services.size + this.#channelValues.size > 0) this.#ensure();
  }

  stop(): void {
    this.#stopped = true;
    this.#generation++;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    void this.#stream?.close();
    this.#stream = null;
    this.#setState('idle');
  }
}

const StreamContext = createContext<StreamManager | null>(null);

export function StreamProvider({ children }: { children: ReactNode }) {
  const [manager] = useState(() => new StreamManager());
  useEffect(() => {
    manager.start();
    return () => manager.stop();
  }, [manager]);
  return <StreamContext.Provider value={manager}>{children}</StreamContext.Provider>;
}

function useManager(): StreamManager {
  const m = useContext(StreamContext);
  if (m === null) throw new Error('useLiveStream outside StreamProvider');
  return m;
}

/**
 * Follows `subscription` while the component is mounted and hands every stream message to `listener` (the latest
 * one passed; it may change between renders without resubscribing).
 */
export function useLiveStream(subscription: Subscription | null, listener: Listener): StreamState {
  const manager = useManager();
  const latest = useRef(listener);
  useEffect(() => {
    latest.current = listener;
  });
  const key = subscription === null ? '' : JSON.stringify(subscription);
  useEffect(() => {
    if (key === '') return;
    const off = manager.on((m) => latest.current(m));
    const unsubscribe = manager.subscribe(JSON.parse(key) as Subscription);
    return () => {
      off();
      unsubscribe();
    };
  }, [manager, key]);
  return useStreamState();
}

/**
 * Follows values on another channel of the stream while the component is mounted (`null`: nothing) and hands every
 * stream message to `listener`, which checks what it gets: messages of every channel come to every listener.
 */
export function useChannelStream(
  subscription: ChannelSubscription | null,
  listener: (message: unknown) => void,
): StreamState {
  const manager = useManager();
  const latest = useRef(listener);
  useEffect(() => {
    latest.current = listener;
  });
  const key = subscription === null ? '' : JSON.stringify(subscription);
  useEffect(() => {
    if (key === '') return;
    const off = manager.on((m) => latest.current(m));
    const unsubscribe = manager.subscribeChannel(JSON.parse(key) as ChannelSubscription);
    return () => {
      off();
      unsubscribe();
    };
  }, [manager, key]);
  return useStreamState();
}

export function useStreamState(): StreamState {
  const manager = useManager();
  const [state, setState] = useState(manager.state);
  useEffect(() => manager.onState(setState), [manager]);
  return state;
}
