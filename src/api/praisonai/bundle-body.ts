import { badRequest } from '../../core/errors.js';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * The bundle of a publish request: bytes from a multipart file, or base64 text (JSON body or a
 * multipart text field). Whitespace (wrapped `base64` output) is ignored; anything else that is not
 * standard base64 is a 400, never silently decoded into garbage.
 */
export const bundleBytes = (bundle: string | Buffer): Buffer => {
  if (Buffer.isBuffer(bundle)) {
    if (bundle.length === 0) throw badRequest('The bundle is empty');
    return bundle;
  }
  const text = bundle.replace(/\s+/g, '');
  if (text.length === 0) throw badRequest('The bundle is empty');
  if (text.length % 4 !== 0 || !BASE64.test(text)) {
    throw badRequest('Invalid base64 in bundle', ["bundle: expected the .praison file encoded as standard base64 (A-Z, a-z, 0-9, '+', '/', '=' padding)"]);
  }
  return Buffer.from(text, 'base64');
};
