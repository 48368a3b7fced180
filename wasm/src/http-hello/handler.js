// A wasi:http/incoming-handler component: answers every request with a
// greeting and the request path. Built with `jco componentize` by
// wasm/build-components.mjs (slow, so cached in wasm/build/).
import { Fields, OutgoingBody, OutgoingResponse, ResponseOutparam } from "wasi:http/types@0.2.12";

export const incomingHandler = {
  handle(request, responseOut) {
    const path = request.pathWithQuery() ?? "/";
    const headers = new Fields();
    headers.append("content-type", new TextEncoder().encode("text/plain"));
    const response = new OutgoingResponse(headers);
    response.setStatusCode(200);
    const body = response.body();
    const stream = body.write();
    stream.blockingWriteAndFlush(
      new TextEncoder().encode(`hello from a wasi:http component, path ${path}\n`),
    );
    stream[Symbol.dispose]();
    OutgoingBody.finish(body, undefined);
    ResponseOutparam.set(responseOut, { tag: "ok", val: response });
  },
};
