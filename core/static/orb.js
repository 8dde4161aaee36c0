// The voice orb ("Donna"): a session with the OpenAI Realtime API through @openai/agents-realtime.
//
// Click → microphone permission
//       → POST /api/v1/realtime/client-secret (ephemeral key; the server keeps OPENAI_API_KEY)
//       → GET /api/v1/tools?locale=<page> (instructions, model, voice, tool schemas)
//       → import the vendored SDK, build a RealtimeAgent with the server's instructions, voice and
//         one tool() per entry whose execute POSTs /api/v1/tools/<name>/invoke (authorized again
//         by the server), and connect a RealtimeSession (WebRTC; over WebSocket to the page's
//         `data-realtime-url` when the server is in testing mode).
// Click again to hang up. States: idle, connecting, listening, thinking, speaking, error.
import { api, ApiError, itemsOf } from "./js/api.js";
import { locale, t } from "./js/i18n.js";
import { el } from "./js/ui.js";

export const SDK_URL = "/static/vendor/agents-realtime.js";
export const DEFAULT_MODEL = "gpt-realtime";
const TRANSCRIPT_LINES = 6;
const EMPTY_PARAMETERS = { type: "object", properties: {}, required: [], additionalProperties: false };

/**
 * Merge the client-secret answer and the tools answer into one setup:
 * `{value, expiresAt, instructions, model, voice, tools}`. Both answers are read defensively.
 */
export function normalizeSetup(secret, toolsAnswer) {
  const s = secret && typeof secret === "object" ? secret : {};
  const a = toolsAnswer && typeof toolsAnswer === "object" && !Array.isArray(toolsAnswer) ? toolsAnswer : {};
  const session = s.session && typeof s.session === "object" ? s.session : {};
  const list = Array.isArray(toolsAnswer) ? toolsAnswer : Array.isArray(a.tools) ? a.tools : itemsOf(a);
  return {
    value: s.value || (s.client_secret && s.client_secret.value) || null,
    expiresAt: s.expires_at || (s.client_secret && s.client_secret.expires_at) || null,
    instructions: a.instructions || s.instructions || session.instructions || null,
    model: a.model || s.model || session.model || DEFAULT_MODEL,
    voice: a.voice || s.voice || (session.audio && session.audio.output && session.audio.output.voice) || null,
    tools: list.filter((tool) => tool && typeof tool.name === "string" && (tool.type || "function") === "function"),
  };
}

/** Run one tool on the server as the signed-in user; the model always gets a JSON string back. */
export async function invokeTool(name, args) {
  try {
    const result = await api(`/api/v1/tools/${encodeURIComponent(name)}/invoke`, { method: "POST", body: args ?? {} });
    return JSON.stringify(result ?? { ok: true });
  } catch (err) {
    const reason = err instanceof ApiError && err.body.errors ? err.body.errors.reason : undefined;
    return JSON.stringify({ error: err.message, reason });
  }
}

/** A RealtimeAgent with the server's instructions and voice, and one SDK tool per schema. */
export function buildAgent(sdk, setup, invoke = invokeTool) {
  const tools = setup.tools.map((schema) => {
    const options = {
      name: schema.name,
      description: schema.description || schema.name,
      parameters: schema.parameters || EMPTY_PARAMETERS,
      execute: (args) => invoke(schema.name, args),
    };
    try {
      return sdk.tool({ ...options, strict: true });
    } catch {
      return sdk.tool({ ...options, strict: false }); // a schema strict mode refuses still works loosely
    }
  });
  // The server always sends instructions; an agent without any would blank the session's.
  const config = { name: "Donna", instructions: setup.instructions || "", tools };
  if (setup.voice) config.voice = setup.voice;
  return new sdk.RealtimeAgent(config);
}

/** A RealtimeSession for `agent`: WebRTC with `mediaStream` as the microphone, or WebSocket to `url`. */
export function buildSession(sdk, agent, setup, { url = null, mediaStream = null } = {}) {
  const transport = url ? "websocket" : mediaStream ? new sdk.OpenAIRealtimeWebRTC({ mediaStream }) : "webrtc";
  return new sdk.RealtimeSession(agent, { transport, model: setup.model });
}

/** The last few spoken lines of a session's history: `[{role, text}]`. */
export function transcriptOf(history) {
  const lines = [];
  for (const item of history || []) {
    if (!item || item.type !== "message" || !Array.isArray(item.content)) continue;
    const text = item.content.map((part) => part.transcript || part.text || "").join(" ").trim();
    if (text) lines.push({ role: item.role, text });
  }
  return lines.slice(-TRANSCRIPT_LINES);
}

const UNAVAILABLE = new Set([404, 405, 501]);
const LIVE = new Set(["listening", "thinking", "speaking"]);

/** Wire the orb button: state in `data-state` on the button and the dock. */
export function mountOrb({ button, status, dock, label, transcript }) {
  const realtimeUrl = dock.dataset.realtimeUrl || null;
  let session = null;
  let microphone = null;
  let state = "idle";

  const show = (next, text) => {
    state = next;
    button.dataset.state = next;
    dock.dataset.state = next;
    button.setAttribute("aria-pressed", String(LIVE.has(next)));
    label.textContent = LIVE.has(next) ? t("End the voice conversation with Donna") : t("Start a voice conversation with Donna");
    if (text !== undefined) status.textContent = text;
  };

  const showTranscript = (history) => {
    const lines = transcriptOf(history);
    transcript.replaceChildren(...lines.map((line) => el("li", { class: `line-${line.role}`, dataset: { role: line.role } },
      el("span", { class: "visually-hidden", text: line.role === "user" ? t("You:") : t("Donna:") }), " ", line.text)));
    transcript.hidden = lines.length === 0;
  };

  const release = () => {
    if (session) {
      try { session.close(); } catch { /* already closed */ }
    }
    if (microphone) microphone.getTracks().forEach((track) => track.stop());
    session = null;
    microphone = null;
  };

  const hangUp = (text = t("Conversation ended. Talk to Donna again any time.")) => {
    release();
    show("idle", text);
  };

  const fail = (text) => {
    release();
    show("error", text);
  };

  const start = async () => {
    show("connecting", t("Connecting to Donna…"));
    transcript.replaceChildren();
    transcript.hidden = true;
    try {
      microphone = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (err) {
      fail(err && (err.name === "NotAllowedError" || err.name === "SecurityError")
        ? t("Donna needs your microphone: allow it in the browser, then try again.")
        : t("No microphone was found. Plug one in, then try again."));
      return;
    }
    let secret;
    let toolsAnswer;
    try {
      secret = await api("/api/v1/realtime/client-secret", { method: "POST", body: { locale } });
      toolsAnswer = await api(`/api/v1/tools?locale=${encodeURIComponent(locale)}`);
    } catch (err) {
      fail(err instanceof ApiError && UNAVAILABLE.has(err.status) ? t("Voice is not available on this server yet.") : err.message);
      return;
    }
    const setup = normalizeSetup(secret, toolsAnswer);
    if (!setup.value) {
      fail(t("Voice is not available right now. Try again later."));
      return;
    }
    let sdk;
    try {
      sdk = await import(SDK_URL);
    } catch {
      fail(t("Voice could not be loaded; reload the page and try again."));
      return;
    }
    try {
      const agent = buildAgent(sdk, setup);
      session = buildSession(sdk, agent, setup, { url: realtimeUrl, mediaStream: microphone });
      session.on("audio_start", () => LIVE.has(state) && show("speaking", t("Donna is speaking…")));
      session.on("audio_stopped", () => LIVE.has(state) && show("listening", t("Listening…")));
      session.on("agent_tool_start", () => LIVE.has(state) && show("thinking", t("Donna is looking…")));
      session.on("agent_tool_end", () => LIVE.has(state) && show("listening", t("Listening…")));
      session.on("history_updated", showTranscript);
      session.on("error", () => {
        if (LIVE.has(state)) fail(t("The voice conversation was interrupted. Click the orb to start again."));
      });
      await session.connect(realtimeUrl ? { apiKey: setup.value, url: realtimeUrl } : { apiKey: setup.value, model: setup.model });
      show("listening", t("Listening… Click the orb to end."));
    } catch {
      fail(t("The voice conversation could not start. Try again in a moment."));
    }
  };

  button.addEventListener("click", () => {
    if (state === "connecting") return;
    if (LIVE.has(state)) hangUp();
    else start();
  });
  dock.hidden = false;
}
