// Knowledge: the user's documents (upload with progress, then the server's indexing
// progress, polled while any document is queued or indexing; re-index, delete) and
// collections (own ones, and those an administrator shared), plus `attachmentEditor`, the
// picker that gives documents or collections to a conversation or a persona.

import { h } from '../dom.js';
import { icon } from '../icons.js';
import { t, formatNumber } from '../i18n.js';
import { api, upload } from '../api.js';
import { openDialog, confirmDialog } from '../ui/dialog.js';
import { toast } from '../ui/toast.js';
import { isAdmin } from '../session.js';

export function openKnowledgeManager() {
  const docList = h('ul', { class: 'knowledge-list', 'aria-label': t('knowledge.documents') });
  const colList = h('ul', { class: 'knowledge-list', 'aria-label': t('knowledge.collections') });
  const progress = h('ul', { class: 'upload-list', 'aria-live': 'polite' });
  const picker = h('input', { id: 'knowledge-files', type: 'file', multiple: true, class: 'sr-only', accept: '.pdf,.docx,.md,.markdown,.txt,.text,.html,.htm' });
  const chooseLabel = h('label', { for: 'knowledge-files', class: 'button button--primary' }, icon('plus'), h('span', { text: t('knowledge.upload') }));
  const colName = h('input', { id: 'knowledge-collection-name', type: 'text', class: 'input', maxlength: 200, placeholder: t('knowledge.collectionName') });
  const colShared = h('input', { id: 'knowledge-collection-shared', type: 'checkbox' });
  const colAdd = h('button', { type: 'submit', class: 'button', text: t('knowledge.createCollection') });
  const colForm = h('form', { class: 'knowledge-form' },
    h('label', { for: 'knowledge-collection-name', class: 'sr-only', text: t('knowledge.collectionName') }), colName,
    isAdmin() ? h('span', { class: 'check' }, colShared, h('label', { for: 'knowledge-collection-shared', text: t('knowledge.shareAll') })) : null,
    colAdd);
  const body = h('div', { class: 'stack' },
    h('section', { class: 'stack' },
      h('div', { class: 'knowledge-head' }, h('h3', { text: t('knowledge.documents') }), chooseLabel, picker),
      h('p', { class: 'field__hint', text: t('knowledge.uploadHint') }),
      progress, docList),
    h('section', { class: 'stack' }, h('h3', { text: t('knowledge.collections') }), colForm, colList));
  let timer = 0;
  const dialog = openDialog({
    title: t('knowledge.title'), body, className: 'dialog--wide knowledge',
    onClose: () => clearTimeout(timer),
  });
  let collections = [];
  const known = new Map(); // document id -> status last shown
  const reindexing = new Set(); // ids whose re-index ends with a toast

  const refresh = async () => {
    const [docs, cols] = await Promise.all([api.get('/api/documents'), api.get('/api/collections')]);
    collections = cols.data;
    docList.replaceChildren(...docs.data.map(docRow));
    if (!docs.data.length) docList.append(h('li', { class: 'muted', text: t('knowledge.noDocuments') }));
    colList.replaceChildren(...collections.map(colRow));
    if (!collections.length) colList.append(h('li', { class: 'muted', text: t('knowledge.noCollections') }));
    track(docs.data);
  };
  // While documents are indexed, only their status is redrawn every 500 ms (the rest of
  // the row keeps its state); a document that ends ready or failed redraws the lists.
  const track = (docs) => {
    clearTimeout(timer);
    let ended = false;
    for (const doc of docs) {
      const before = known.get(doc.id);
      if (before && before !== doc.status && !busy(doc) && busy({ status: before })) {
        ended = true;
        if (reindexing.delete(doc.id)) {
          toast(doc.status === 'ready' ? t('knowledge.reindexed') : doc.error, doc.status === 'ready' ? 'info' : 'error');
        }
      }
      known.set(doc.id, doc.status);
      const cell = docList.querySelector(`[data-id="${doc.id}"] .knowledge-status`);
      if (cell) cell.replaceWith(statusOf(doc));
    }
    if (ended) {
      refresh().catch(() => {});
      return;
    }
    if (docs.some(busy) && dialog.open) timer = setTimeout(poll, 500);
  };
  const poll = () => api.get('/api/documents').then((docs) => {
    if (dialog.open) track(docs.data);
  }, () => {
    if (dialog.open) timer = setTimeout(poll, 2000);
  });
  // a refused upload's line stays until the next action or upload
  const clearErrors = () => {
    for (const item of progress.querySelectorAll('.upload-item--error')) item.remove();
  };
  const guard = (fn) => async (...args) => {
    clearErrors();
    try {
      await fn(...args);
    } catch (error) {
      toast(error.message, 'error');
    }
  };

  const docRow = (doc) => {
    const reindex = small('refresh', t('knowledge.reindex', { name: doc.filename }), guard(async () => {
      await api.post(`/api/documents/${doc.id}/reindex`);
      reindexing.add(doc.id);
      known.set(doc.id, 'queued'); // so that even a re-index done before the next look ends with a toast
      await refresh();
    }));
    reindex.disabled = busy(doc);
    const remove = small('trash', t('knowledge.delete', { name: doc.filename }), guard(async () => {
      const ok = await confirmDialog({ title: t('knowledge.deleteTitle'), message: t('knowledge.deleteMessage', { name: doc.filename }), confirm: t('common.delete'), danger: true });
      if (!ok) return;
      await api.del(`/api/documents/${doc.id}`);
      await refresh();
    }));
    const own = collections.filter((c) => c.mine);
    const into = h('select', { class: 'input input--small', 'aria-label': t('knowledge.addTo', { name: doc.filename }) },
      h('option', { value: '', text: t('knowledge.addToPlaceholder') }),
      own.map((c) => h('option', { value: c.id, text: c.name })));
    into.hidden = !own.length;
    into.addEventListener('change', guard(async () => {
      if (!into.value) return;
      await api.put(`/api/collections/${into.value}/documents/${doc.id}`);
      toast(t('common.saved'));
      into.value = '';
      await refresh();
    }));
    return h('li', { class: 'knowledge-row', dataset: { id: doc.id } },
      h('div', { class: 'knowledge-row__text' },
        h('strong', { text: doc.filename }),
        statusOf(doc),
        h('span', { class: 'muted', text: formatSize(doc.size) })),
      h('div', { class: 'row-actions' }, into, reindex, remove));
  };

  const colRow = (col) => {
    const actions = h('div', { class: 'row-actions' });
    if (col.mine) {
      actions.append(small('trash', t('knowledge.deleteCollection', { name: col.name }), guard(async () => {
        const ok = await confirmDialog({ title: t('knowledge.deleteCollectionTitle'), message: t('knowledge.deleteCollectionMessage', { name: col.name }), confirm: t('common.delete'), danger: true });
        if (!ok) return;
        await api.del(`/api/collections/${col.id}`);
        await refresh();
      })));
    }
    return h('li', { class: 'knowledge-row' },
      h('div', { class: 'knowledge-row__text' },
        h('strong', { text: col.name }),
        col.shared ? h('span', { class: 'badge', text: t('knowledge.shared') }) : null,
        h('span', { class: 'muted', text: t('knowledge.documentCount', { count: col.document_count }) })),
      actions);
  };

  picker.addEventListener('change', async () => {
    const files = Array.from(picker.files || []);
    picker.value = '';
    clearErrors();
    for (const file of files) {
      const bar = h('progress', { max: 100, value: 0, 'aria-label': t('knowledge.uploading', { name: file.name }) });
      const state = h('span', { class: 'muted', text: t('knowledge.uploading', { name: file.name }) });
      const item = h('li', { class: 'upload-item' }, state, bar);
      progress.append(item);
      try {
        await upload(`/api/documents?filename=${encodeURIComponent(file.name)}`, file, {
          onProgress: (share) => {
            bar.value = Math.round(share * 100);
            if (share >= 1) bar.removeAttribute('value'); // until the server answers (at once)
          },
        });
        item.remove();
      } catch (error) {
        bar.remove();
        state.textContent = `${file.name}: ${error.message}`;
        item.classList.add('upload-item--error');
      }
      await refresh().catch(() => {});
    }
  });

  colForm.addEventListener('submit', guard(async (event) => {
    event.preventDefault();
    const name = colName.value.trim();
    if (!name) return;
    const payload = { name };
    if (isAdmin() && colShared.checked) payload.shared = true;
    await api.post('/api/collections', payload);
    colName.value = '';
    colShared.checked = false;
    await refresh();
  }));

  refresh().catch((error) => toast(error.message, 'error'));
  return dialog;
}

// The attachments of `base` (`/api/conversations/ID` or `/api/personas/ID`): a list with
// remove buttons and a picker of the documents and collections the user may attach. With
// `pending` (an array) instead of `base`, choices are kept there for a conversation that
// does not exist yet, as {kind, source_id, name}; `sendPending` attaches them later.
export function attachmentEditor(base, { editable = true, pending = null } = {}) {
  const store = pending ? localStore(pending) : serverStore(base);
  const list = h('ul', { class: 'knowledge-list', 'aria-label': t('knowledge.attached') });
  const choice = h('select', { id: 'attach-choice', class: 'input' });
  const add = h('button', { type: 'button', class: 'button', text: t('knowledge.attach') });
  const picker = h('div', { class: 'attach-picker' },
    h('label', { for: 'attach-choice', class: 'sr-only', text: t('knowledge.attachLabel') }), choice, add);
  picker.hidden = !editable;
  const el = h('div', { class: 'field attachments' },
    h('span', { class: 'field__label', text: t('knowledge.attached') }), list, picker,
    h('p', { class: 'field__hint', text: t('knowledge.attachHint') }));

  const refresh = async () => {
    const [attached, docs, cols] = await Promise.all([
      store.list(),
      api.get('/api/documents'),
      api.get('/api/collections'),
    ]);
    list.replaceChildren(...attached.map((a) => {
      const label = a.kind === 'collection' ? t('knowledge.collectionItem', { name: a.name }) : a.name;
      const remove = small('close', t('knowledge.detach', { name: a.name }), async () => {
        try {
          await store.remove(a);
          await refresh();
        } catch (error) {
          toast(error.message, 'error');
        }
      });
      remove.hidden = !editable;
      return h('li', { class: 'knowledge-row' }, h('span', { class: 'knowledge-row__text', text: label }), remove);
    }));
    if (!attached.length) list.append(h('li', { class: 'muted', text: t('knowledge.nothingAttached') }));
    choice.replaceChildren(
      h('option', { value: '', text: t('knowledge.attachLabel') }),
      cols.data.length ? h('optgroup', { label: t('knowledge.collections') },
        cols.data.map((c) => h('option', { value: `collection:${c.id}`, text: c.name }))) : null,
      docs.data.length ? h('optgroup', { label: t('knowledge.documents') },
        docs.data.filter((d) => d.status === 'ready').map((d) => h('option', { value: `document:${d.id}`, text: d.filename }))) : null);
  };
  add.addEventListener('click', async () => {
    const [kind, id] = choice.value.split(':');
    if (!id) return;
    try {
      await store.add(kind, id, choice.selectedOptions[0]?.textContent || '');
      await refresh();
    } catch (error) {
      toast(error.message, 'error');
    }
  });
  refresh().catch((error) => toast(error.message, 'error'));
  return el;
}

function serverStore(base) {
  return {
    list: async () => (await api.get(`${base}/attachments`)).data,
    add: (kind, id) => api.post(`${base}/attachments`, sourceOf(kind, id)),
    remove: (a) => api.del(`${base}/attachments/${a.id}`),
  };
}

function localStore(pending) {
  return {
    list: async () => pending.map((p, index) => ({ ...p, id: String(index) })),
    add: async (kind, id, name) => {
      if (!pending.some((p) => p.kind === kind && p.source_id === id)) pending.push({ kind, source_id: id, name });
    },
    remove: async (a) => {
      pending.splice(Number(a.id), 1);
    },
  };
}

function sourceOf(kind, id) {
  return kind === 'collection' ? { collection_id: id } : { document_id: id };
}

// Attaches the choices kept for a draft to the conversation just made from it.
export async function sendPending(conversationId, pending) {
  for (const p of pending || []) {
    await api.post(`/api/conversations/${encodeURIComponent(conversationId)}/attachments`, sourceOf(p.kind, p.source_id));
  }
}

function busy(doc) {
  return doc.status === 'queued' || doc.status === 'indexing';
}

// The status of a document: a badge, or while it is indexed a bar of chunks done / total.
function statusOf(doc) {
  if (doc.status === 'ready') return h('span', { class: 'badge knowledge-status', text: t('knowledge.ready', { count: doc.chunk_count }) });
  if (doc.status === 'error') return h('span', { class: 'badge badge--error knowledge-status', text: t('knowledge.failed', { error: doc.error || '' }) });
  if (doc.status === 'queued') return h('span', { class: 'badge knowledge-status', text: t('knowledge.queued') });
  const total = doc.progress_total;
  const text = total
    ? t('knowledge.progress', { done: formatNumber(doc.progress_done), total: formatNumber(total) })
    : t('knowledge.reading');
  const bar = h('progress', { 'aria-label': t('knowledge.indexing', { name: doc.filename }) });
  if (total) {
    bar.max = total;
    bar.value = doc.progress_done;
  }
  return h('span', { class: 'knowledge-status knowledge-progress' }, bar, h('span', { class: 'muted', text }));
}

function small(name, label, onClick) {
  const button = h('button', { type: 'button', class: 'icon-button icon-button--small', 'aria-label': label, title: label }, icon(name));
  button.addEventListener('click', onClick);
  return button;
}

function formatSize(bytes) {
  if (bytes < 1024) return t('knowledge.bytes', { size: formatNumber(bytes) });
  if (bytes < 1024 * 1024) return t('knowledge.kilobytes', { size: formatNumber(bytes / 1024, { maximumFractionDigits: 1 }) });
  return t('knowledge.megabytes', { size: formatNumber(bytes / (1024 * 1024), { maximumFractionDigits: 1 }) });
}
