/** The placeholder in the built index.html that the Worker replaces with each response's CSP style nonce. */
export const STYLE_NONCE_PLACEHOLDER = "__EDGEPLANE_STYLE_NONCE__";
