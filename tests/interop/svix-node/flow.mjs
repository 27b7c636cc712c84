// The main flow of a program written against Svix's JavaScript SDK, pointed at Hookline:
// HOOKLINE_URL, HOOKLINE_API_KEY and ENDPOINT_URL from the environment; prints what it saw
// as one JSON object (the test checks it and what the receiver got).
import { ApiException, Svix } from "svix";

const serverUrl = process.env.HOOKLINE_URL;
const svix = new Svix(process.env.HOOKLINE_API_KEY, { serverUrl });

async function status(call) {
  try {
    await call();
    return 0;
  } catch (error) {
    if (error instanceof ApiException) return error.code;
    throw error;
  }
}

async function eventually(read, done) {
  const deadline = Date.now() + 15000;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const app = await svix.application.create({ name: "Node shop", uid: "node-shop" });
await svix.eventType.create({ name: "order.paid", description: "An order was paid" });
const endpoint = await svix.endpoint.create(app.id, {
  url: process.env.ENDPOINT_URL,
  uid: "orders",
  eventTypes: ["order.paid"],
});
const secret = (await svix.endpoint.getSecret(app.id, "orders")).key;
const message = await svix.message.create(app.id, {
  eventType: "order.paid",
  payload: { orderId: "o1" },
  eventId: "order-o1",
});
const first = await eventually(
  () => svix.messageAttempt.listByEndpoint(app.id, endpoint.id),
  (page) => page.data.length === 1,
);
await svix.messageAttempt.resend(app.id, message.id, endpoint.id);
const both = await eventually(
  () => svix.messageAttempt.listByMsg(app.id, message.id),
  (page) => page.data.length === 2,
);
const stats = await svix.endpoint.getStats(app.id, endpoint.id);
const recovered = await svix.endpoint.recover(app.id, endpoint.id, { since: new Date(0) });
await svix.endpoint.rotateSecret(app.id, endpoint.id, {});
const rotated = (await svix.endpoint.getSecret(app.id, endpoint.id)).key;
const portal = await svix.authentication.appPortalAccess(app.id, {});
const messages = await svix.message.list(app.id);

const stranger = new Svix("hk_not_a_key", { serverUrl });
const errors = {
  unknownApp: await status(() => svix.application.get("no-such-app")),
  duplicateUid: await status(() => svix.application.create({ name: "Again", uid: "node-shop" })),
  badUrl: await status(() => svix.endpoint.create(app.id, { url: "not a url" })),
  badToken: await status(() => stranger.application.list()),
};

console.log(
  JSON.stringify({
    app: app.id,
    endpoint: endpoint.id,
    message: message.id,
    secret,
    rotated,
    firstAttempt: first.data.map((a) => [a.status, a.triggerType, a.responseStatusCode]),
    triggers: both.data.map((a) => a.triggerType).sort(),
    stats,
    recoverTask: recovered.task,
    portal,
    messages: messages.data.map((m) => m.id),
    errors,
  }),
);
