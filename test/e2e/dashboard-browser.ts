/**
 * Headless Chromium for the dashboard's e2e test and bench: Debian's
 * /usr/bin/chromium (scripts/debian-packages.txt) driven by playwright-core,
 * which downloads no browser of its own. The flags keep Chromium off the
 * network it cannot reach here (no background fetches, no QUIC, no sync).
 */
import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

/** Where setup-host.sh installs Debian's chromium. */
export const CHROMIUM = process.env.EDGEPLANE_CHROMIUM ?? "/usr/bin/chromium";

/** Launch headless Chromium, or fail saying how to install it. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} not found: install Debian's chromium (bash scripts/setup-host.sh)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
}

/**
 * Run a navigation again when Chromium aborts it with ERR_NETWORK_CHANGED: other tests on the host add and
 * remove network interfaces (netns, bridges), and Chromium drops in-flight loads when it sees that.
 */
export async function navigating<T>(load: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await load();
    } catch (error) {
      if (i >= attempts || !/ERR_NETWORK_CHANGED/.test(String(error))) throw error;
    }
  }
}
