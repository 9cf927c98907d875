// A Node.js client of the public API, built from protos/ alone (no Python):
// proves that a client in another language can call, stream and read rich errors.
// Usage: node chat_client.js ADDRESS API_KEY  -> prints one JSON line of results.
"use strict";
const path = require("path");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

const [address, apiKey] = process.argv.slice(2);
const root = path.resolve(__dirname, "../../../protos");
const definition = protoLoader.loadSync(path.join(root, "keel/v1/chat.proto"), {
  includeDirs: [root],
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
});
const keel = grpc.loadPackageDefinition(definition).keel.v1;
const client = new keel.ChatService(address, grpc.credentials.createInsecure());

function auth(key) {
  const md = new grpc.Metadata();
  if (key) md.set("authorization", `Bearer ${key}`);
  return md;
}

const request = { messages: [{ role: "user", content: "Hello from Node.js" }] };
const deadline = () => new Date(Date.now() + 10000);

function unary(key) {
  return new Promise((resolve) => {
    client.Generate(request, auth(key), { deadline: deadline() }, (err, reply) =>
      resolve(err ? { code: err.code, details: err.details,
                      hasRichStatus: err.metadata.get("grpc-status-details-bin").length > 0 }
                  : reply));
  });
}

function stream() {
  return new Promise((resolve, reject) => {
    const messages = [];
    const call = client.StreamGenerate(request, auth(apiKey), { deadline: deadline() });
    call.on("data", (m) => messages.push(m));
    call.on("error", reject);
    call.on("end", () => resolve(messages));
  });
}

(async () => {
  const reply = await unary(apiKey);
  const messages = await stream();
  const denied = await unary("");
  const last = messages[messages.length - 1];
  console.log(JSON.stringify({
    unaryText: reply.text,
    unaryUsage: reply.usage,
    streamText: messages.slice(0, -1).map((m) => m.text).join(""),
    streamMessages: messages.length,
    finalUsage: last.usage,
    finalProvenance: last.provenance,
    unauthenticated: denied,
  }));
  client.close();
})().catch((err) => { console.error(err); process.exit(1); });
