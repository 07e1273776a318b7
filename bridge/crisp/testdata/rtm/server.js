// A reference Socket.IO v4 server speaking Crisp's RTM handshake, driven by the Go RTM tests.
//
// Usage: node server.js '{"username":"id","password":"key","pingInterval":150,"pingTimeout":1000}'
// (run with NODE_PATH pointing at bridge/crisp/testdata/node/node_modules).
//
// Prints {"port":N} once listening on 127.0.0.1, then one JSON line per notable thing:
//   {"event":"connection","id","eio"}                     a socket joined the default namespace
//   {"event":"authentication","id","eio","ok","payload"}  an authentication payload arrived
//   {"event":"heartbeat","id","eio"}                      a pong (EIO4) or ping (EIO3) arrived
//   {"event":"disconnect","id","eio","reason"}            a socket left
// Commands on stdin, one JSON object a line; each is answered with {"reply":<cmd>, ...}:
//   {"cmd":"emit","event":name,"items":[data,...]}  emit name(data) to every authenticated socket
//   {"cmd":"raw","frames":[text,...],"binary":[base64,...]}  write raw WebSocket frames (text, then
//                                                    binary) to every authenticated socket, in order
//   {"cmd":"drop","how":"disconnect"|"terminate"}   Socket.IO disconnect, or cut the TCP connection
//   {"cmd":"silence"}                               stop pinging, answering pings and sending anything
//                                                    on the current connections (a dead peer)
//   {"cmd":"state"}                                 list sockets
"use strict";

const http = require("http");
const readline = require("readline");
const { Server } = require("socket.io");

const opts = Object.assign(
  { tier: "plugin", username: "", password: "", pingInterval: 25000, pingTimeout: 20000 },
  JSON.parse(process.argv[2] || "{}"),
);

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

const httpServer = http.createServer();
const io = new Server(httpServer, {
  path: "/p/1/",
  allowEIO3: true,
  transports: ["websocket"],
  serveClient: false,
  pingInterval: opts.pingInterval,
  pingTimeout: opts.pingTimeout,
});

io.on("connection", (socket) => {
  const base = { id: socket.id, eio: socket.conn.protocol };
  out({ event: "connection", ...base });
  socket.conn.on("heartbeat", () => out({ event: "heartbeat", ...base }));
  socket.on("authentication", (payload) => {
    const ok = !!payload && payload.tier === opts.tier && payload.username === opts.username &&
      payload.password === opts.password;
    out({ event: "authentication", ...base, ok, payload });
    if (ok) {
      socket.data.authed = true;
      socket.join("authed");
      socket.emit("authenticated", true);
    } else {
      socket.emit("unauthorized", { message: "Invalid token" });
      socket.disconnect(true);
    }
  });
  socket.on("disconnect", (reason) => out({ event: "disconnect", ...base, reason }));
});

async function authed() {
  return (await io.in("authed").fetchSockets()).map((s) => io.of("/").sockets.get(s.id)).filter(Boolean);
}

async function run(cmd) {
  switch (cmd.cmd) {
    case "emit": {
      const sockets = await authed();
      for (const data of cmd.items) {
        io.to("authed").emit(cmd.event, data);
      }
      return { sockets: sockets.length };
    }
    case "raw": {
      const sockets = await authed();
      for (const s of sockets) {
        const ws = s.conn.transport.socket;
        for (const f of cmd.frames || []) ws.send(f);
        for (const b of cmd.binary || []) ws.send(Buffer.from(b, "base64"));
      }
      return { sockets: sockets.length };
    }
    case "drop": {
      const sockets = [...io.of("/").sockets.values()];
      for (const s of sockets) {
        if (cmd.how === "terminate") s.conn.transport.socket.terminate();
        else s.disconnect(true);
      }
      return { sockets: sockets.length };
    }
    case "silence": {
      const sockets = [...io.of("/").sockets.values()];
      for (const s of sockets) {
        const conn = s.conn;
        clearTimeout(conn.pingIntervalTimer);
        clearTimeout(conn.pingTimeoutTimer);
        conn.pingTimeoutTimer = null;
        conn.schedulePing = () => {};
        conn.resetPingTimeout = () => {};
        conn.sendPacket = () => {};
      }
      return { sockets: sockets.length };
    }
    case "state": {
      const sockets = [...io.of("/").sockets.values()].map((s) => ({
        id: s.id, eio: s.conn.protocol, authed: !!s.data.authed,
      }));
      return { sockets };
    }
    default:
      throw new Error("unknown command " + cmd.cmd);
  }
}

httpServer.listen(0, "127.0.0.1", () => {
  out({ port: httpServer.address().port });
  const rl = readline.createInterface({ input: process.stdin });
  let queue = Promise.resolve();
  rl.on("line", (line) => {
    queue = queue.then(async () => {
      let cmd;
      try {
        cmd = JSON.parse(line);
        out({ reply: cmd.cmd, ...(await run(cmd)) });
      } catch (err) {
        out({ reply: cmd ? cmd.cmd : "?", error: String(err) });
      }
    });
  });
  rl.on("close", () => process.exit(0));
});
