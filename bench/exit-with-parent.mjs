/**
 * Preloaded into every server bench/server-process.mjs starts (`node --import …`, with an IPC
 * channel): when the channel closes, the bench that started the server is gone (killed, even with
 * SIGKILL, or ended without stopping it), and the server shuts down as on SIGTERM instead of
 * running on with parent pid 1.
 */
if (process.send) {
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  // The channel must not keep the server alive on its own.
  process.channel?.unref();
}
