// A conversation: opens one (or a new draft), sends messages and streams the answers,
// stops, regenerates, edits into a new branch and switches branches. After every stream
// the conversation is read back from the server, which stays the source of truth.
// Answers run in runs.js, not here: leaving a conversation detaches from its answer, which
// goes on in the background; coming back attaches to it again. One answer at a time per
// conversation (a second send there waits for the first to end); Stop stops this one only.
// A message the server never took goes back to the composer; what is typed in the
// composer stays with the conversation it was typed in.

import { h } from '../dom.js';
import { icon } from '../icons.js';
import { t } from '../i18n.js';
import { api } from '../api.js';
import { liveRun, startRun } from '../runs.js';
import { navigate } from '../router.js';
import { anyDialogOpen } from '../ui/dialog.js';
import { toast } from '../ui/toast.js';
import { ThreadView } from './thread.js';
import { Composer } from './composer.js';
import { Topbar } from './topbar.js';
import { openConversationSettings } from './conversation-settings.js';
import { pendingToolMessage } from './toolblock.js';
import { chatTools } from '../tools.js';

// The browser's IANA time zone, for tools such as `datetime` (null when unknown).
function userTimeZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || null;
}
import { sendPending } from './knowledge.js';

export class ChatView {
  // hooks: {models, onToggleSidebar, onChanged(conv), onRemoved(id)}
  constructor(hooks) {
    this.hooks = hooks;
    this.conversation = null;
    this.messages = [];
    this.draft = null;
    this.streaming = null; // the answer on screen: {run, assistantId, text}
    this.token = 0; // bumps on every open, so that late answers for an old view are dropped
    this.place = 'new'; // the conversation's id, or 'new' for a new chat
    this.opening = Promise.resolve(); // the conversation being opened is shown (see open)
    this.drafts = new Map(); // place -> text left in the composer there

    this.thread = new ThreadView({
      streamingId: null,
      busy: () => this.streaming !== null,
      onEdit: (msg, text) => this.edit(msg, text),
      onRegenerate: (msg) => this.regenerate(msg),
      onBranch: (msg, step) => this.switchBranch(msg, step),
      onEditPrompt: (answer) => this.thread.edit(answer.parent_id),
      emptyState: () => this.emptyState(),
    });
    this.composer = new Composer({ onSend: (text) => this.send(text), onStop: () => this.stop() });
    chatTools().then((tools) => this.composer.setTools(tools)).catch(() => {});
    this.topbar = new Topbar({
      models: hooks.models,
      onToggleSidebar: hooks.onToggleSidebar,
      onModel: (model) => this.setModel(model),
      onSettings: () => this.openSettings(),
      onNewChat: () => navigate('/'),
    });
    this.el = h('section', { class: 'chat', 'aria-label': t('chat.region') },
      this.topbar.el, this.thread.wrapper, this.composer.el);
    this.onKey = (event) => {
      if (event.key === 'Escape' && this.streaming && !anyDialogOpen() && !event.defaultPrevented) {
        event.preventDefault();
        this.stop();
      }
    };
    document.addEventListener('keydown', this.onKey);
  }

  destroy() {
    this.detach();
    document.removeEventListener('keydown', this.onKey);
  }

  defaultModel() {
    return this.hooks.models[0]?.id || '';
  }

  // --- opening ---------------------------------------------------------------------------
  // Leave the current place for `place`: the composer's text stays behind (and the text
  // left at `place` comes back), and so does the error of a request that failed there.
  moveTo(place) {
    this.thread.clearExtra();
    if (place === this.place) return;
    const text = this.composer.text();
    if (text.trim()) this.drafts.set(this.place, text);
    else this.drafts.delete(this.place);
    this.place = place;
    this.composer.setText(this.drafts.get(place) || '');
  }

  newChat(persona = null) {
    this.detach();
    this.token += 1;
    this.moveTo('new');
    this.conversation = null;
    this.messages = [];
    this.draft = {
      model: persona?.model || this.defaultModel(),
      system_prompt: persona?.system_prompt || '',
      persona,
      params: { ...(persona?.params || {}) },
      attachments: [],
    };
    this.topbar.setModel(this.draft.model);
    this.topbar.setTitle(persona ? persona.name : t('sidebar.untitled'));
    this.thread.reset([]);
    this.composer.focus();
  }

  // Show conversation `id`; `this.opening` is pending until it is shown (or failed), so
  // that a message sent meanwhile waits for it instead of going elsewhere.
  open(id, options = {}) {
    this.opening = this.load(id, options);
    return this.opening;
  }

  async load(id, { messageId = null } = {}) {
    this.detach();
    const token = (this.token += 1);
    const wasAnswering = liveRun(id);
    this.moveTo(id);
    if (this.conversation?.id !== id) {
      this.topbar.setTitle('');
      this.thread.inner.replaceChildren(h('div', { class: 'thread__loading', role: 'status', text: t('common.loading') }));
    }
    let conversation;
    try {
      conversation = await api.get(`/api/conversations/${encodeURIComponent(id)}`);
    } catch (error) {
      if (token !== this.token) return;
      this.conversation = null;
      this.messages = [];
      this.thread.inner.replaceChildren(this.notFound(error));
      return;
    }
    if (token !== this.token) return;
    this.draft = null;
    this.show(conversation, true);
    const run = liveRun(id);
    if (run) this.follow(run);
    else if (wasAnswering) this.refresh(id, null, false); // it ended while this loaded
    if (messageId) this.thread.reveal(messageId);
    requestAnimationFrame(() => {
      performance.mark('causerie:conversation-shown');
      document.documentElement.dataset.conversationShown = id;
    });
    this.composer.focus();
  }

  show(conversation, reset) {
    this.conversation = conversation;
    this.messages = conversation.messages || [];
    this.topbar.setModel(conversation.model || this.defaultModel());
    this.topbar.setTitle(conversation.title || t('sidebar.untitled'));
    if (reset) this.thread.reset(this.messages);
    else this.thread.sync(this.messages);
  }

  emptyState() {
    const persona = this.draft?.persona;
    return h('div', { class: 'empty' },
      h('div', { class: 'empty__logo', 'aria-hidden': 'true' }, icon('logo')),
      h('h2', { class: 'empty__title', text: persona ? persona.name : t('chat.emptyTitle') }),
      persona?.description ? h('p', { class: 'empty__lead', text: persona.description }) : null,
      !persona ? h('p', { class: 'empty__lead', text: t('chat.emptyLead') }) : null);
  }

  notFound(error) {
    const back = h('button', { type: 'button', class: 'button', text: t('sidebar.newChat') });
    back.addEventListener('click', () => navigate('/'));
    return h('div', { class: 'empty' },
      h('h2', { class: 'empty__title', text: error.status === 404 ? t('chat.notFound') : error.message }),
      back);
  }

  // --- settings of this conversation ----------------------------------------------------
  async setModel(model) {
    if (!this.conversation) {
      if (this.draft) this.draft.model = model;
      return;
    }
    try {
      this.conversation = await api.patch(`/api/conversations/${this.conversation.id}`, { model });
    } catch (error) {
      toast(error.message, 'error');
    }
  }

  async openSettings() {
    const tools = await chatTools().catch(() => []);
    const source = this.conversation || this.draft || {};
    openConversationSettings({
      systemPrompt: source.system_prompt,
      params: source.params,
      persona: this.draft?.persona || null,
      tools,
      conversationId: this.conversation?.id || null,
      pending: this.conversation || !this.draft ? null : (this.draft.attachments ||= []),
      onSave: async (changes) => {
        if (!this.conversation) {
          Object.assign(this.draft, { system_prompt: changes.system_prompt, params: { ...this.draft.params, ...changes.params } });
          return;
        }
        try {
          const updated = await api.patch(`/api/conversations/${this.conversation.id}`, changes);
          this.conversation = { ...this.conversation, ...updated, messages: this.messages };
          toast(t('common.saved'));
        } catch (error) {
          toast(error.message, 'error');
          throw error;
        }
      },
    });
  }

  // --- sending and streaming ------------------------------------------------------------
  // The conversation for a message typed at `place`: the one open there (once it has
  // loaded, when it is still loading), or a new one made from the draft.
  async ensureConversation(place) {
    if (place !== 'new') {
      if (this.conversation?.id !== place) await this.opening;
      if (this.conversation?.id === place) return this.conversation;
      throw new Error(t('chat.notFound'));
    }
    if (this.conversation) return this.conversation;
    const draft = this.draft || { model: this.defaultModel(), system_prompt: '', persona: null, params: {} };
    const params = Object.fromEntries(Object.entries(draft.params || {}).filter(([, v]) => v !== null && v !== undefined));
    const created = await api.post('/api/conversations', {
      title: '',
      model: draft.model || '',
      system_prompt: draft.system_prompt || '',
      persona_id: draft.persona?.id || null,
      params,
    });
    this.conversation = { ...created, messages: [] };
    this.draft = null;
    if (this.place === 'new') this.place = created.id;
    this.topbar.setTitle(created.title || t('sidebar.untitled'));
    try {
      await sendPending(created.id, draft.attachments);
    } catch (error) {
      toast(error.message, 'error');
    }
    this.token += 1;
    navigate(`/c/${created.id}`, { silent: true });
    this.hooks.onChanged(created);
    return this.conversation;
  }

  async send(text) {
    if (this.streaming) return;
    const tool = this.composer.takeTool();
    const place = this.place;
    let conversation;
    try {
      conversation = await this.ensureConversation(place);
    } catch (error) {
      this.unsent(place, error, text, tool);
      return;
    }
    const body = { content: text, timezone: userTimeZone(), ...(tool ? { tool } : {}) };
    this.run(`/api/conversations/${conversation.id}/messages`, body, { unsent: { text, tool }, id: conversation.id });
  }

  // The server did not take the message typed at `place`: the text goes back to the
  // composer there, and Retry sends the composer's text again.
  unsent(place, error, text, tool) {
    if (place !== this.place) {
      const typed = (this.drafts.get(place) || '').trim();
      this.drafts.set(place, typed ? `${text}\n\n${typed}` : text);
      return;
    }
    this.composer.restore(text, tool);
    this.thread.showError(error.message, () => this.composer.submit());
  }

  edit(msg, text) {
    if (this.streaming || !this.conversation) return;
    this.run(`/api/conversations/${this.conversation.id}/messages`, { content: text, parent_id: msg.parent_id ?? null, timezone: userTimeZone() });
  }

  regenerate(msg) {
    if (this.streaming || !this.conversation) return;
    this.run(`/api/conversations/${this.conversation.id}/messages/${msg.id}/regenerate`, {});
  }

  async switchBranch(msg, step) {
    if (this.streaming || !this.conversation) return;
    const target = (msg.sibling_ids || [])[(msg.sibling_position || 1) - 1 + step];
    if (!target) return;
    try {
      const conversation = await api.put(`/api/conversations/${this.conversation.id}/branch`, { message_id: target });
      this.show(conversation, false);
    } catch (error) {
      toast(error.message, 'error');
    }
  }

  // Stop the answer on screen (only that one).
  stop() {
    if (this.streaming) this.streaming.run.stop();
  }

  // Leave the answer on screen to go on in the background.
  detach() {
    if (!this.streaming) return;
    this.streaming.run.listen(null);
    this.idle();
  }

  idle() {
    this.streaming = null;
    this.thread.ctx.streamingId = null;
    this.composer.setStreaming(false);
    this.thread.setBusy(false);
  }

  // Ask for an answer in conversation `id` (the one on screen unless said) and show it
  // while that conversation is on screen. `unsent`: {text, tool} of a new message, which
  // goes back to the composer when the server does not take it.
  run(url, body, { unsent = null, id = this.conversation?.id } = {}) {
    if (!id || this.streaming) return;
    const run = startRun(id, url, body);
    if (!run) return; // already answering there
    const retry = () => {
      if (this.conversation?.id === id) this.run(url, body);
    };
    if (this.conversation?.id === id) this.follow(run, { unsent, retry });
  }

  // Show `run` (the events so far, then the rest) until it ends or this view leaves it.
  async follow(run, { unsent = null, retry = null } = {}) {
    const conversationId = run.conversationId;
    const live = { run, assistantId: null, text: '' };
    this.streaming = live;
    this.thread.clearExtra();
    this.composer.setStreaming(true);
    this.thread.setBusy(true);
    run.listen((event, data) => this.onEvent(live, event, data));
    const error = await run.finished;
    if (this.streaming !== live) {
      // left while it ran: the server has the answer; only a message it never took comes back
      if (error && unsent && !run.started) this.unsent(conversationId, error, unsent.text, unsent.tool);
      return;
    }
    run.listen(null);
    if (error) {
      if (live.assistantId) this.finish(live, { status: 'error', error: error.message });
      else if (unsent) this.unsent(conversationId, error, unsent.text, unsent.tool);
      else if (retry && this.conversation?.id === conversationId) this.thread.showError(error.message, retry);
    }
    const stopped = run.stopped;
    if (stopped && live.assistantId) this.finish(live, { status: 'interrupted' });
    this.idle();
    if (this.conversation?.id === conversationId) await this.refresh(conversationId, live.assistantId, stopped);
    if (this.conversation?.id === conversationId) this.hooks.onChanged(this.conversation);
  }

  onEvent(live, event, data) {
    if (this.streaming !== live) return;
    if (event === 'start') {
      const user = data.user_message;
      const answer = data.assistant_message;
      let messages = this.messages;
      const at = messages.findIndex((m) => m.id === user.id);
      if (at >= 0) {
        messages = messages.slice(0, at + 1);
      } else {
        const parent = user.parent_id ? messages.findIndex((m) => m.id === user.parent_id) : -1;
        messages = [...messages.slice(0, parent + 1), user];
      }
      live.assistantId = answer.id;
      this.thread.ctx.streamingId = answer.id;
      this.messages = [...messages, { ...answer, content: '' }];
      this.thread.sync(this.messages);
      this.thread.scrollToBottom();
    } else if (event === 'delta') {
      live.text += data.text || '';
      this.thread.streamText(live.assistantId, live.text);
    } else if (event === 'tool_call' || event === 'tool_result' || event === 'continue') {
      this.onToolEvent(live, event, data);
    } else if (event === 'title') {
      if (this.conversation) this.conversation.title = data.title;
      this.topbar.setTitle(data.title); // the sidebar hears of it through runs.js
    } else if (event === 'done' || event === 'error') {
      // an answer cut short by a failing engine: kept as interrupted, the reason shown
      if (event === 'error' && data.status === 'interrupted' && data.error) toast(data.error, 'error');
      // how it ended, as its stored meta says too: cut at the length limit, an error's code
      const ending = Object.fromEntries(['finish_reason', 'error_code'].filter((k) => data[k]).map((k) => [k, data[k]]));
      this.finish(live, {
        status: data.status || (event === 'error' ? 'error' : 'complete'),
        error: data.error || null,
        completion_tokens: data.usage?.completion_tokens || 0,
        prompt_tokens: data.usage?.prompt_tokens || 0,
        duration_ms: data.duration_ms || 0,
        ending,
        ...(Array.isArray(data.citations) ? { citations: data.citations } : {}),
      });
    }
  }

  // A tool round: the answer's calls close it, each call shows a pending block until its
  // result comes, then the continuation answer streams (the refresh confirms it all).
  onToolEvent(live, event, data) {
    let messages = this.messages;
    if (event === 'tool_call') {
      messages = messages.map((m) => (m.id !== data.message_id ? m : {
        ...m,
        content: m.status === 'streaming' ? live.text.trim() : m.content,
        status: 'complete',
        meta: { ...(m.meta || {}), tool_calls: [...(m.meta?.tool_calls || []), data.call] },
      }));
      messages = [...messages, pendingToolMessage(data.call, messages[messages.length - 1]?.id || null)];
      this.thread.ctx.streamingId = null;
    } else if (event === 'tool_result') {
      const pending = `pending-${data.message.meta?.tool_call_id}`;
      messages = [...messages.filter((m) => m.id !== pending), data.message];
    } else {
      const answer = data.assistant_message;
      live.assistantId = answer.id;
      live.text = '';
      this.thread.ctx.streamingId = answer.id;
      messages = [...messages, { ...answer, content: '' }];
    }
    this.messages = messages;
    this.thread.sync(this.messages);
    this.thread.scrollToBottom();
  }

  // Close the streaming answer locally (the refresh that follows confirms it).
  finish(live, fields) {
    const index = this.messages.findIndex((m) => m.id === live.assistantId);
    if (index === -1) return;
    const { citations, ending, ...rest } = fields;
    const current = this.messages[index];
    const updated = { ...current, content: live.text, ...rest };
    if (citations || ending) updated.meta = { ...(current.meta || {}), ...(citations ? { citations } : {}), ...(ending || {}) };
    this.messages = [...this.messages.slice(0, index), updated, ...this.messages.slice(index + 1)];
    this.thread.ctx.streamingId = null;
    this.thread.sync(this.messages);
  }

  // Read the conversation back. After a stop the server may take a moment to close the
  // answer: until it does, the local "stopped" state is kept.
  async refresh(conversationId, assistantId, stopped) {
    for (let attempt = 0; attempt < 8; attempt += 1) {
      let conversation;
      try {
        conversation = await api.get(`/api/conversations/${conversationId}`);
      } catch {
        return;
      }
      if (this.conversation?.id !== conversationId || this.streaming) return;
      const answer = conversation.messages.find((m) => m.id === assistantId);
      if (!stopped || !answer || answer.status !== 'streaming') {
        this.show(conversation, false);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
