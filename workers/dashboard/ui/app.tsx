/** The shell: sign-in, navigation, the namespace filter and hash routing (#/pods, #/logs/<ns>/<pod>, ...). */
import { lazy, Suspense } from "preact/compat";
import { useEffect, useState } from "preact/hooks";
import { clearToken, describeFailure, getToken, onUnauthorized, sendJson, setToken } from "./api.ts";
import { usePolled } from "./hooks.ts";
import { Apply } from "./views/apply.tsx";
import { Config } from "./views/config.tsx";
import { Events } from "./views/events.tsx";
import { Logs } from "./views/logs.tsx";
import { Namespaces } from "./views/namespaces.tsx";
import { Overview } from "./views/overview.tsx";
import { Pods } from "./views/pods.tsx";
import { Services } from "./views/services.tsx";
import { Workloads } from "./views/workloads.tsx";

// xterm.js is loaded only when a terminal opens (it is most of the bundle and most users never need it).
const TerminalView = lazy(() => import("./views/terminal.tsx").then((m) => m.TerminalView));

const NAV = [
  ["overview", "Overview"],
  ["pods", "Pods"],
  ["workloads", "Workloads"],
  ["services", "Services"],
  ["config", "Config & Secrets"],
  ["events", "Events"],
  ["namespaces", "Namespaces"],
  ["apply", "Apply YAML"],
] as const;

const NS_KEY = "edgeplane.dashboard.namespace";

function route(): string[] {
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  return parts[0] ? parts : ["overview"];
}

/** Who the token belongs to (SelfSubjectReview), which also proves the server accepts it. */
async function whoAmI(token: string): Promise<string> {
  setToken(token);
  try {
    const review = await sendJson<{ status?: { userInfo?: { username?: string } } }>(
      "POST",
      "/apis/authentication.k8s.io/v1/selfsubjectreviews",
      { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
      "application/json",
      true, // a review stores nothing: sending it again after a network failure is harmless
    );
    return review.status?.userInfo?.username ?? "unknown user";
  } catch (error) {
    clearToken();
    throw error;
  }
}

function SignIn({ onSignedIn, notice }: { onSignedIn(user: string): void; notice?: string }) {
  const [token, setTokenText] = useState("");
  const [error, setError] = useState(notice ?? "");
  const [busy, setBusy] = useState(false);
  return (
    <main class="signin">
      <h1>Edgeplane dashboard</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setBusy(true);
          setError("");
          whoAmI(token.trim()).then(onSignedIn, (err) => {
            setError(describeFailure(err));
            setBusy(false);
          });
        }}
      >
        <label for="token">Bearer token</label>
        <input
          id="token"
          type="password"
          autocomplete="off"
          required
          value={token}
          onInput={(e) => setTokenText((e.target as HTMLInputElement).value)}
          aria-describedby="token-help"
        />
        <p id="token-help" class="muted">
          The kubeconfig's token, a user token or a ServiceAccount token (kubectl create token NAME). It is
          kept in this tab's session storage only; every request goes to the Kubernetes API as you, so RBAC
          applies.
        </p>
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}

function NamespacePicker({ value, onChange }: { value: string; onChange(ns: string): void }) {
  const { data } = usePolled<{ items: { metadata: { name: string } }[] }>("/api/v1/namespaces", 30_000);
  const names = data?.items.map((n) => n.metadata.name) ?? [];
  if (value && !names.includes(value)) names.push(value);
  return (
    <label class="ns">
      Namespace{" "}
      <select value={value} onChange={(e) => onChange((e.target as HTMLSelectElement).value)}>
        <option value="">all namespaces</option>
        {names.sort().map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>
    </label>
  );
}

/** The whole app. */
export function App() {
  // A reload keeps the session: the pages start loading at once while the stored token is checked beside them
  // (a rejected token comes back to the sign-in form through onUnauthorized).
  const [user, setUser] = useState<string | null>(getToken() ? "…" : null);
  const [notice, setNotice] = useState<string>();
  const [path, setPath] = useState(route());
  const [namespace, setNamespaceState] = useState(sessionStorage.getItem(NS_KEY) ?? "default");
  const setNamespace = (ns: string) => {
    sessionStorage.setItem(NS_KEY, ns);
    setNamespaceState(ns);
  };

  useEffect(() => {
    const onHash = () => setPath(route());
    addEventListener("hashchange", onHash);
    return () => removeEventListener("hashchange", onHash);
  }, []);
  useEffect(
    () =>
      onUnauthorized(() => {
        clearToken();
        setUser(null);
        setNotice("The API server no longer accepts this token (401 Unauthorized). Sign in again.");
      }),
    [],
  );
  useEffect(() => {
    const token = getToken();
    if (!token) return;
    whoAmI(token).then(setUser, (error) => {
      setUser(null);
      setNotice(describeFailure(error));
    });
  }, []);

  if (!user) return <SignIn onSignedIn={setUser} notice={notice} />;
  const [view, a, b] = path;
  let page = <Overview />;
  if (view === "pods") page = <Pods namespace={namespace} />;
  else if (view === "logs" && a && b) page = <Logs namespace={a} name={b} />;
  else if (view === "exec" && a && b)
    page = (
      <Suspense fallback={<p class="muted">Loading the terminal…</p>}>
        <TerminalView namespace={a} name={b} />
      </Suspense>
    );
  else if (view === "workloads") page = <Workloads namespace={namespace} />;
  else if (view === "services") page = <Services namespace={namespace} />;
  else if (view === "config") page = <Config namespace={namespace} />;
  else if (view === "events") page = <Events namespace={namespace} />;
  else if (view === "namespaces")
    page = (
      <Namespaces
        choose={(ns) => {
          setNamespace(ns);
          location.hash = "#/pods";
        }}
      />
    );
  else if (view === "apply") page = <Apply namespace={namespace} />;
  const current = view === "logs" || view === "exec" ? "pods" : view;
  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header>
        <span class="brand">Edgeplane</span>
        <NamespacePicker value={namespace} onChange={setNamespace} />
        <span class="user">
          Signed in as <strong data-testid="user">{user}</strong>{" "}
          <button
            type="button"
            onClick={() => {
              clearToken();
              setUser(null);
              setNotice(undefined);
            }}
          >
            Sign out
          </button>
        </span>
      </header>
      <nav aria-label="Sections">
        <ul>
          {NAV.map(([id, title]) => (
            <li key={id}>
              <a href={`#/${id}`} aria-current={current === id ? "page" : undefined}>
                {title}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </div>
  );
}
