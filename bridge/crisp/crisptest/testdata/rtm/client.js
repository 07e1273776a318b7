'use strict';
// Reference Socket.IO v4 peer for rtm_node_test.go. It connects the way node-crisp-api does
// (origin + path, websocket transport only), authenticates on every connect, reports what it sees
// as JSON lines on stdout and obeys JSON-line commands on stdin:
//   {"cmd":"emit","name":"socket:bind:push","data":{...}}   emit an event
//   {"cmd":"close"}                                          close the socket and exit
// Configuration comes as JSON in RTM_CLIENT_CONFIG:
//   {"origin","path","auth":{...authentication payload...},"reconnect":bool}
const { io } = require('socket.io-client');
const readline = require('readline');

const cfg = JSON.parse(process.env.RTM_CLIENT_CONFIG);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

const socket = io(cfg.origin, {
  path: cfg.path,
  transports: ['websocket'],
  reconnection: !!cfg.reconnect,
  reconnectionDelay: 20,
  reconnectionDelayMax: 50,
  randomizationFactor: 0,
  timeout: 5000,
});

socket.on('connect', () => {
  out({ kind: 'connect' });
  socket.emit('authentication', cfg.auth);
});
socket.on('connect_error', (err) => out({ kind: 'connect_error', message: err.message }));
socket.on('disconnect', (reason) => {
  out({ kind: 'disconnect', reason });
  if (!cfg.reconnect || reason === 'io server disconnect') process.exit(0);
});
socket.on('authenticated', (value) => out({ kind: 'authenticated', value }));
socket.on('unauthorized', (value) => out({ kind: 'unauthorized', value }));
socket.onAny((name, ...args) => {
  if (name !== 'authenticated' && name !== 'unauthorized') out({ kind: 'event', name, args });
});

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const c = JSON.parse(line);
  if (c.cmd === 'emit') {
    socket.emit(c.name, c.data);
  } else if (c.cmd === 'close') {
    socket.close();
    process.exit(0);
  }
}).on('close', () => {
  socket.close();
  process.exit(0);
});
