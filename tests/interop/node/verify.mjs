// Third-party receivers in Node, written from the seed documents' verification steps.
//
// Reads {"requests": [...]} on stdin and writes one verdict per request, in order, as a JSON
// array on stdout. A request is
//   {"kind": "disqua", "rawBody", "signature", "timestamp", "secret"}
//     -> HMAC-SHA256(secret, `${timestamp}.${rawBody}`) in hex, the `sha256=` prefix stripped,
//        compared with crypto.timingSafeEqual; older than 5 minutes is refused (Disqua seed).
//   {"kind": "disco", "method", "url", "urlObject"?, "headers", "rawBody", "secret",
//    "maxAge"?, "tolerance"?}
//     -> httpbis.verifyMessage with a key lookup that knows one secret and
//        createVerifier(secret, "hmac-sha256"), then Content-Digest recomputed from
//        JSON.stringify of the parsed body (Disco seed). `url` is passed as the string given,
//        or as `new URL(url)` when urlObject is true. The seed passes neither maxAge nor
//        tolerance; docs/receiving.md recommends both, and they are passed on when given.
//   {"kind": "svix", "headers", "rawBody", "secret"}
//     -> new Webhook(secret).verify(rawBody, headers) of the official `svix` package, as a
//        receiver written against Svix calls it; the verdict carries the payload it returns.
// A verdict is {"ok": bool, ...details, "error"?: message}.

import crypto from "node:crypto";
import { createVerifier, httpbis } from "http-message-signatures";
import { Webhook } from "svix";

const REPLAY_WINDOW_SECONDS = 5 * 60;

function disqua({ rawBody, signature, timestamp, secret }) {
  if (!signature || !timestamp) return { ok: false, error: "missing signature or timestamp" };
  const age = Math.abs(Date.now() / 1000 - Number(timestamp));
  if (!(age <= REPLAY_WINDOW_SECONDS)) return { ok: false, error: "timestamp outside 5 minutes" };
  const expected = crypto
    .createHmac("sha256", secret)
    .update(`${timestamp}.${rawBody}`, "utf8")
    .digest("hex");
  const received = signature.replace("sha256=", "");
  const a = Buffer.from(expected, "hex");
  const b = Buffer.from(received, "hex");
  // timingSafeEqual throws on different lengths: a malformed signature is simply wrong.
  return { ok: a.length === b.length && crypto.timingSafeEqual(a, b) };
}

function header(headers, name) {
  const found = Object.entries(headers).find(([key]) => key.toLowerCase() === name.toLowerCase());
  return found ? found[1] : undefined;
}

async function disco({ method, url, urlObject, headers, rawBody, secret, maxAge, tolerance }) {
  const request = {
    method,
    url: urlObject ? new URL(url) : url,
    headers,
    body: JSON.parse(rawBody),
  };
  let verified;
  try {
    verified = Boolean(
      await httpbis.verifyMessage(
        {
          keyLookup: async () => ({
            id: "shared-secret",
            alg: ["hmac-sha256"],
            verify: createVerifier(secret, "hmac-sha256"),
          }),
          ...(maxAge === undefined ? {} : { maxAge }),
          ...(tolerance === undefined ? {} : { tolerance }),
        },
        request,
      ),
    );
  } catch (error) {
    return { ok: false, verified: false, error: String(error?.message ?? error) };
  }
  const contentDigest = header(request.headers, "Content-Digest");
  const data = JSON.stringify(request.body);
  const expectedDigest = `sha-512=:${crypto.createHash("sha512").update(data).digest("base64")}:`;
  const digestMatches = contentDigest === expectedDigest;
  return {
    ok: verified && digestMatches,
    verified,
    digestMatches,
    reserializedSame: data === rawBody,
  };
}

function svix({ headers, rawBody, secret }) {
  try {
    return { ok: true, payload: new Webhook(secret).verify(rawBody, headers) };
  } catch (error) {
    return { ok: false, error: String(error?.message ?? error) };
  }
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const { requests } = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  const verdicts = [];
  for (const request of requests) {
    if (request.kind === "disqua") verdicts.push(disqua(request));
    else if (request.kind === "disco") verdicts.push(await disco(request));
    else if (request.kind === "svix") verdicts.push(svix(request));
    else verdicts.push({ ok: false, error: `unknown kind ${request.kind}` });
  }
  process.stdout.write(JSON.stringify(verdicts));
}

await main();
