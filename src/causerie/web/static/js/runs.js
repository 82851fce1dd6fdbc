// The answers being written, one per conversation, kept apart from any view: leaving a
// conversation (for another one, a new chat, the admin page) does not stop its answer, whose
// stream is read to the end so that the server saves it whole. A view attaches to the run
// of the conversation it shows (the events so far are replayed) and detaches when it
// leaves. Only Stop or a page reload (the server marks the answer interrupted) cut one short.

import { stream, networkError } from './api.js';

const live = new Map(); // conversation id -> Run
const watchers = new Set(); // fn(kind: 'start' | 'title' | 'end', run)

function tell(kind, run) {
  watchers.forEach((fn) => fn(kind, run));
}

class Run {
  constructor(conversationId) {
    this.conversationId = conversationId;
    this.controller = new AbortController();
    this.events = []; // [event, data] so far, replayed to a view that attaches
    this.listener = null;
    this.started = false; // the server took the message ('start')
    this.ended = false; // the server said how it ended ('done' or 'error')
    this.finished = null; // a promise of the error that broke the stream off (null if none)
  }

  get stopped() {
    return this.controller.signal.aborted;
  }

  stop() {
    this.controller.abort();
  }

  // Hand the events so far, then each new one, to `fn`; listen(null) detaches.
  listen(fn) {
    this.listener = fn;
    if (fn) this.events.forEach(([event, data]) => fn(event, data));
  }

  emit(event, data) {
    this.events.push([event, data]);
    if (event === 'start') this.started = true;
    if (event === 'done' || event === 'error') this.ended = true;
    if (event === 'title') tell('title', this);
    this.listener?.(event, data);
  }
}

// The run answering in conversation `id`, or null.
export function liveRun(id) {
  return live.get(id) || null;
}

// Call `fn(kind, run)` when a run starts, gets a title or ends; returns the unsubscribe.
export function watchRuns(fn) {
  watchers.add(fn);
  return () => watchers.delete(fn);
}

// POST `body` to `url` and read the answer of conversation `id` to its end. One run per
// conversation: null while that conversation is already answering.
export function startRun(id, url, body) {
  if (live.has(id)) return null;
  const run = new Run(id);
  live.set(id, run);
  run.finished = (async () => {
    let failure = null;
    try {
      await stream(url, body, { signal: run.controller.signal, onEvent: (event, data) => run.emit(event, data) });
      if (!run.ended && !run.stopped) throw networkError('errors.connectionLost');
    } catch (error) {
      if (error.name !== 'AbortError') failure = error;
    }
    live.delete(id);
    tell('end', run);
    return failure;
  })();
  tell('start', run);
  return run;
}

// Stop every answer (on logout: the next user must not see them end).
export function stopAllRuns() {
  live.forEach((run) => run.stop());
}
