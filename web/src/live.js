// One EventSource per page for every view: the browser reconnects it by itself and sends
// Last-Event-ID, so the server resumes from its ring; a `reset` (the ring no longer holds what
// we missed) makes every view reload. Views refresh at most once a second whatever the rate of
// events (throttledRefresh), so a busy ledger never turns into a storm of requests.
import { useEffect, useRef } from 'preact/hooks';

const kinds = ['stock', 'listing', 'push', 'alert', 'sync', 'reset'];
const listeners = new Set();
const statusListeners = new Set();
let source = null;

function setStatus(connected) {
  for (const listener of statusListeners) listener(connected);
}

export function startLive() {
  if (source) return;
  source = new EventSource('/v1/events');
  for (const kind of kinds)
    source.addEventListener(kind, (message) => {
      let data = {};
      try {
        data = JSON.parse(message.data);
      } catch {}
      for (const listener of listeners) listener(kind, data);
    });
  source.onopen = () => setStatus(true);
  source.onerror = () => setStatus(source?.readyState === EventSource.OPEN);
}

export function stopLive() {
  source?.close();
  source = null;
  setStatus(false);
}

export function onLiveStatus(listener) {
  statusListeners.add(listener);
  return () => statusListeners.delete(listener);
}

/** Call `handler(kind, data)` for live events while the component is mounted. */
export function useLive(handler) {
  const latest = useRef(handler);
  latest.current = handler;
  useEffect(() => {
    const listener = (kind, data) => latest.current(kind, data);
    listeners.add(listener);
    return () => listeners.delete(listener);
  }, []);
}

/** A function that runs `refresh` at most once per `intervalMs`, the last call winning. */
export function throttledRefresh(refresh, intervalMs = 1000) {
  let timer = null;
  let last = 0;
  return () => {
    if (timer) return;
    const wait = Math.max(0, last + intervalMs - Date.now());
    timer = setTimeout(() => {
      timer = null;
      last = Date.now();
      refresh();
    }, wait);
  };
}
