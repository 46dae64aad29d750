import { parentPort } from 'node:worker_threads';
import { checkPublish } from '../../core/packages/publish-validation.js';
import { asBuffer, sendError, type CheckReply, type CheckRequest } from './check-message.js';

/** The worker thread's program: checks publishes one message at a time (see PublishCheckPool). */
parentPort?.on('message', (req: CheckRequest) => {
  const tarball = asBuffer(req.input.tarball);
  checkPublish(req.id, { ...req.input, tarball }, req.limits).then(
    (checked) => {
      const sameTarball = checked.contents.tarball === tarball;
      const reply: CheckReply = { seq: req.seq, checked: { ...checked, contents: { ...checked.contents, tarball: sameTarball ? undefined : checked.contents.tarball } }, sameTarball };
      parentPort!.postMessage(reply);
    },
    (e: unknown) => parentPort!.postMessage({ seq: req.seq, error: sendError(e) } satisfies CheckReply),
  );
});
