// The server's JSON API. The session lives in an HttpOnly cookie; the CSRF token that
// state-changing requests must echo is kept in memory only (never in web storage).
// A failure of the network itself (no answer, an answer cut off) is an ApiError with
// status 0 and code 'network', in the reader's language: never the browser's own words.

import { readEvents } from './sse.js';
import { t } from './i18n.js';

let csrfToken = null;
let onUnauthorized = () => {};

export function setCsrf(token) {
  csrfToken = token || null;
}

export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

export class ApiError extends Error {
  constructor(status, message, code = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

function headersFor(method, hasBody) {
  const headers = { Accept: 'application/json' };
  if (hasBody) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  return headers;
}

// `key`: errors.network (the server could not be reached) or errors.connectionLost (the
// answer stopped coming).
export function networkError(key = 'errors.network') {
  return new ApiError(0, t(key), 'network');
}

function isAbort(error) {
  return error?.name === 'AbortError';
}

// fetch(), with a rejection (other than an abort) turned into a networkError.
async function reach(path, init) {
  try {
    return await fetch(path, init);
  } catch (error) {
    throw isAbort(error) ? error : networkError();
  }
}

export async function errorOf(response) {
  let message = response.statusText || `HTTP ${response.status}`;
  let code = null;
  try {
    const body = await response.json();
    const err = body && (body.error || body.detail);
    if (typeof err === 'string') message = err;
    else if (err && err.message) {
      message = err.message;
      code = err.code || null;
    } else if (Array.isArray(body.detail) && body.detail[0] && body.detail[0].msg) {
      message = body.detail[0].msg;
    }
  } catch {
    /* not JSON */
  }
  return new ApiError(response.status, message, code);
}

export async function request(method, path, body, { signal, quiet = false } = {}) {
  const response = await reach(path, {
    method,
    headers: headersFor(method, body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    signal,
  });
  if (!response.ok) {
    const error = await errorOf(response);
    if (response.status === 401 && !quiet) onUnauthorized(error);
    throw error;
  }
  if (response.status === 204) return null;
  try {
    return await response.json();
  } catch (error) {
    throw isAbort(error) || !(error instanceof TypeError) ? error : networkError();
  }
}

export const api = {
  get: (path, opts) => request('GET', path, undefined, opts),
  post: (path, body = {}, opts) => request('POST', path, body, opts),
  put: (path, body = {}, opts) => request('PUT', path, body, opts),
  patch: (path, body = {}, opts) => request('PATCH', path, body, opts),
  del: (path, opts) => request('DELETE', path, undefined, opts),
};

// POSTs `body` and hands each server-sent event to `onEvent` until the stream ends; a
// stream that breaks off is a networkError (errors.connectionLost).
export async function stream(path, body, { signal, onEvent }) {
  const response = await reach(path, {
    method: 'POST',
    headers: { ...headersFor('POST', true), Accept: 'text/event-stream' },
    body: JSON.stringify(body),
    credentials: 'same-origin',
    signal,
  });
  if (!response.ok) {
    const error = await errorOf(response);
    if (response.status === 401) onUnauthorized(error);
    throw error;
  }
  const frames = readEvents(response);
  try {
    for (;;) {
      let next;
      try {
        next = await frames.next();
      } catch (error) {
        throw isAbort(error) ? error : networkError('errors.connectionLost');
      }
      if (next.done) return;
      onEvent(next.value.event, next.value.data);
    }
  } finally {
    await frames.return();
  }
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

// Sends a file as the raw body of a POST (no JSON), reporting upload progress (0..1).
export function upload(path, file, { onProgress } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    if (csrfToken) xhr.setRequestHeader('X-CSRF-Token', csrfToken);
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable && onProgress) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener('load', async () => {
      const response = new Response(xhr.responseText, { status: xhr.status, statusText: xhr.statusText });
      if (xhr.status >= 200 && xhr.status < 300) resolve(JSON.parse(xhr.responseText));
      else {
        const error = await errorOf(response);
        if (xhr.status === 401) onUnauthorized(error);
        reject(error);
      }
    });
    xhr.addEventListener('error', () => reject(networkError()));
    xhr.send(file);
  });
}
