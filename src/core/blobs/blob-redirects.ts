/**
 * The port a blob store offers when clients may fetch its objects themselves: a short-lived URL
 * that lets anyone holding it GET one blob (an S3 presigned URL). Only handed out after the
 * caller passed the access check for that blob.
 */
export interface BlobUrlSigner {
  /** A URL valid for `expiresInSeconds` that answers GET (and Range GET) with the blob's bytes. */
  signedGetUrl(digest: string, opts: { expiresInSeconds: number; contentType?: string; cacheControl?: string }): Promise<string>;
}

/** Longest lifetime of a presigned URL (S3 signature v4 allows at most 7 days). */
export const MAX_REDIRECT_SECONDS = 7 * 24 * 3600;

/**
 * Whether downloads answer 307 to a signed URL of the blob store instead of streaming through the
 * server (off unless configured). Doors ask `urlFor` after the access check and before they open
 * the blob; `undefined` means: serve the bytes yourself.
 */
export class BlobRedirects {
  constructor(
    private readonly signer?: BlobUrlSigner,
    private readonly expiresInSeconds = 300,
  ) {}

  get enabled(): boolean {
    return this.signer !== undefined;
  }

  async urlFor(digest: string, opts: { contentType?: string; cacheControl?: string } = {}): Promise<string | undefined> {
    if (!this.signer) return undefined;
    return this.signer.signedGetUrl(digest, { expiresInSeconds: this.expiresInSeconds, ...opts });
  }
}
