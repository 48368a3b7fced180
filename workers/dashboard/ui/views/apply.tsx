/**
 * Apply YAML: each document is sent as a server-side apply (PATCH,
 * application/apply-patch+yaml, fieldManager=dashboard) to the path discovery
 * gives for its kind; the server's answer is shown per document, its Status
 * causes field by field.
 */
import { useState } from "preact/hooks";
import { parseAllDocuments } from "yaml";
import { ApiFailure, api, type Cause, collectionPath, describeFailure, getJson } from "../api.ts";
import { Page } from "../components.tsx";

interface Outcome {
  title: string;
  ok: boolean;
  message: string;
  causes: Cause[];
}

interface ResourceList {
  resources: { name: string; kind: string; namespaced: boolean }[];
}

const discovery = new Map<string, Promise<ResourceList>>();

/** The resource (plural) and scope of `kind` in `apiVersion`, from the API's discovery document. */
async function resourceOf(apiVersion: string, kind: string): Promise<{ name: string; namespaced: boolean }> {
  let list = discovery.get(apiVersion);
  if (!list) {
    list = getJson<ResourceList>(apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`);
    discovery.set(apiVersion, list);
    list.catch(() => discovery.delete(apiVersion));
  }
  const found = (await list).resources.find((r) => r.kind === kind && !r.name.includes("/"));
  if (!found) throw new Error(`the server has no kind ${kind} in ${apiVersion}`);
  return found;
}

async function applyOne(doc: Record<string, unknown>, namespace: string, force: boolean): Promise<Outcome> {
  const apiVersion = String(doc.apiVersion ?? "");
  const kind = String(doc.kind ?? "");
  const meta = (doc.metadata ?? {}) as { name?: string; namespace?: string };
  const title = `${kind || "?"} ${meta.namespace ? `${meta.namespace}/` : ""}${meta.name ?? "?"}`;
  try {
    if (!apiVersion || !kind) throw new Error("each document needs apiVersion and kind");
    if (!meta.name) throw new Error("each document needs metadata.name");
    const resource = await resourceOf(apiVersion, kind);
    const ns = resource.namespaced ? (meta.namespace ?? (namespace || "default")) : "";
    const query = new URLSearchParams({ fieldManager: "dashboard", force: String(force) });
    const response = await api(
      `${collectionPath(apiVersion, resource.name, ns)}/${encodeURIComponent(meta.name)}?${query}`,
      {
        method: "PATCH",
        headers: { "Content-Type": "application/apply-patch+yaml" },
        body: JSON.stringify(doc),
      },
    );
    const applied = (await response.json()) as { metadata?: { resourceVersion?: string } };
    return {
      title,
      ok: true,
      message: `applied (resourceVersion ${applied.metadata?.resourceVersion ?? "?"})`,
      causes: [],
    };
  } catch (error) {
    return {
      title,
      ok: false,
      message: describeFailure(error),
      causes: error instanceof ApiFailure ? error.causes : [],
    };
  }
}

/** The apply page. */
export function Apply({ namespace }: { namespace: string }) {
  const [text, setText] = useState("");
  const [force, setForce] = useState(false);
  const [busy, setBusy] = useState(false);
  const [outcomes, setOutcomes] = useState<Outcome[]>([]);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    const results: Outcome[] = [];
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length) {
        results.push({
          title: "YAML",
          ok: false,
          message: doc.errors.map((x) => x.message).join("; "),
          causes: [],
        });
        continue;
      }
      const value = doc.toJSON();
      if (value === null || value === undefined) continue;
      if (typeof value !== "object" || Array.isArray(value)) {
        results.push({ title: "YAML", ok: false, message: "a document must be an object", causes: [] });
        continue;
      }
      results.push(await applyOne(value as Record<string, unknown>, namespace, force));
    }
    setOutcomes(results);
    setBusy(false);
  }

  return (
    <Page title="Apply YAML">
      <form onSubmit={submit} class="apply">
        <label for="yaml">
          Manifests (server-side apply as field manager "dashboard"; namespace {namespace || "default"} unless
          set)
        </label>
        <textarea
          id="yaml"
          rows={18}
          spellcheck={false}
          value={text}
          onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
        />
        <div class="toolbar">
          <label>
            <input
              type="checkbox"
              checked={force}
              onChange={(e) => setForce((e.target as HTMLInputElement).checked)}
            />{" "}
            Force (take over fields other managers own)
          </label>
          <button type="submit" disabled={busy || !text.trim()}>
            {busy ? "Applying…" : "Apply"}
          </button>
        </div>
      </form>
      <ul class="outcomes" aria-live="polite" aria-label="Apply results">
        {outcomes.map((o, i) => (
          <li key={i} class={o.ok ? "ok" : "bad"}>
            <strong>{o.title}</strong>: {o.message}
            {o.causes.length > 0 && (
              <table>
                <caption class="sr-only">Field errors of {o.title}</caption>
                <thead>
                  <tr>
                    <th scope="col">Field</th>
                    <th scope="col">Reason</th>
                    <th scope="col">Message</th>
                  </tr>
                </thead>
                <tbody>
                  {o.causes.map((c, j) => (
                    <tr key={j}>
                      <td>
                        <code>{c.field ?? ""}</code>
                      </td>
                      <td>{c.reason ?? ""}</td>
                      <td>{c.message ?? ""}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </li>
        ))}
      </ul>
    </Page>
  );
}
