// Drives max-a2a with the official A2A JavaScript SDK and prints, one JSON line per event or
// answer, what the SDK's client handed back; tests/a2a/test_js_client.py asserts on them.
//   node client.mjs <base URL> <sdk: 1.3 | 0.3> <binding: JSONRPC | HTTP+JSON> <talk | cancel>
// talk: read the card, ask, follow up in the context, meet an approval (input-required), try to
// cancel it, approve it, get a task, get an unknown task. cancel: ask, and cancel the task as
// soon as it exists (the test has PostHog hold the answer), then get it.
// 1.3 is @a2a-js/sdk 1.3.0 (A2A 1.0, protobuf-shaped objects); 0.3 is @a2a-js/sdk 0.3.14, the
// last release that speaks A2A 0.3 (`kind`-tagged objects), as older clients still do.
import { randomUUID } from "node:crypto";

const [url, sdk, binding, scenario] = process.argv.slice(2);
const say = (step, value) => process.stdout.write(JSON.stringify({ step, value }) + "\n");

const { ClientFactory, ClientFactoryOptions, JsonRpcTransportFactory, RestTransportFactory } =
  await import(sdk === "0.3" ? "a2a-sdk-0.3/client" : "@a2a-js/sdk/client");

// One user message in each SDK's own types, as its users write it.
function message({ text, data, contextId, taskId }) {
  if (sdk === "0.3") {
    const parts = [];
    if (text !== undefined) parts.push({ kind: "text", text });
    if (data !== undefined) parts.push({ kind: "data", data });
    return { message: { kind: "message", messageId: randomUUID(), role: "user", parts, contextId, taskId } };
  }
  const parts = [];
  if (text !== undefined) parts.push({ content: { $case: "text", value: text } });
  if (data !== undefined) parts.push({ content: { $case: "data", value: data } });
  return {
    message: {
      messageId: randomUUID(),
      contextId: contextId ?? "",
      taskId: taskId ?? "",
      role: 1, // Role.ROLE_USER
      parts,
      metadata: undefined,
      extensions: [],
      referenceTaskIds: [],
    },
    configuration: undefined,
    metadata: undefined,
    tenant: "",
  };
}

// The task an event stream opened with, in either SDK's shape.
const taskOf = (events) =>
  sdk === "0.3"
    ? events.find((e) => e.kind === "task")
    : events.find((e) => e.payload?.$case === "task").payload.value;

const taskId = (id) => (sdk === "0.3" ? { id } : { id, tenant: "" });

// Every event of one streamed send, each printed as it arrives; `onTask` runs on the first task.
async function stream(client, step, request, onTask = undefined) {
  const events = [];
  for await (const event of client.sendMessageStream(request)) {
    events.push(event);
    say(step, event);
    if (onTask && events.length === 1) await onTask(taskOf(events));
  }
  return events;
}

// A call's answer, or the error it raised (its class says which A2A error the SDK saw).
async function outcome(call) {
  try {
    return { result: await call() };
  } catch (error) {
    return { error: error.constructor.name, message: error.message };
  }
}

const factory = new ClientFactory(
  ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
    transports: [new JsonRpcTransportFactory(), new RestTransportFactory()],
    preferredTransports: [binding],
  }),
);
const client = await factory.createFromUrl(url);
say("card", await client.getAgentCard());
say("transport", { protocolName: client.transport.protocolName ?? null });

if (scenario === "cancel") {
  let canceled;
  const question = message({ text: "How many users signed up last week?" });
  const events = await stream(client, "ask", question, async (task) => {
    canceled = await outcome(() => client.cancelTask(taskId(task.id)));
  });
  say("cancel", canceled);
  say("get", await outcome(() => client.getTask(taskId(taskOf(events).id))));
  process.exit(0);
}

const asked = taskOf(await stream(client, "ask", message({ text: "How many users signed up last week?" })));
await stream(client, "follow-up", message({ text: "And the week before?", contextId: asked.contextId }));

const paused = taskOf(await stream(client, "approval", message({ text: "Delete the onboarding dashboard" })));
say("cancel-waiting", await outcome(() => client.cancelTask(taskId(paused.id))));
const approve = { data: { decision: "approve" }, taskId: paused.id, contextId: paused.contextId };
await stream(client, "approve", message(approve));

say("get", await outcome(() => client.getTask(taskId(asked.id))));
say("unknown", await outcome(() => client.getTask(taskId("no-such-task"))));
