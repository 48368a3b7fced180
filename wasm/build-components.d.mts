/** Path of the built HTTP component, building it first when missing (wasm/build/http-hello.wasm). */
export function ensureComponents(): Promise<{ httpHello: string }>;
