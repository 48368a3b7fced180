/**
 * A terminal in a pod (xterm.js, loaded only when opened): pods/exec over a
 * WebSocket speaking the v5 (else v4) channel protocol. Browsers cannot set
 * headers on a WebSocket, so the token rides in the
 * base64url.bearer.authorization.k8s.io.<token> subprotocol, as kube accepts.
 * Frames: first byte the channel (0 stdin, 1 stdout, 2 stderr, 3 the final
 * Status, 4 resize {Width, Height}).
 */
import { Terminal as Xterm } from "@xterm/xterm";
import { useEffect, useRef, useState } from "preact/hooks";
import { getToken } from "../api.ts";
import { Page } from "../components.tsx";

const COLS = 100;
const ROWS = 32;

/** xterm.js adds <style> elements; the strict CSP admits them only with this page load's nonce (index.html's meta). */
function allowXtermStyles(): void {
  const nonce = document.querySelector<HTMLMetaElement>('meta[name="style-nonce"]')?.content;
  const doc = document as Document & { nonceStamped?: boolean };
  if (!nonce || doc.nonceStamped) return;
  doc.nonceStamped = true;
  const create = doc.createElement.bind(doc);
  doc.createElement = ((tag: string, options?: ElementCreationOptions) => {
    const element = create(tag, options);
    if (tag.toLowerCase() === "style") element.setAttribute("nonce", nonce);
    return element;
  }) as typeof doc.createElement;
}

function base64url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

function frame(channel: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(payload.length + 1);
  out[0] = channel;
  out.set(payload, 1);
  return out;
}

/** The terminal page for pod `name` in `namespace`. */
export function TerminalView({ namespace, name }: { namespace: string; name: string }) {
  const host = useRef<HTMLDivElement>(null);
  const [command, setCommand] = useState("sh");
  const [session, setSession] = useState(0);
  const [state, setState] = useState("connecting");
  useEffect(() => {
    if (!host.current) return;
    allowXtermStyles();
    const term = new Xterm({
      cols: COLS,
      rows: ROWS,
      convertEol: false,
      cursorBlink: true,
      screenReaderMode: true,
    });
    term.open(host.current);
    term.focus();
    const query = new URLSearchParams({ stdin: "true", stdout: "true", stderr: "false", tty: "true" });
    for (const word of command.trim().split(/\s+/)) query.append("command", word);
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}/exec`;
    const ws = new WebSocket(`${scheme}://${location.host}${path}?${query}`, [
      "v5.channel.k8s.io",
      "v4.channel.k8s.io",
      `base64url.bearer.authorization.k8s.io.${base64url(getToken() ?? "")}`,
    ]);
    ws.binaryType = "arraybuffer";
    const encoder = new TextEncoder();
    const sendSize = () =>
      ws.readyState === WebSocket.OPEN &&
      ws.send(frame(4, encoder.encode(JSON.stringify({ Width: term.cols, Height: term.rows }))));
    let status = "";
    ws.onopen = () => {
      setState(`connected (${ws.protocol})`);
      sendSize();
    };
    ws.onmessage = (event) => {
      const data = new Uint8Array(event.data as ArrayBuffer);
      if (data[0] === 1 || data[0] === 2) {
        term.write(data.subarray(1));
        // The first output means the process runs: send the size again (one sent earlier may be dropped).
        if (!status) {
          status = " ";
          sendSize();
        }
      } else if (data[0] === 3) status = new TextDecoder().decode(data.subarray(1));
    };
    ws.onclose = () => {
      let end = "session ended";
      try {
        const parsed = JSON.parse(status) as { status?: string; message?: string };
        if (parsed.status === "Failure") end = `session ended: ${parsed.message ?? "failure"}`;
      } catch {
        if (!status) end = "the connection closed (not allowed, or the pod cannot exec)";
      }
      setState(end);
    };
    const input = term.onData(
      (text) => ws.readyState === WebSocket.OPEN && ws.send(frame(0, encoder.encode(text))),
    );
    return () => {
      input.dispose();
      ws.close();
      term.dispose();
    };
  }, [namespace, name, session]);
  return (
    <Page
      title={`Terminal: ${namespace}/${name}`}
      tools={
        <form
          class="toolbar"
          onSubmit={(e) => {
            e.preventDefault();
            setSession((n) => n + 1);
          }}
        >
          <label>
            Command{" "}
            <input value={command} onInput={(e) => setCommand((e.target as HTMLInputElement).value)} />
          </label>
          <button type="submit">Reconnect</button>
          <a href="#/pods">Back to pods</a>
        </form>
      }
    >
      <p class="muted" aria-live="polite" data-testid="terminal-state">
        {state}
      </p>
      <div class="terminal" ref={host} data-testid="terminal" />
    </Page>
  );
}
