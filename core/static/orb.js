// The voice orb ("Donna"): a WebRTC session with the OpenAI Realtime API through @openai/agents-realtime.
//
// Click → POST /api/v1/realtime/client-secret (ephemeral key; the server keeps OPENAI_API_KEY)
//       → GET /api/v1/tools (tool schemas; may carry instructions/model/voice)
//       → import the vendored SDK, build a RealtimeAgent with the server's instructions, voice and
//         one tool() per entry whose execute POSTs /api/v1/tools/<name>/invoke (authorized again
//         by the server), and connect a RealtimeSession with the ephemeral key.
// Click again to hang up.
import { api, ApiError, itemsOf } from "./js/api.js";

export const SDK_URL = "/static/vendor/agents-realtime.js";
export const DEFAULT_MODEL = "gpt-realtime";
/** Used only when the server sends no instructions: an agent without any would blank the session's. */
const FALLBACK_INSTRUCTIONS = "You are Donna, a concise, friendly scheduling assistant. Use the tools you have; "
  + "say plainly when something is not connected.";
const EMPTY_PARAMETERS = { type: "object", properties: {}, required: [], additionalProperties: false };

/**
 * Merge the client-secret answer and the tools answer into one setup:
 * `{value, expiresAt, instructions, model, voice, tools}`. Both answers are read defensively.
 */
export function normalizeSetup(secret, toolsAnswer) {
  const s = secret && typeof secret === "object" ? secret : {};
  const t = toolsAnswer && typeof toolsAnswer === "object" && !Array.isArray(toolsAnswer) ? toolsAnswer : {};
  const session = s.session && typeof s.session === "object" ? s.session : {};
  const list = Array.isArray(toolsAnswer) ? toolsAnswer : Array.isArray(t.tools) ? t.tools : itemsOf(t);
  return {
    value: s.value || (s.client_secret && s.client_secret.value) || null,
    expiresAt: s.expires_at || (s.client_secret && s.client_secret.expires_at) || null,
    instructions: t.instructions || s.instructions || session.instructions || null,
    model: t.model || s.model || session.model || DEFAULT_MODEL,
    voice: t.voice || s.voice || (session.audio && session.audio.output && session.audio.output.voice) || null,
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
  const config = { name: "Donna", instructions: setup.instructions || FALLBACK_INSTRUCTIONS, tools };
  if (setup.voice) config.voice = setup.voice;
  return new sdk.RealtimeAgent(config);
}

/** A RealtimeSession for `agent` over WebRTC (the browser handles microphone and speaker). */
export function buildSession(sdk, agent, setup) {
  return new sdk.RealtimeSession(agent, { transport: "webrtc", model: setup.model });
}

const UNAVAILABLE = new Set([404, 405, 501]);

/** Wire the orb button: state in `data-state` (idle, connecting, live, speaking, error). */
export function mountOrb({ button, status, dock, label }) {
  let session = null;
  let state = "idle";

  const show = (next, text) => {
    state = next;
    button.dataset.state = next;
    dock.dataset.state = next;
    button.setAttribute("aria-pressed", String(next === "live" || next === "speaking"));
    label.textContent = next === "live" || next === "speaking" ? "End the voice conversation with Donna"
      : "Start a voice conversation with Donna";
    if (text !== undefined) status.textContent = text;
  };

  const hangUp = (text = "Conversation ended. Talk to Donna again any time.") => {
    if (session) {
      try { session.close(); } catch { /* already closed */ }
    }
    session = null;
    show("idle", text);
  };

  const start = async () => {
    show("connecting", "Connecting to Donna…");
    let secret;
    let toolsAnswer;
    try {
      secret = await api("/api/v1/realtime/client-secret", { method: "POST" });
      toolsAnswer = await api("/api/v1/tools").catch((err) => {
        if (err instanceof ApiError && UNAVAILABLE.has(err.status)) return [];
        throw err;
      });
    } catch (err) {
      const text = err instanceof ApiError && UNAVAILABLE.has(err.status)
        ? "Voice is not available on this server yet." : err.message;
      show("error", text);
      return;
    }
    const setup = normalizeSetup(secret, toolsAnswer);
    if (!setup.value) {
      show("error", "The server sent no voice session key.");
      return;
    }
    let sdk;
    try {
      sdk = await import(SDK_URL);
    } catch {
      show("error", "The voice SDK could not be loaded; reload the page and try again.");
      return;
    }
    try {
      const agent = buildAgent(sdk, setup);
      session = buildSession(sdk, agent, setup);
      session.on("audio_start", () => state !== "idle" && show("speaking"));
      session.on("audio_stopped", () => state !== "idle" && show("live"));
      session.on("agent_tool_start", (_ctx, _agent, tool) => show(state, `Working: ${tool && tool.name ? tool.name.replaceAll("_", " ") : "a tool"}…`));
      session.on("agent_tool_end", () => show(state, "Listening…"));
      session.on("error", (event) => {
        const detail = event && event.error && (event.error.message || (event.error.error && event.error.error.message));
        status.textContent = `Voice error: ${detail || "the connection had a problem"}.`;
      });
      await session.connect({ apiKey: setup.value, model: setup.model });
      show("live", `Listening… ${setup.tools.length} tool${setup.tools.length === 1 ? "" : "s"} ready. Click the orb to end.`);
    } catch (err) {
      session = null;
      const denied = err && (err.name === "NotAllowedError" || err.name === "SecurityError");
      show("error", denied ? "Donna needs your microphone: allow it in the browser and try again."
        : `Could not start the voice session: ${err && err.message ? err.message : err}`);
    }
  };

  button.addEventListener("click", () => {
    if (state === "connecting") return;
    if (state === "live" || state === "speaking") hangUp();
    else start();
  });
  dock.hidden = false;
}
