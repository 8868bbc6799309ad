// Live transcription from the microphone, in the try-it panel: getUserMedia -> an AudioWorklet
// (mic-worklet.js: 16 kHz mono s16le PCM in 100 ms frames) -> WS /v1/speech/transcribe/stream
// (docs/streaming.md). Partials show in place; finals are appended; `done` sums up the session.
// A browser cannot set headers on a WebSocket, so the admin key (if any) travels as the
// subprotocols ["bearer", key] (docs/streaming.md), which only a key made of token characters can.

import { h, replace, session } from "/dashboard/util.js";

const PATH = "/v1/speech/transcribe/stream";
const live = { socket: null, context: null, stream: null, node: null, partials: 0, finals: 0 };

export function initLive() {
  document.getElementById("live-start").addEventListener("click", start);
  document.getElementById("live-stop").addEventListener("click", stop);
}

function status(text, error = false) {
  replace("live-status", h("span", { class: error ? "error" : "muted" }, text));
}

function buttons(running) {
  document.getElementById("live-start").disabled = running;
  document.getElementById("live-stop").disabled = !running;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/; // what a subprotocol may hold (an HTTP token)

function subprotocols() {
  if (!session.key) return [];
  if (!TOKEN.test(session.key)) {
    throw new Error("this key holds characters a WebSocket subprotocol cannot carry (only letters, digits and !#$%&'*+-.^_`|~)");
  }
  return ["bearer", session.key];
}

async function start() {
  buttons(true);
  live.partials = 0;
  live.finals = 0;
  const panel = document.getElementById("live-panel");
  panel.dataset.partials = "0";
  panel.dataset.finals = "0";
  replace("live-finals");
  replace("live-partial");
  replace("live-done");
  try {
    status("asking for the microphone...");
    live.stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
    live.context = new AudioContext();
    await live.context.audioWorklet.addModule("/dashboard/mic-worklet.js");
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}${PATH}`, subprotocols());
    socket.binaryType = "arraybuffer";
    live.socket = socket;
    socket.addEventListener("open", () => opened(socket));
    socket.addEventListener("message", (event) => message(event.data));
    socket.addEventListener("close", (event) => closed(event));
  } catch (error) {
    status(`cannot start: ${error.message || error}`, true);
    release();
    buttons(false);
  }
}

function opened(socket) {
  const language = document.getElementById("live-language").value.trim();
  const start = { type: "start", encoding: "pcm_s16le", sample_rate: 16000, interim: true };
  if (language) start.language = language;
  socket.send(JSON.stringify(start));
  const source = live.context.createMediaStreamSource(live.stream);
  live.node = new AudioWorkletNode(live.context, "pcm-frames");
  live.node.port.onmessage = (event) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(event.data);
  };
  source.connect(live.node);
  status(`listening (${live.context.sampleRate} Hz from the microphone, sent as 16 kHz PCM)`);
}

function message(data) {
  let event;
  try { event = JSON.parse(data); } catch { return; }
  const panel = document.getElementById("live-panel");
  if (event.type === "partial") {
    live.partials += 1;
    panel.dataset.partials = String(live.partials);
    replace("live-partial", event.text);
  } else if (event.type === "final") {
    live.finals += 1;
    panel.dataset.finals = String(live.finals);
    replace("live-partial");
    document.getElementById("live-finals").append(
      h("li", { title: `${event.start_s.toFixed(2)}-${event.end_s.toFixed(2)} s` }, event.text, " ",
        h("small", { class: "muted" }, `(${event.provider})`)));
  } else if (event.type === "done") {
    const providers = (event.providers || []).map((p) => `${p.provider} ${p.audio_s.toFixed(1)} s`).join(", ");
    replace("live-done", h("p", { id: "live-summary" },
      `done: ${event.audio_s.toFixed(1)} s of audio, $${event.cost_usd.toFixed(6)}, ${providers || "no provider"}`,
      event.failovers ? `, ${event.failovers} failover(s)` : "", `; request ${event.request_id}`));
  } else if (event.type === "error") {
    status(`${event.code}: ${event.reason}`, true);
  }
}

function closed(event) {
  release();
  buttons(false);
  if (event.code === 1000) status("session ended");
  else if (!document.querySelector("#live-status .error")) status(`closed ${event.code}: ${event.reason || "no reason"}`, true);
}

function stop() {
  document.getElementById("live-stop").disabled = true;
  const socket = live.socket;
  release();
  if (socket && socket.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify({ type: "end" }));
    status("finishing: waiting for the last words...");
  }
}

function release() {
  if (live.node) { live.node.port.onmessage = null; live.node.disconnect(); live.node = null; }
  if (live.stream) { for (const track of live.stream.getTracks()) track.stop(); live.stream = null; }
  if (live.context) { live.context.close(); live.context = null; }
}
