/** Entry point: mount the app (esbuild bundles this with ./style.css into hashed assets). */
import { render } from "preact";
import { App } from "./app.tsx";
import "@xterm/xterm/css/xterm.css";
import "./style.css";

render(<App />, document.getElementById("app")!);
